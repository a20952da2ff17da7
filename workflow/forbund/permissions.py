"""Who may change what besides the plans: the `[permissions]` table of the förbund file.

The plans' workflow says who may move a plan; these say who may change the
calendar, the minutes, the insatser and the förbund's own file. Each is a list
of role specs ("förbundschef", "ordförande@styrelse"); the förbundschef alone
by default, since the kansli keeps these registers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Permission = Literal["cycle", "meetings", "minutes", "insatser", "reports", "mail", "forbund"]

# what each permission covers, in words: for messages and the generated docs
COVERS: dict[str, str] = {
    "cycle": "generate the year's meetings (cycle generate)",
    "meetings": "add, move and cancel meetings (meeting add|move|cancel)",
    "minutes": "record minutes (meeting minutes)",
    "insatser": "add, edit and end insatser (insats add|edit|end)",
    "reports": "create the report obligations (reports generate)",
    "mail": "put a failed message back in the queue (outbox retry)",
    "forbund": "change the förbund file of a registered förbund (init)",
}

_CHEF = ["förbundschef"]


class Permissions(BaseModel):
    """Role specs that may make each kind of change (`role` or `role@body`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cycle: list[str] = Field(default_factory=lambda: list(_CHEF), description=COVERS["cycle"])
    meetings: list[str] = Field(default_factory=lambda: list(_CHEF), description=COVERS["meetings"])
    minutes: list[str] = Field(default_factory=lambda: list(_CHEF), description=COVERS["minutes"])
    insatser: list[str] = Field(default_factory=lambda: list(_CHEF), description=COVERS["insatser"])
    reports: list[str] = Field(default_factory=lambda: list(_CHEF), description=COVERS["reports"])
    mail: list[str] = Field(default_factory=lambda: list(_CHEF), description=COVERS["mail"])
    forbund: list[str] = Field(default_factory=lambda: list(_CHEF), description=COVERS["forbund"])

    def specs(self, permission: Permission) -> list[str]:
        return list(getattr(self, permission))
