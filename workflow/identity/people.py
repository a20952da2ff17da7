"""A person is somebody a förbund file names by e-mail, or an insats names as its
project leader or owner contact. Their förbund are the files that name them; their
insatser are the ones that name them. Nothing else decides what a person may see
in the browser: an insats's people see that insats's reports and nothing of the
förbund behind it (no plans, no desk)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.roles import Actor, RoleSpec
from workflow.core.models import Forbund, Insats
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
class ProjectRole:
    """An insats that names the person as its project leader or owner contact."""

    insats_id: int
    insats_name: str
    forbund_key: str
    forbund_name: str
    role: str  # "leader" or "contact"


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    memberships: tuple[Membership, ...]
    projects: tuple[ProjectRole, ...] = ()

    @property
    def forbund_keys(self) -> frozenset[str]:
        """The förbund whose files name the person (not those of their insatser only)."""
        return frozenset(m.forbund_key for m in self.memberships)

    @property
    def home(self) -> tuple[str, str]:
        """The förbund (key, name) that speaks to the person: their first förbund, else
        the förbund of their first insats (a person has one or the other)."""
        if self.memberships:
            return self.memberships[0].forbund_key, self.memberships[0].forbund_name
        return self.projects[0].forbund_key, self.projects[0].forbund_name

    @property
    def insats_ids(self) -> frozenset[int]:
        return frozenset(p.insats_id for p in self.projects)

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
    """The person with this address in any förbund file or insats of the database, or None.

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
    found = _directory(session, rows).people.get(email) or ()
    projects, names = _projects(session, email)
    if not found and not projects:
        return None
    name = found[0].actor.name if found else next((n for n in names if n), email)
    return Person(email=email, name=name, memberships=found, projects=projects)


def _projects(session: Session, email: str) -> tuple[tuple[ProjectRole, ...], list[str]]:
    """The insatser naming `email` (one query: insatser change without their förbund's
    file, so they are not kept with the directory), and the names they give it."""
    leader = sa.func.lower(Insats.leader_email) == email
    contact = sa.func.lower(Insats.contact_email) == email
    query = (
        sa.select(
            Insats.id,
            Insats.name,
            Forbund.key,
            Forbund.name,
            sa.func.lower(Insats.leader_email),
            Insats.leader_name,
            Insats.contact_name,
        )
        .join(Forbund, Forbund.id == Insats.forbund_id)
        .where(sa.or_(leader, contact))
        .order_by(Forbund.key, Insats.name)
    )
    roles, names = [], []
    for id_, name, key, forbund_name, leader_email, leader_name, contact_name in session.execute(
        query
    ):
        is_leader = leader_email == email
        role = "leader" if is_leader else "contact"
        roles.append(ProjectRole(id_, name, key, forbund_name, role))
        names.append(leader_name if is_leader else contact_name)
    return tuple(roles), names


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
