"""What a member reads before and after a meeting: the meetings of the bodies they sit in,
each with its kallelse, föredragningslista and handlingar, and the protokoll once it is
recorded.

A meeting is shown to the people its kallelse calls (those of its body and of the bodies
it is held jointly with, in its förbund); to anyone else it answers as if it did not
exist (NotFound), so an address never tells whether another body or förbund has a
meeting with that number. The same holds for a report's file among the handlingar: a
person called to the meeting may open the file of a report handled there once it is
handed in (submitted or approved), never a draft or a report still owed.

The list reads every meeting of the person's förbund in its window and then the
agendas, reports and minutes of those meetings at once (four statements whatever the
number of meetings); the föredragningslista is built by `workflow.cycle.agenda` from
the same rows `placement.agenda_of` reads, so it says what the kallelse says. One
meeting's protokoll is `protokoll.minutes`, the very view the printed protokoll is
rendered from, so the notice and appeal dates shown are the ones the anslag states.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import NotFound
from workflow.core.models import Forbund, Insats, Meeting, Minutes, Obligation
from workflow.core.uow import read
from workflow.cycle import agenda as agenda_items
from workflow.cycle import papers, placement, protokoll
from workflow.cycle.meetings import meeting_dict
from workflow.cycle.views import (
    AgendaEntry,
    AgendaPlan,
    CalledPerson,
    MeetingView,
    MinutesView,
    ReceivedReport,
)
from workflow.identity.people import Membership, Person
from workflow.identity.reporting import ReportFile
from workflow.reports import files as store

EARLIER_DAYS = 365  # the earlier meetings listed: those of the last twelve months
MAX_ID = 2**63 - 1  # the largest id a database holds: a larger one is no row
RECEIVED = ("submitted", "approved")  # a report handed in: the board reads it


@dataclass(frozen=True)
class Paper:
    """A handling of a meeting: what it is, where it opens, and its kind ("plan",
    "overview" or "report")."""

    title: str
    url: str | None  # None: a report handed in without a file
    kind: str
    file_name: str | None = None  # a report's file, as it was handed in


@dataclass(frozen=True)
class MinutesState:
    """Where a meeting's protokoll stands, from the minutes' own fields."""

    approved: bool
    posted_on: date | None  # the day the notice of justering goes up on the anslagstavla
    appeal_ends: date | None  # the last day a decision can be appealed


@dataclass(frozen=True)
class MeetingPapers:
    """One meeting as a member reads it: the kallelse's facts, the föredragningslista,
    the handlingar, and whether a protokoll is recorded (None: not yet)."""

    id: int
    forbund_key: str
    forbund_name: str
    meeting: MeetingView
    day: date
    held: bool  # it has begun: its protokoll is what is looked for now
    cancelled: bool
    called: list[CalledPerson]
    agenda: list[AgendaEntry]
    papers: list[Paper]
    minutes: MinutesState | None


@dataclass(frozen=True)
class MyMeetings:
    """The person's coming meetings (soonest first) and those of the last twelve months
    (latest first); `sits` says whether they sit in any body at all."""

    coming: list[MeetingPapers]
    earlier: list[MeetingPapers]
    sits: bool


@dataclass(frozen=True)
class MeetingPage:
    """One meeting's page: its papers as in the list, and its protokoll in full (the view
    the printed protokoll is rendered from) once recorded."""

    papers: MeetingPapers
    protokoll: MinutesView | None


def missing(meeting_id: int) -> NotFound:
    return NotFound(
        f"Det finns inget möte {meeting_id} som du kan se.",
        "Mötena i de organ du sitter i finns under Möten (/moten).",
    )


def _bodies(m: Membership) -> frozenset[str]:
    return frozenset(body for body, _role in m.actor.memberships)


def _called_by(person: Person, forbund_key: str, meeting: Meeting) -> Membership | None:
    """The person's membership in the meeting's förbund when its kallelse calls them: they
    sit in its body or in a body it is held jointly with."""
    held_by = {meeting.body, *(meeting.joint_with or [])}
    for m in person.memberships:
        if m.forbund_key == forbund_key and held_by & _bodies(m):
            return m
    return None


def _start_of_today(now: datetime) -> datetime:
    """Midnight of the local day: a meeting of today is still a coming one all day."""
    return datetime.combine(now.astimezone(LOCAL_TZ).date(), time(0), tzinfo=LOCAL_TZ)


# ---------------------------------------------------------------- the list


def mine(app: App, person: Person) -> MyMeetings:
    """The meetings of every body the person sits in, across their förbund: each coming
    one with its papers, and the last twelve months' with their protokoll's state. Four
    statements whatever the number of meetings or förbund."""
    if not person.memberships:
        return MyMeetings([], [], sits=False)
    now = app.clock.now()
    today = _start_of_today(now)
    with read(app) as uow:
        s = uow.session
        query = (
            sa.select(Meeting, Forbund.key)
            .join(Forbund, Forbund.id == Meeting.forbund_id)
            .where(
                Forbund.key.in_(sorted(person.forbund_keys)),
                Meeting.starts_at >= today - timedelta(days=EARLIER_DAYS),
            )
            .order_by(Meeting.starts_at, Meeting.id)
        )
        found = [
            (row, membership)
            for row, key in s.execute(query)
            if (membership := _called_by(person, key, row)) is not None
            # a cancelled meeting was never held: it has no place among the earlier ones
            and (row.starts_at >= today or row.status != "cancelled")
        ]
        ahead = [row.starts_at >= today for row, _ in found]
        shown = _papers_of(s, found, now)
    coming = [p for p, later in zip(shown, ahead, strict=True) if later]
    earlier = [p for p, later in zip(shown, ahead, strict=True) if not later]
    return MyMeetings(coming, earlier[::-1], sits=True)


# ---------------------------------------------------------------- one meeting


def meeting(app: App, person: Person, meeting_id: int) -> MeetingPage:
    """One meeting the person is called to: its papers, and its protokoll when recorded
    (`protokoll.minutes`, as the printed protokoll). NotFound for anyone not called."""
    with read(app) as uow:
        s = uow.session
        found, membership = _visible(s, person, meeting_id)
        (shown,) = _papers_of(s, [(found, membership)], app.clock.now())
    recorded = protokoll.minutes(app, meeting_id) if shown.minutes is not None else None
    return MeetingPage(shown, recorded)


def _visible(s: Session, person: Person, meeting_id: int) -> tuple[Meeting, Membership]:
    """The meeting and the person's membership it calls, or NotFound (one statement)."""
    if not 0 < meeting_id <= MAX_ID:
        raise missing(meeting_id)
    row = s.execute(
        sa.select(Meeting, Forbund.key)
        .join(Forbund, Forbund.id == Meeting.forbund_id)
        .where(Meeting.id == meeting_id)
    ).first()
    if row is None:
        raise missing(meeting_id)
    found, key = row
    membership = _called_by(person, key, found)
    if membership is None:
        raise missing(meeting_id)
    return found, membership


def report_file(app: App, person: Person, meeting_id: int, obligation_id: int) -> ReportFile:
    """The file of a report the meeting handles, for a person it calls, once the report is
    handed in (submitted or approved); NotFound otherwise, and for a file not in the store."""
    gone = NotFound(
        f"Mötet {meeting_id} har ingen inlämnad rapport {obligation_id} med en fil.",
        "Handlingarna står på mötets sida.",
    )
    with read(app) as uow:
        s = uow.session
        _visible(s, person, meeting_id)
        row = (
            s.execute(
                sa.select(Obligation.file_name, Obligation.file_sha256).where(
                    Obligation.id == obligation_id,
                    Obligation.meeting_id == meeting_id,
                    Obligation.state.in_(RECEIVED),
                )
            ).first()
            if 0 < obligation_id <= MAX_ID
            else None
        )
    if row is None or not row.file_name or not row.file_sha256:
        raise gone
    path = store.stored_path(store.root(app.url), row.file_sha256)
    if not path.is_file():
        raise NotFound(
            f"Filen till rapport {obligation_id} saknas i arkivet.",
            "Förbundschefen ser vad som saknas med 'finsam db check'.",
        )
    return ReportFile(path, row.file_name, store.mime_of(path, row.file_name))


# ---------------------------------------------------------------- the papers, read at once


@dataclass(frozen=True)
class _Handled:
    """A report obligation a meeting handles, with what its papers need."""

    id: int
    meeting_id: int
    kind: str
    name: str
    year: int
    state: str
    insats: str
    file_name: str | None
    file_sha256: str | None

    @property
    def title(self) -> str:  # as `placement.agenda_of` names the item
        return f"{self.name} {self.year}: {self.insats}"


def _papers_of(
    s: Session, found: Sequence[tuple[Meeting, Membership]], now: datetime
) -> list[MeetingPapers]:
    """The papers of each meeting, in the order given: three statements for all of them
    (their plans on the agenda, their reports, their minutes), none when there are none."""
    if not found:
        return []
    ids = [m.id for m, _ in found]
    plans = placement.plans_on(s, ids)
    handled = _handled_by(s, ids)
    minutes = {
        row.meeting_id: MinutesState(
            row.approved_at is not None,
            date.fromisoformat(row.posted_on) if row.posted_on else None,
            date.fromisoformat(row.appeal_ends) if row.appeal_ends else None,
        )
        for row in s.scalars(sa.select(Minutes).where(Minutes.meeting_id.in_(ids)))
    }
    return [
        _one(m, membership, plans.get(m.id, []), handled.get(m.id, []), minutes.get(m.id), now)
        for m, membership in found
    ]


def _handled_by(s: Session, ids: list[int | None]) -> dict[int, list[_Handled]]:
    """The reports each meeting handles, handed in or not, by kind and insats (the
    agenda's order); the cancelled ones are no longer owed."""
    rows = s.execute(
        sa.select(
            Obligation.id,
            Obligation.meeting_id,
            Obligation.kind,
            Obligation.name,
            Obligation.year,
            Obligation.state,
            Insats.name,
            Obligation.file_name,
            Obligation.file_sha256,
        )
        .join(Insats, Insats.id == Obligation.insats_id)
        .where(Obligation.meeting_id.in_(ids), Obligation.state != "cancelled")
        .order_by(Obligation.kind, Insats.name, Obligation.id)
    )
    out: dict[int, list[_Handled]] = {}
    for row in rows:
        handled = _Handled(*row)
        out.setdefault(handled.meeting_id, []).append(handled)
    return out


def _one(
    m: Meeting,
    membership: Membership,
    plans: list[AgendaPlan],
    handled: list[_Handled],
    minutes: MinutesState | None,
    now: datetime,
) -> MeetingPapers:
    cfg = membership.cfg
    view = meeting_dict(m, cfg)
    received: list[ReceivedReport] = [
        {"id": h.id, "title": h.title, "state": h.state} for h in handled if h.state in RECEIVED
    ]
    items = agenda_items.items(view, plans, received)
    return MeetingPapers(
        id=m.id or 0,
        forbund_key=membership.forbund_key,
        forbund_name=membership.forbund_name,
        meeting=view,
        day=m.starts_at.astimezone(LOCAL_TZ).date(),
        held=m.starts_at <= now,
        cancelled=m.status == "cancelled",
        called=papers.called(cfg, m),
        agenda=items,
        papers=[
            *_plan_papers(items),
            *_overviews(membership.forbund_key, handled),
            *_report_papers(m.id or 0, handled),
        ],
        minutes=minutes,
    )


def _plan_papers(items: Iterable[AgendaEntry]) -> list[Paper]:
    """Each plan on the agenda, rendered on its own page (which the member may read)."""
    return [
        Paper(item["title"], f"/plans/{item['plan']}", "plan")
        for item in items
        if item["kind"] == "plan" and item.get("plan")
    ]


def _overviews(forbund_key: str, handled: Iterable[_Handled]) -> list[Paper]:
    """One tertial overview per report kind and year the meeting handles (handed in or
    not: the overview names the missing ones), by year and name as the kallelse lists
    them; the address is the web's own page (`papers.overview_url` without a base)."""
    kinds = {(h.year, h.kind): h.name for h in handled}
    return [
        Paper(
            f"Översikt: {name} {year}", papers.overview_url(forbund_key, year, kind, ""), "overview"
        )
        for (year, kind), name in sorted(kinds.items(), key=lambda k: (k[0][0], k[1], k[0][1]))
    ]


def _report_papers(meeting_id: int, handled: Iterable[_Handled]) -> list[Paper]:
    """Each report handed in, its file opened from the meeting's own address."""
    return [
        Paper(
            h.title,
            f"/moten/{meeting_id}/rapporter/{h.id}/fil" if h.file_name and h.file_sha256 else None,
            "report",
            h.file_name,
        )
        for h in handled
        if h.state in RECEIVED
    ]
