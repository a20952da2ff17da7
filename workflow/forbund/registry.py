"""Förbund in the database: registering a förbund file, finding one, and who its people are."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.roles import Actor, RoleSpec, describe_specs
from workflow.core import audit
from workflow.core.app import App
from workflow.core.exceptions import ConfigError, NotAllowed, NotFound, UsageError
from workflow.core.models import Forbund, Plan
from workflow.core.uow import UnitOfWork, write
from workflow.forbund.file import ForbundFile, parse_forbund
from workflow.forbund.permissions import COVERS, Permission
from workflow.forbund.views import Registered


def register(app: App, cfg: ForbundFile, actor_email: str | None = None) -> Registered:
    """Add a förbund, or update its people and rules when its file changed; audited.

    A new förbund's row names the person acting when one is given (someone the
    new file lets change it), else `finsam init` and the OS user: nobody is in
    the database yet. An update changes who holds which role, so it needs a
    person the stored file allows (`[permissions] forbund`), and its row says
    what changed. An update may not strand a plan: every state a plan is in
    must still exist. An unchanged file writes nothing.
    """
    now = app.clock.now()
    sha = cfg.sha256()

    def work(uow: UnitOfWork) -> Registered:
        s = uow.session
        row = s.scalars(sa.select(Forbund).where(Forbund.key == cfg.forbund.key)).first()
        if row is None:
            row = _create(s, cfg, sha, now, actor_email)
            outcome = "created"
        elif row.config_sha256 == sha:
            outcome = "unchanged"
        else:
            _update(s, row, cfg, sha, now, actor_email)
            outcome = "updated"
        return {"key": row.key, "name": row.name, "outcome": outcome, "id": row.id}

    return write(app, work)


def _create(
    s: Session, cfg: ForbundFile, sha: str, now: datetime, actor_email: str | None
) -> Forbund:
    who, role = authorise(cfg, actor_email, "forbund") if actor_email else _init_itself()
    row = Forbund(
        key=cfg.forbund.key,
        name=cfg.forbund.name,
        config=cfg.model_dump(mode="json"),
        config_sha256=sha,
        created_at=now,
        updated_at=now,
    )
    s.add(row)
    s.flush()  # the id, for the answer
    people = len(cfg.people())
    audit.change(
        s,
        at=now,
        forbund_key=row.key,
        subject=f"forbund:{row.key}",
        action="create",
        kind=audit.FORBUND_FILE,
        actor=who,
        role=role,
        to_state="registered",
        comment=f"registered from its file: {people} people in {len(cfg.bodies)} bodies",
        content_sha256=sha,
    )
    return row


def _init_itself() -> tuple[Actor, str]:
    """Who creates a förbund when nobody is named: `finsam init`, run by the OS user."""
    try:
        user = getpass.getuser()
    except Exception:  # no name for the uid (a container): say so rather than fail
        user = "unknown"
    itself = Actor(email="finsam", name=f"finsam init (OS user {user})", memberships=frozenset())
    return itself, "system"


def _update(
    s: Session, row: Forbund, cfg: ForbundFile, sha: str, now: datetime, actor_email: str | None
) -> None:
    _no_stranded_plans(s, row, cfg)
    old = config_of(row)
    changes = describe_changes(old, cfg)
    if not actor_email:
        specs = tuple(RoleSpec.parse(spec) for spec in old.permissions.specs("forbund"))
        raise UsageError(
            f"förbund {row.key} is registered already and its file changed "
            f"({'; '.join(changes)}): who is changing it?",
            f"give --as EMAIL (or FINSAM_USER) of {describe_specs(specs)} in the stored file",
        )
    who, role = authorise(old, actor_email, "forbund")
    row.name, row.config, row.config_sha256, row.updated_at = (
        cfg.forbund.name,
        cfg.model_dump(mode="json"),
        sha,
        now,
    )
    s.add(row)
    audit.change(
        s,
        at=now,
        forbund_key=row.key,
        subject=f"forbund:{row.key}",
        action="update",
        kind=audit.FORBUND_FILE,
        actor=who,
        role=role,
        from_state="registered",
        to_state="registered",
        comment="; ".join(changes),
        content_sha256=sha,
    )


def _no_stranded_plans(s: Session, row: Forbund, cfg: ForbundFile) -> None:
    states = cfg.workflow_def.states
    stranded = s.execute(
        sa.select(Plan.id, Plan.state).where(
            Plan.forbund_id == row.id, Plan.state.not_in(list(states))
        )
    ).all()
    if stranded:
        listing = ", ".join(f"plan {pid} in {state!r}" for pid, state in stranded)
        raise ConfigError(
            f"the new workflow of {cfg.forbund.key} lacks states that plans are in: {listing}",
            f"keep those states, or move the plans first; states now: {', '.join(states)}",
        )


# the förbund file's tables besides its people, named in an update's audit row
_SECTIONS = (
    "members",
    "workflow",
    "economy",
    "cycle",
    "reports",
    "minutes",
    "mail",
    "editors",
    "permissions",
)


def _people(cfg: ForbundFile) -> dict[str, tuple[str, list[str]]]:
    """E-mail -> (name, ["role@body", ...]) in file order."""
    found: dict[str, tuple[str, list[str]]] = {}
    for body in cfg.bodies:
        for p in body.people:
            found.setdefault(p.email.lower(), (p.name, []))[1].append(f"{p.role}@{body.key}")
    return found


def _bodies_besides_roles(cfg: ForbundFile) -> list[Any]:
    """The bodies with each person reduced to what the role lines do not show."""
    return [
        (b.key, b.name, b.kind, [(p.email.lower(), p.member) for p in b.people]) for b in cfg.bodies
    ]


def describe_changes(old: ForbundFile, new: ForbundFile) -> list[str]:
    """What an update of a förbund file changes, in words for the audit row.

    People added and removed with their roles, changed roles
    (`Anna Svensson: ledamot@styrelse → ordförande@styrelse`) and names, then
    each other table that differs (`[cycle]`, `[reports]`, `[mail]`, workflow).
    """
    before, after = _people(old), _people(new)
    lines = [f"added {n} <{e}>: {', '.join(r)}" for e, (n, r) in after.items() if e not in before]
    lines += [
        f"removed {n} <{e}>: {', '.join(r)}" for e, (n, r) in before.items() if e not in after
    ]
    for email, (name, roles) in after.items():
        if email not in before:
            continue
        old_name, old_roles = before[email]
        if old_name != name:
            lines.append(f"<{email}>: name {old_name} → {name}")
        if sorted(old_roles) != sorted(roles):
            lines.append(f"{name}: {', '.join(old_roles)} → {', '.join(roles)}")
    if old.forbund.name != new.forbund.name:
        lines.append(f"name: {old.forbund.name} → {new.forbund.name}")
    if _bodies_besides_roles(old) != _bodies_besides_roles(new):
        lines.append("[bodies] changed (besides people and roles)")
    was, now = old.model_dump(mode="json"), new.model_dump(mode="json")
    lines += [f"[{name}] changed" for name in _SECTIONS if was.get(name) != now.get(name)]
    return lines or ["the file changed"]


# parsed files by (key, sha256 of the file), with the stored data each was parsed from:
# room for every förbund of the country (about 80) on one shared finsam, so a sweep over
# them all parses none anew (32 made each idle tick parse every file again)
_PARSED: dict[tuple[str, str], tuple[dict[str, Any], ForbundFile]] = {}
_PARSED_MAX = 256


def config_of(row: Forbund) -> ForbundFile:
    """The förbund's stored file, parsed once per process while it stays the same: the
    data is compared with what was parsed (a dict comparison, where writing it out to
    text for a key and reading that back cost each call twice the parse's JSON)."""
    key = (row.key, row.config_sha256)
    cached = _PARSED.get(key)
    if cached is not None and cached[0] == row.config:
        return cached[1]
    cfg = parse_forbund(row.config, f"förbund {row.key!r} in the database", stored=True)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[key] = (row.config, cfg)
    return cfg


def config_by_id(session: Session, forbund_id: int) -> ForbundFile:
    """The förbund file of the förbund a row belongs to."""
    row = session.get(Forbund, forbund_id)
    assert row is not None
    return config_of(row)


def resolve(session: Session, key: str | None) -> Forbund:
    """The förbund named, or the only one; several without a name is a usage error.

    A förbund named is one row by its key (the web asks on every page, and a
    database may hold a hundred förbund); only a key not found lists the keys."""
    if key is not None:
        row = _by_key(session, key)
        if row is not None:
            return row
        keys = session.scalars(sa.select(Forbund.key).order_by(Forbund.key)).all()
        known = ", ".join(keys) or "none yet"
        raise NotFound(f"unknown förbund {key!r}", f"förbund in this database: {known}")
    rows = list(session.scalars(sa.select(Forbund).order_by(Forbund.key).limit(2)))
    if not rows:
        raise NotFound("no förbund in this database", "run 'finsam init --forbund FILE' first")
    if len(rows) > 1:
        keys = session.scalars(sa.select(Forbund.key).order_by(Forbund.key)).all()
        raise UsageError(
            "this database holds several förbund",
            f"choose one with --forbund KEY: {', '.join(keys)}",
        )
    return rows[0]


def _by_key(session: Session, key: str) -> Forbund | None:
    """The row with this key; None, without asking, for what no key can be (too long,
    a NUL, a lone surrogate from undecodable bytes: a database refuses to bind those)."""
    if len(key) > 64 or "\x00" in key:
        return None
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return session.scalars(sa.select(Forbund).where(Forbund.key == key)).first()


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
