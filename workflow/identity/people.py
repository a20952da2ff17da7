"""A person is somebody a förbund file names by e-mail; their förbund are the files
that name them. Nothing else decides what a person may see in the browser."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.roles import Actor, RoleSpec
from workflow.core.models import Forbund
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.forbund.permissions import COVERS


@dataclass(frozen=True)
class Membership:
    """A person in one förbund: its key and name, and the roles they hold there."""

    forbund_key: str
    forbund_name: str
    actor: Actor
    cfg: ForbundFile


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    memberships: tuple[Membership, ...]

    @property
    def forbund_keys(self) -> frozenset[str]:
        return frozenset(m.forbund_key for m in self.memberships)

    def holds(self, need: str, forbund_key: str | None = None) -> bool:
        """Whether the person holds `need` (a permission of `[permissions]`, such as
        "mail", or a role spec such as "ordförande@styrelse") in that förbund, or in
        any of theirs when none is named."""
        for m in self.memberships:
            if forbund_key is not None and m.forbund_key != forbund_key:
                continue
            if need in COVERS:
                specs = tuple(RoleSpec.parse(s) for s in m.cfg.permissions.specs(need))  # type: ignore[arg-type]
            else:
                specs = (RoleSpec.parse(need),)
            if m.actor.matching(specs) is not None:
                return True
        return False


def normalise(email: str) -> str:
    """How an address is compared: trimmed, lower case (as the förbund files do)."""
    return email.strip().lower()


def find(session: Session, email: str) -> Person | None:
    """The person with this address in any förbund of the database, or None.

    Asked on every request, so it must not parse every förbund's file each time:
    one narrow query reads each förbund's key, name and `config_sha256`, and a
    directory of e-mail -> memberships built from those rows is kept until any
    of them changes (a file registered, updated or removed). Only the förbund
    whose hash is new are read and parsed again.
    """
    email = normalise(email)
    if not email:
        return None
    rows = tuple(
        _Row(*r)
        for r in session.execute(
            sa.select(Forbund.id, Forbund.key, Forbund.name, Forbund.config_sha256).order_by(
                Forbund.key
            )
        )
    )
    found = _directory(session, rows).people.get(email)
    if not found:
        return None
    return Person(email=email, name=found[0].actor.name, memberships=found)


@dataclass(frozen=True)
class _Row:
    id: int
    key: str
    name: str
    sha: str


@dataclass(frozen=True)
class _Directory:
    """Everyone of the förbund `rows`: e-mail -> memberships in the order of the keys."""

    rows: tuple[_Row, ...]
    configs: dict[tuple[str, str], ForbundFile]  # (key, config_sha256) -> file
    people: dict[str, tuple[Membership, ...]]


# the directories of the databases this process serves (one in a server; a bench or
# the tests serve a few side by side), newest last, at most _KEPT of them
_KEPT = 4
_directories: dict[tuple[_Row, ...], _Directory] = {}
_building = threading.Lock()


def _directory(session: Session, rows: tuple[_Row, ...]) -> _Directory:
    """The directory of these rows: the one kept when there is one, else a new one."""
    kept = _directories.get(rows)
    if kept is not None:
        return kept
    with _building:
        known = {k: cfg for d in list(_directories.values()) for k, cfg in d.configs.items()}
        built = _build(session, rows, known)
        _directories[rows] = built
        while len(_directories) > _KEPT:
            del _directories[next(iter(_directories))]
    return built


def _build(
    session: Session, rows: tuple[_Row, ...], known: dict[tuple[str, str], ForbundFile]
) -> _Directory:
    configs = {(r.key, r.sha): known[(r.key, r.sha)] for r in rows if (r.key, r.sha) in known}
    missing = [r.id for r in rows if (r.key, r.sha) not in configs]
    if missing:  # the förbund files new to this process, in one query
        for row in session.scalars(sa.select(Forbund).where(Forbund.id.in_(missing))):
            configs[(row.key, row.config_sha256)] = forbunds.config_of(row)
    people: dict[str, list[Membership]] = {}
    for r in rows:
        cfg = configs.get((r.key, r.sha))
        if cfg is None:  # changed between the two queries: the next request sees it
            continue
        for email, _name in cfg.people():
            actor = cfg.actor(email)
            if actor is not None:
                people.setdefault(email, []).append(Membership(r.key, r.name, actor, cfg))
    return _Directory(rows, configs, {e: tuple(ms) for e, ms in people.items()})
