"""The year's meetings: generate them from the rules, show, move with their dependants, cancel.

Meetings are Europe/Stockholm wall-clock times; each is stored as an aware UTC
instant computed from its local date and time, so a 14:00 meeting after the DST
change is still 14:00. Every move or cancellation raises the meeting's SEQUENCE
(what calendar programs use to update an event in place) and is recorded.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.events import DueMoved, MeetingCancelled, MeetingMoved
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import NotFound, UsageError
from workflow.core.models import AgendaItem, Meeting, MeetingChange
from workflow.core.uow import UnitOfWork, read, write
from workflow.cycle.dates import Proposed, blocked, nearest_allowed, propose
from workflow.cycle.views import (
    DueMovedView,
    MeetingCancelView,
    MeetingMoveView,
    MeetingView,
    ProposedMeeting,
    ReplacedPlan,
    WaitingPlan,
)
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile


def local_instant(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=LOCAL_TZ)


def place_name(cfg: ForbundFile, place: str | None) -> str | None:
    members = {m.key: m.name for m in cfg.members}
    return members.get(place, place) if place else None


def _rules(cfg: ForbundFile) -> Any:
    if cfg.cycle is None:
        raise UsageError(
            f"{cfg.forbund.name} has no cycle rules",
            "add a [cycle] table to the förbund file (see examples/forbund/sydostra-skane.toml) "
            "and run 'finsam init --forbund FILE' again",
        )
    return cfg.cycle


def proposals(cfg: ForbundFile, year: int) -> list[Proposed]:
    if not 2000 <= year <= 2100:
        raise UsageError(f"year {year} is out of range", "give a year such as 2027")
    return propose(_rules(cfg), year, cfg.board_body())


def generate(
    app: App, forbund_key: str | None, year: int, *, dry_run: bool = False
) -> list[MeetingView] | list[ProposedMeeting]:
    """Propose the year's meetings from the rules; store them unless it is a dry run."""
    now = app.clock.now()

    def work(uow: UnitOfWork) -> list[MeetingView] | list[ProposedMeeting]:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        cfg = forbunds.config_of(row)
        proposed = proposals(cfg, year)
        if dry_run:
            return [_proposed_dict(p, cfg) for p in proposed]
        existing = s.scalar(
            sa.select(sa.func.count())
            .select_from(Meeting)
            .where(Meeting.forbund_id == row.id, Meeting.year == year)
        )
        if existing:
            raise UsageError(
                f"the {year} cycle of {row.key} is generated already ({existing} meetings)",
                "change single meetings with 'finsam meeting move' or 'finsam meeting cancel'",
            )
        by_key: dict[str, Meeting] = {}
        for p in proposed:
            meeting = Meeting(
                forbund_id=row.id,
                year=year,
                key=p.key,
                body=p.body,
                kind=p.kind,
                theme=p.theme,
                starts_at=local_instant(p.day, p.time),
                duration_minutes=p.duration_minutes,
                location=place_name(cfg, p.place),
                joint_with=p.joint_with,
                offset_days=p.offset_days,
                prepares_id=by_key[p.prepares].id if p.prepares else None,
                uid=f"{uuid.uuid4()}@finsam",
                note=p.note,
                created_at=now,
                updated_at=now,
            )
            s.add(meeting)
            s.flush()
            by_key[p.key] = meeting
        return [meeting_dict(m, cfg) for m in by_key.values()]

    return write(app, work)


def _proposed_dict(p: Proposed, cfg: ForbundFile) -> ProposedMeeting:
    start = local_instant(p.day, p.time)
    return {
        "id": None,
        "key": p.key,
        "body": p.body,
        "kind": p.kind,
        "theme": p.theme,
        "date": p.day.isoformat(),
        "time": p.time,
        "end": (start + timedelta(minutes=p.duration_minutes)).strftime("%H:%M"),
        "location": place_name(cfg, p.place),
        "status": "proposed",
        "sequence": 0,
        "prepares": p.prepares,
        "joint_with": p.joint_with,
        "note": p.note,
        "pinned": False,
    }


def meeting_dict(m: Meeting, cfg: ForbundFile | None = None) -> MeetingView:
    start = m.starts_at.astimezone(LOCAL_TZ)
    end = start + timedelta(minutes=m.duration_minutes)
    names = {b.key: b.name for b in cfg.bodies} if cfg else {}
    return {
        "id": m.id,
        "key": m.key,
        "body": m.body,
        "body_name": names.get(m.body, m.body),
        "kind": m.kind,
        "theme": m.theme,
        "date": start.date().isoformat(),
        "time": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "starts_at": m.starts_at.astimezone(UTC).isoformat(),
        "duration_minutes": m.duration_minutes,
        "location": m.location,
        "status": m.status,
        "sequence": m.sequence,
        "uid": m.uid,
        "prepares": m.prepares_id,
        "joint_with": list(m.joint_with or []),
        "note": m.note,
        "pinned": m.pinned,
    }


def list_meetings(
    app: App, forbund_key: str | None, year: int, body: str | None = None
) -> list[MeetingView]:
    with read(app) as uow:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        cfg = forbunds.config_of(row)
        if body is not None and body not in {b.key for b in cfg.bodies}:
            raise NotFound(
                f"unknown body {body!r}", f"bodies: {', '.join(b.key for b in cfg.bodies)}"
            )
        query = sa.select(Meeting).where(Meeting.forbund_id == row.id, Meeting.year == year)
        rows = s.scalars(query.order_by(Meeting.starts_at, Meeting.id))
        # a body's meetings include the joint ones it sits in
        return [
            meeting_dict(m, cfg)
            for m in rows
            if body is None or m.body == body or body in (m.joint_with or [])
        ]


def _meeting(s: Session, meeting_id: int, *, lock: bool = False) -> Meeting:
    """The meeting; `lock` holds its row until commit, so two people moving or
    cancelling it at once act one after the other (PostgreSQL; SQLite writers hold
    the file's lock anyway)."""
    m = s.get(Meeting, meeting_id, with_for_update=lock)
    if m is None:
        raise NotFound(f"unknown meeting {meeting_id}", "see 'finsam cycle show --year YEAR'")
    return m


def _preps_of(m: Meeting) -> sa.Select[tuple[Meeting]]:
    """The planned prep meetings of `m`, locked until commit like `m` itself (someone
    may move one of them directly at the same moment; PostgreSQL)."""
    return (
        sa.select(Meeting)
        .where(Meeting.prepares_id == m.id, Meeting.status == "planned")
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _cfg(s: Session, m: Meeting) -> ForbundFile:
    return forbunds.config_by_id(s, m.forbund_id)


def _record(
    s: Session, m: Meeting, now: datetime, change: str, old: datetime | None, reason: str
) -> None:
    s.add(
        MeetingChange(
            meeting_id=m.id,
            at=now,
            change=change,
            old_starts_at=old,
            new_starts_at=m.starts_at if change != "cancel" else None,
            reason=reason,
        )
    )


def move(
    app: App, meeting_id: int, to: date, at_time: str | None = None, *, force: bool = False
) -> MeetingMoveView:
    """Move a meeting; the prep meetings that are not pinned keep their distance to it."""
    now = app.clock.now()
    if at_time is not None:
        try:
            time.fromisoformat(at_time)
        except ValueError:
            raise UsageError(
                f"--time {at_time!r} is not a time of day", "give it as HH:MM, e.g. 14:00"
            ) from None

    def work(uow: UnitOfWork) -> MeetingMoveView:
        s = uow.session
        m = _meeting(s, meeting_id, lock=True)
        cfg = _cfg(s, m)
        if m.status == "cancelled":
            raise UsageError(f"meeting {m.id} is cancelled", "a cancelled meeting does not move")
        reason = blocked(to)
        if reason and not force:
            raise UsageError(
                f"{to.isoformat()} is not a meeting day: {reason}",
                f"choose another day (e.g. {nearest_allowed(to).isoformat()}) or give --force",
            )
        old = m.starts_at
        hhmm = at_time or old.astimezone(LOCAL_TZ).strftime("%H:%M")
        m.starts_at = local_instant(to, hhmm)
        m.sequence += 1
        m.updated_at = now
        if m.kind == "prep":
            m.pinned = True  # someone chose this date: it no longer follows the board meeting
        _record(s, m, now, "move", old, reason or "")
        moved = []
        for prep in s.scalars(_preps_of(m)):
            if prep.pinned:
                continue
            prep_old = prep.starts_at
            local = prep_old.astimezone(LOCAL_TZ)
            wanted = to + timedelta(days=prep.offset_days)
            day = (
                wanted
                if blocked(wanted) is None and wanted < to
                else nearest_allowed(wanted, before=to)
            )
            prep.starts_at = local_instant(day, local.strftime("%H:%M"))
            prep.sequence += 1
            prep.updated_at = now
            _record(s, prep, now, "move", prep_old, f"follows meeting {m.id}")
            moved.append(prep)
        s.flush()
        on_agenda = _waiting_plans(s, [m, *moved])
        uow.record(MeetingMoved(meeting_ids=(m.id, *(p.id for p in moved)), at=now))
        uow.dispatch()
        return {
            "meeting": meeting_dict(m, cfg),
            "moved": [meeting_dict(p, cfg) for p in moved],
            "plans": on_agenda,
            "due_moved": cast(list[DueMovedView], [asdict(d) for d in uow.outcomes_of(DueMoved)]),
            "forced": bool(reason),
        }

    return write(app, work)


def cancel(app: App, meeting_id: int) -> MeetingCancelView:
    now = app.clock.now()

    def work(uow: UnitOfWork) -> MeetingCancelView:
        s = uow.session
        m = _meeting(s, meeting_id, lock=True)
        cfg = _cfg(s, m)
        if m.status == "cancelled":
            raise UsageError(f"meeting {m.id} is already cancelled")
        cancelled = [m]
        cancelled += [p for p in s.scalars(_preps_of(m)) if not p.pinned]
        for c in cancelled:
            c.status = "cancelled"
            c.sequence += 1
            c.updated_at = now
            _record(s, c, now, "cancel", c.starts_at, "" if c is m else f"follows meeting {m.id}")
        s.flush()
        replaced = _replace_waiting(s, cancelled, now)
        uow.record(MeetingCancelled(meeting_ids=tuple(c.id for c in cancelled), at=now))
        uow.dispatch()
        return {
            "meeting": meeting_dict(m, cfg),
            "cancelled": [meeting_dict(c, cfg) for c in cancelled[1:]],
            "plans": replaced,
            "due_moved": cast(list[DueMovedView], [asdict(d) for d in uow.outcomes_of(DueMoved)]),
        }

    return write(app, work)


def by_ids(ids: tuple[int, ...]) -> sa.Select[tuple[Meeting]]:
    """A query for these meetings, in time order."""
    return sa.select(Meeting).where(Meeting.id.in_(ids)).order_by(Meeting.starts_at)


def meetings_of(s: Session, forbund_id: int, body: str) -> list[Meeting]:
    """The body's planned meetings (its own and those it holds jointly), in time order."""
    rows = s.scalars(
        sa.select(Meeting)
        .where(Meeting.forbund_id == forbund_id, Meeting.status == "planned")
        .order_by(Meeting.starts_at)
    )
    return [m for m in rows if m.body == body or body in (m.joint_with or [])]


def next_meeting(
    s: Session, forbund_id: int, body: str, now: datetime, lead_days: int
) -> Meeting | None:
    """The body's first meeting at least `lead_days` from now."""
    lead = timedelta(days=lead_days)
    for m in meetings_of(s, forbund_id, body):
        if m.starts_at >= now + lead:
            return m
    return None


def _waiting_plans(s: Session, moved: list[Meeting]) -> list[WaitingPlan]:
    """The plans that wait on these meetings: they move with them."""

    ids = [m.id for m in moved]
    return [
        {"plan": i.plan_id, "meeting": i.meeting_id}
        for i in s.scalars(
            sa.select(AgendaItem).where(
                AgendaItem.meeting_id.in_(ids), AgendaItem.status == "waiting"
            )
        )
    ]


def _replace_waiting(s: Session, cancelled: list[Meeting], now: datetime) -> list[ReplacedPlan]:
    """Plans waiting on cancelled meetings go to their body's next meeting (or none is left)."""

    out: list[ReplacedPlan] = []
    for c in cancelled:
        for item in s.scalars(
            sa.select(AgendaItem).where(
                AgendaItem.meeting_id == c.id, AgendaItem.status == "waiting"
            )
        ):
            item.status = "removed"
            s.add(item)
            after = max(now, c.starts_at)
            nxt = next_meeting(s, c.forbund_id, c.body, after, 0)
            if nxt is not None:
                s.add(
                    AgendaItem(
                        meeting_id=nxt.id,
                        plan_id=item.plan_id,
                        revision=item.revision,
                        state=item.state,
                        status="waiting",
                        added_at=now,
                    )
                )
            out.append(
                {"plan": item.plan_id, "from": c.id, "to": nxt.id if nxt is not None else None}
            )
    s.flush()
    return out
