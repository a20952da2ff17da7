"""Who may act: roles held in bodies, and matching them against an action's role specs.

A role spec is either a bare role ("förbundschef": held in any body) or a role
in one body ("ordförande@presidium"). Keeping this a string form lets a förbund
file say who may do what without code.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES: tuple[str, ...] = (
    "ordförande",
    "vice ordförande",
    "ledamot",
    "ersättare",
    "förbundschef",
    "tjänsteperson",
)


@dataclass(frozen=True)
class RoleSpec:
    role: str
    body: str | None = None

    @classmethod
    def parse(cls, text: str) -> RoleSpec:
        role, _, body = text.partition("@")
        return cls(role=role.strip(), body=body.strip() or None)

    def __str__(self) -> str:
        return f"{self.role}@{self.body}" if self.body else self.role

    def describe(self) -> str:
        """English phrase for messages: 'the förbundschef', 'the ordförande of presidium'."""
        return f"the {self.role} of {self.body}" if self.body else f"the {self.role}"


@dataclass(frozen=True)
class Actor:
    """A person as the workflow sees them: who they are and what they hold where."""

    email: str
    name: str
    memberships: frozenset[tuple[str, str]]  # (body, role)

    def matching(self, specs: tuple[RoleSpec, ...]) -> RoleSpec | None:
        """The first spec this person satisfies (the role they act in), or None."""
        for spec in specs:
            for body, role in self.memberships:
                if role == spec.role and (spec.body is None or spec.body == body):
                    return spec
        return None


def describe_specs(specs: tuple[RoleSpec, ...]) -> str:
    """'the förbundschef or the ordförande of styrelse'."""
    parts = [s.describe() for s in specs]
    if len(parts) <= 1:
        return "".join(parts) or "nobody"
    return ", ".join(parts[:-1]) + " or " + parts[-1]
