"""Named guards: pure checks on a proposed move, each explaining a refusal in words.

A workflow names guards by their key; the machine adds the ones that follow from
an action's kind (a rejection always needs a reason). The registry is data, so a
förbund file can ask for any of them on any action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class GuardInput:
    """Everything a guard may look at: the plan as it is and the move proposed."""

    has_content: bool
    revision: int
    revision_adopted: bool
    comment: str | None
    meeting: date | None
    paragraph: str | None
    today: date
    has_budget: bool = False
    economy_errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class GuardResult:
    guard: str
    ok: bool
    reason: str = ""


Guard = Callable[[GuardInput], str | None]


def _has_content(g: GuardInput) -> str | None:
    if not g.has_content:
        return "the plan has no content yet (add it with 'finsam plan edit ID --file FILE')"
    return None


def _reason_given(g: GuardInput) -> str | None:
    if not (g.comment and g.comment.strip()):
        return "a reason is required (give it with --comment TEXT)"
    return None


def _meeting_given(g: GuardInput) -> str | None:
    if g.meeting is None:
        return "the date of the meeting is required (give it with --meeting YYYY-MM-DD)"
    return None


def _meeting_not_in_future(g: GuardInput) -> str | None:
    if g.meeting is not None and g.meeting > g.today:
        return (
            f"the meeting date {g.meeting.isoformat()} lies in the future "
            f"(today is {g.today.isoformat()}); record a decision after the meeting"
        )
    return None


def _paragraph_given(g: GuardInput) -> str | None:
    if not (g.paragraph and g.paragraph.strip()):
        return "the paragraph (§) of the minutes is required (give it with --paragraph N)"
    return None


def _revision_not_adopted(g: GuardInput) -> str | None:
    if g.revision_adopted:
        return (
            f"revision {g.revision} has already been adopted once; "
            "open a new revision with 'revise' to adopt changes"
        )
    return None


def _has_budget(g: GuardInput) -> str | None:
    if not g.has_budget:
        return "the plan has no budget yet (give the revision a plan file with a [budget])"
    return None


def _economy_clean(g: GuardInput) -> str | None:
    if g.economy_errors:
        listed = "; ".join(g.economy_errors)
        return (
            f"the budget has {len(g.economy_errors)} error(s) (see 'finsam plan check'): {listed}"
        )
    return None


GUARDS: dict[str, Guard] = {
    "has_content": _has_content,
    "reason_given": _reason_given,
    "meeting_given": _meeting_given,
    "meeting_not_in_future": _meeting_not_in_future,
    "paragraph_given": _paragraph_given,
    "revision_not_adopted": _revision_not_adopted,
    "has_budget": _has_budget,
    "economy_clean": _economy_clean,
}


def check(names: tuple[str, ...], given: GuardInput) -> list[GuardResult]:
    """Run the named guards in order; every result is returned, failed or not."""
    results = []
    for name in names:
        reason = GUARDS[name](given)
        results.append(GuardResult(guard=name, ok=reason is None, reason=reason or ""))
    return results
