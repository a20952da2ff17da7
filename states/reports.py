"""The life of a report obligation, as a table: pending → submitted → approved, or
returned for komplettering → submitted again. Cancelled when the insats ends first.

Pure data and one function, like the plan workflow, so the CLI can say exactly
why a step is refused.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date

STATES = ("pending", "submitted", "approved", "returned", "cancelled")
# (state, action) -> next state
TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending", "submit"): "submitted",
    ("returned", "submit"): "submitted",
    ("submitted", "approve"): "approved",
    ("submitted", "return"): "returned",
}
# who may take an action: the insats's own people, or the förbundschef
WHO: dict[str, tuple[str, ...]] = {
    "submit": ("project", "förbundschef"),
    "approve": ("förbundschef",),
    "return": ("förbundschef",),
}
WHY_NOT = {
    ("pending", "approve"): "it was never submitted",
    ("returned", "approve"): "it was returned for komplettering and not submitted again",
    ("pending", "return"): "it was never submitted",
    ("approved", "return"): "it is approved already",
    ("returned", "return"): "it is returned already",
    ("approved", "submit"): "it is approved already",
    ("submitted", "submit"): "it is submitted already and waits for the förbundschef",
    ("approved", "approve"): "it is approved already",
}


@dataclass(frozen=True)
class ReportStep:
    ok: bool
    to_state: str = ""
    reason: str = ""


def step(state: str, action: str, roles: frozenset[str]) -> ReportStep:
    """Whether someone holding `roles` may take `action` on a report in `state`."""
    if action not in WHO:
        return ReportStep(False, reason=f"unknown action {action!r}")
    target = TRANSITIONS.get((state, action))
    if target is None:
        if state == "cancelled":
            why = "the obligation is cancelled (the insats ended before its period)"
        else:
            why = WHY_NOT.get((state, action), f"it is {state}")
        return ReportStep(False, reason=f"cannot {action}: {why}")
    if not roles & set(WHO[action]):
        allowed = " or ".join(
            "the insats's project leader or contact" if w == "project" else f"the {w}"
            for w in WHO[action]
        )
        return ReportStep(False, reason=f"only {allowed} may {action} a report")
    return ReportStep(True, to_state=target)


def period(year: int, from_month: int, to_month: int, previous_year: bool) -> tuple[date, date]:
    """The first and last day a report covers: tertial 1 of 2027 is 1 January to 30
    April 2027; an årsberättelse due in 2027 covers the whole of 2026."""
    y = year - 1 if previous_year else year
    return date(y, from_month, 1), date(y, to_month, monthrange(y, to_month)[1])
