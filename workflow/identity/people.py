"""A person is somebody a förbund file names by e-mail; their förbund are the files
that name them. Nothing else decides what a person may see in the browser."""

from __future__ import annotations

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
    """The person with this address in any förbund of the database, or None."""
    email = normalise(email)
    if not email:
        return None
    found: list[Membership] = []
    for row in session.scalars(sa.select(Forbund).order_by(Forbund.key)):
        cfg = forbunds.config_of(row)
        actor = cfg.actor(email)
        if actor is not None:
            found.append(Membership(row.key, row.name, actor, cfg))
    if not found:
        return None
    return Person(email=email, name=found[0].actor.name, memberships=tuple(found))
