"""Domain events: what happened, recorded by the service that made it happen.

A service records an event on its unit of work (`uow.record(MeetingMoved(...))`);
`workflow/handlers.py` maps each event to the handlers that do what follows from
it (mail to the outbox, due dates moved) in the same transaction, before commit.
So no service reaches into another capability's side effects, and what follows
from a change commits with it or not at all.

Events carry ids and facts, never live database objects: they are plain data.
Outcomes (at the end) are what a handler hands back to the service that
recorded the event, so a command can still say what moved along.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class PlanArrived:
    """A plan was put on the agenda of its next body's meeting."""

    forbund_id: int
    plan_id: int
    audit_seq: int
    plan_title: str
    revision: int
    meeting_id: int
    body: str
    at: datetime


@dataclass(frozen=True)
class MeetingMoved:
    """Meetings moved in time (a meeting and the prep meetings that follow it)."""

    meeting_ids: tuple[int, ...]
    at: datetime


@dataclass(frozen=True)
class MeetingCancelled:
    """Meetings were cancelled (a meeting and its prep meetings that were not pinned)."""

    meeting_ids: tuple[int, ...]
    at: datetime


@dataclass(frozen=True)
class MinutesApproved:
    """The last justerare approved a meeting's minutes: the appeal time runs."""

    meeting_id: int
    approved: date
    appeal_ends: date
    at: datetime


@dataclass(frozen=True)
class MinutesSentForJustering:
    """A revision of a meeting's minutes went to its justerare: each gets a link to it."""

    meeting_id: int
    revision: int
    at: datetime


@dataclass(frozen=True)
class MinutesChangeRequested:
    """A justerare asked for a change of the minutes (the audit row holds the comment):
    the förbundschef hears of it."""

    meeting_id: int
    audit_seq: int
    at: datetime


@dataclass(frozen=True)
class ReportReturned:
    """The förbundschef returned a report for komplettering (the audit row says why)."""

    obligation_id: int
    audit_seq: int
    at: datetime


@dataclass(frozen=True)
class ReportsOwed:
    """New report obligations were created (a year generated, a final report owed)."""

    obligation_ids: tuple[int, ...]
    at: datetime


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class DueMoved:
    """A report's due date followed its meeting (moved or cancelled)."""

    obligation: int
    old_due: str
    new_due: str
    meeting: int | None = None
