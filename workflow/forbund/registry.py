"""Förbund in the database: registering a förbund file, finding one, and who its people are."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.roles import Actor, RoleSpec, describe_specs
from workflow.core.app import App
from workflow.core.exceptions import ConfigError, NotAllowed, NotFound, UsageError
from workflow.core.models import Forbund, Plan
from workflow.core.uow import UnitOfWork, write
from workflow.forbund.file import ForbundFile, parse_forbund
from workflow.forbund.permissions import COVERS, Permission
from workflow.forbund.views import Registered


def register(app: App, cfg: ForbundFile) -> Registered:
    """Add a förbund, or update its people and rules when its file changed.

    An update may not strand a plan: every state a plan is in must still exist.
    """
    now = app.clock.now()

    def work(uow: UnitOfWork) -> Registered:
        s = uow.session
        row = s.scalars(sa.select(Forbund).where(Forbund.key == cfg.forbund.key)).first()
        data = cfg.model_dump(mode="json")
        sha = cfg.sha256()
        if row is None:
            row = Forbund(
                key=cfg.forbund.key,
                name=cfg.forbund.name,
                config=data,
                config_sha256=sha,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()  # the id, for the answer
            outcome = "created"
        elif row.config_sha256 == sha:
            outcome = "unchanged"
        else:
            states = cfg.workflow_def.states
            stranded = s.execute(
                sa.select(Plan.id, Plan.state).where(
                    Plan.forbund_id == row.id, Plan.state.not_in(list(states))
                )
            ).all()
            if stranded:
                listing = ", ".join(f"plan {pid} in {state!r}" for pid, state in stranded)
                raise ConfigError(
                    f"the new workflow of {cfg.forbund.key} lacks states that plans are in: "
                    f"{listing}",
                    f"keep those states, or move the plans first; states now: {', '.join(states)}",
                )
            row.name, row.config, row.config_sha256, row.updated_at = (
                cfg.forbund.name,
                data,
                sha,
                now,
            )
            outcome = "updated"
        return {"key": row.key, "name": row.name, "outcome": outcome, "id": row.id}

    return write(app, work)


@lru_cache(maxsize=32)
def _parse_cached(key: str, sha: str, raw: str) -> ForbundFile:
    import json

    return parse_forbund(json.loads(raw), f"förbund {key!r} in the database")


def config_of(row: Forbund) -> ForbundFile:
    import json

    return _parse_cached(row.key, row.config_sha256, json.dumps(row.config, sort_keys=True))


def config_by_id(session: Session, forbund_id: int) -> ForbundFile:
    """The förbund file of the förbund a row belongs to."""
    row = session.get(Forbund, forbund_id)
    assert row is not None
    return config_of(row)


def resolve(session: Session, key: str | None) -> Forbund:
    """The förbund named, or the only one; several without a name is a usage error."""
    rows = list(session.scalars(sa.select(Forbund).order_by(Forbund.key)))
    if key is not None:
        for row in rows:
            if row.key == key:
                return row
        known = ", ".join(r.key for r in rows) or "none yet"
        raise NotFound(f"unknown förbund {key!r}", f"förbund in this database: {known}")
    if not rows:
        raise NotFound("no förbund in this database", "run 'finsam init --forbund FILE' first")
    if len(rows) > 1:
        raise UsageError(
            "this database holds several förbund",
            f"choose one with --forbund KEY: {', '.join(r.key for r in rows)}",
        )
    return rows[0]


def actor(cfg: ForbundFile, email: str | None) -> Actor:
    if not email:
        raise UsageError(
            "who is acting? nobody was named",
            "give --as EMAIL or set FINSAM_USER to the e-mail of a person in the förbund file",
        )
    found = cfg.actor(email)
    if found is None:
        people = ", ".join(e for e, _ in cfg.people())
        raise NotFound(
            f"no person with e-mail {email!r} in {cfg.forbund.name}",
            f"people in the förbund file: {people}",
        )
    return found


def require_editor(cfg: ForbundFile, who: Actor, doing: str) -> RoleSpec:
    specs = tuple(RoleSpec.parse(s) for s in cfg.editors)
    role = who.matching(specs)
    if role is None:
        raise NotAllowed(f"only {describe_specs(specs)} may {doing}; {who.name} may not")
    return role


def authorise(cfg: ForbundFile, email: str | None, permission: Permission) -> tuple[Actor, str]:
    """The person acting and the role they act in, when `[permissions]` lets them.

    Every change outside a plan's workflow goes through here, so each audit row
    can name who made it and in which role.
    """
    who = actor(cfg, email)
    specs = tuple(RoleSpec.parse(s) for s in cfg.permissions.specs(permission))
    role = who.matching(specs)
    if role is None:
        raise NotAllowed(
            f"only {describe_specs(specs)} may {COVERS[permission]}; {who.name} may not",
            f"act as somebody who may, or change [permissions] {permission} in the förbund file",
        )
    return who, str(role)
