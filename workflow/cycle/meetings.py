"""The year's meetings: generate them from the rules, show, move with their dependants, cancel.

Meetings are Europe/Stockholm wall-clock times; each is stored as an aware UTC
instant computed from its local date and time, so a 14:00 meeting after the DST
change is still 14:00. Every move or cancellation raises the meeting's SEQUENCE
(what calendar programs use to update an event in place) and is recorded.

Every change of the calendar names its actor, whom the förbund file's
`[permissions]` allow it (`cycle` to generate, `meetings` to add, move and
cancel), and leaves one audit row per meeting it touches (subject
`meeting:<id>`), so the trail holds each meeting's whole life.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.events import DueMoved, MeetingCancelled, MeetingMoved
from states.roles import Actor
from workflow.core import audit
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import NotFound, UsageError
from workflow.core.models import AgendaItem, AuditEvent, Forbund, Meeting, MeetingChange, Minutes
from workflow.core.text import optional_line
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

# the years a meeting may fall in (a date outside cannot be a meeting of this register)
YEARS = range(2000, 2101)
# what an ad hoc meeting is, in the calendar's kind and its note (shown in `cycle show`)
EXTRA = "extra"
EXTRA_NOTE = "extra sammanträde"


def local_instant(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=LOCAL_TZ)


def local_day(m: Meeting) -> date:
    return m.starts_at.astimezone(LOCAL_TZ).date()


def _hhmm(value: str, option: str = "--time") -> str:
    """A time of day as HH:MM, or a UsageError naming the option."""
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is not a time of day", "give it as HH:MM, e.g. 14:00"
        ) from None
    return parsed.strftime("%H:%M")


def _in_range(day: date, option: str) -> None:
    if day.year not in YEARS:
        raise UsageError(
            f"{option} {day.isoformat()} is out of range",
            f"give a date in the years {YEARS.start}–{YEARS.stop - 1}",
        )


def _not_minuted(s: Session, m: Meeting) -> None:
    """A meeting with minutes was held: it neither moves nor is cancelled."""
    if s.scalars(sa.select(Minutes.id).where(Minutes.meeting_id == m.id)).first() is not None:
        raise UsageError(
            f"meeting {m.id} ({local_day(m).isoformat()}) has minutes: it was held",
            "a meeting that was held neither moves nor is cancelled",
        )


def audit_meeting(
    s: Session,
    cfg: ForbundFile,
    m: Meeting,
    *,
    at: datetime,
    who: Actor,
    role: str,
    action: str,
    comment: str,
    from_state: str | None = "planned",
    to_state: str | None = None,
    content_sha256: str = "",
    channel: str = "cli",
) -> AuditEvent:
    """The meeting's row in the audit trail (subject `meeting:<id>`): who changed it, in
    which role, and what changed; `to_state` is the meeting's status unless given (the
    minutes name their own steps); `content_sha256` a justerat protokoll's content."""
    return audit.change(
        s,
        at=at,
        forbund_key=cfg.forbund.key,
        subject=f"meeting:{m.id}",
        action=action,
        actor=who,
        role=role,
        from_state=from_state,
        to_state=to_state or m.status,
        comment=comment,
        body=m.body,
        meeting_date=local_day(m).isoformat(),
        content_sha256=content_sha256,
        channel=channel,
    )


def _when(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


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
    if year not in YEARS:
        raise UsageError(f"year {year} is out of range", "give a year such as 2027")
    return propose(_rules(cfg), year, cfg.board_body())


def generate(
    app: App,
    forbund_key: str | None,
    year: int,
    *,
    actor_email: str | None,
    dry_run: bool = False,
) -> list[MeetingView] | list[ProposedMeeting]:
    """Propose the year's meetings from the rules; store them unless it is a dry run.

    A dry run changes nothing, so it needs nobody named; storing needs the
    `cycle` permission and writes a `cycle:<year>` row and one row per meeting.
    """
    now = app.clock.now()
    if year not in YEARS:
        raise UsageError(f"year {year} is out of range", "give a year such as 2027")

    def work(uow: UnitOfWork) -> list[MeetingView] | list[ProposedMeeting]:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        cfg = forbunds.config_of(row)
        if dry_run:
            return [_proposed_dict(p, cfg) for p in proposals(cfg, year)]
        who, role = forbunds.authorise(cfg, actor_email, "cycle")
        proposed = proposals(cfg, year)
        # ad hoc meetings added before the cycle do not count as a generated cycle
        existing = s.scalar(
            sa.select(sa.func.count())
            .select_from(Meeting)
            .where(Meeting.forbund_id == row.id, Meeting.year == year, Meeting.kind != EXTRA)
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
        _audit_generated(s, row, cfg, year, list(by_key.values()), now, who, role)
        return [meeting_dict(m, cfg) for m in by_key.values()]

    return write(app, work)


def _audit_generated(
    s: Session,
    row: Forbund,
    cfg: ForbundFile,
    year: int,
    created: list[Meeting],
    now: datetime,
    who: Actor,
    role: str,
) -> None:
    """One row for the cycle, then one per meeting (where `--subject meeting:N` finds it)."""
    audit.change(
        s,
        at=now,
        forbund_key=row.key,
        subject=f"cycle:{year}",
        action="generate",
        actor=who,
        role=role,
        to_state="generated",
        comment=f"{len(created)} meetings of {year} generated from the cycle rules",
    )
    for m in created:
        moved = f" ({m.note})" if m.note else ""
        audit_meeting(
            s,
            cfg,
            m,
            at=now,
            who=who,
            role=role,
            action="generate",
            from_state=None,
            comment=f"{m.key} generated for {_when(m.starts_at)}{moved}",
        )


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


def _authorised(
    s: Session, meeting_id: int, actor_email: str | None
) -> tuple[Meeting, ForbundFile, Actor, str]:
    """The meeting (locked until commit), its förbund's file, and who changes it in which role."""
    m = _meeting(s, meeting_id, lock=True)
    cfg = _cfg(s, m)
    who, role = forbunds.authorise(cfg, actor_email, "meetings")
    return m, cfg, who, role


def _check_year(m: Meeting, to: date, *, force: bool, reason: str | None) -> None:
    """A move into another year needs both --force and a reason: it leaves its year's cycle."""
    current = local_day(m)
    if to.year != current.year and not (force and reason):
        raise UsageError(
            f"meeting {m.id} is on {current.isoformat()} ({current.year}); "
            f"{to.isoformat()} is in another year ({to.year})",
            "moving a meeting to another year needs both --force and --reason TEXT "
            "(why it moves); or choose a day in "
            f"{current.year}",
        )


def move(
    app: App,
    meeting_id: int,
    to: date,
    at_time: str | None = None,
    *,
    actor_email: str | None,
    force: bool = False,
    reason: str | None = None,
) -> MeetingMoveView:
    """Move a meeting; the prep meetings that are not pinned keep their distance to it."""
    now = app.clock.now()
    hhmm = None if at_time is None else _hhmm(at_time)
    reason = optional_line(reason, "--reason", "line")
    _in_range(to, "--to")

    def work(uow: UnitOfWork) -> MeetingMoveView:
        s = uow.session
        m, cfg, who, role = _authorised(s, meeting_id, actor_email)
        if m.status == "cancelled":
            raise UsageError(f"meeting {m.id} is cancelled", "a cancelled meeting does not move")
        _not_minuted(s, m)
        _check_year(m, to, force=force, reason=reason)
        not_a_day = blocked(to)
        if not_a_day and not force:
            raise UsageError(
                f"{to.isoformat()} is not a meeting day: {not_a_day}",
                f"choose another day (e.g. {nearest_allowed(to).isoformat()}) or give --force",
            )
        old = m.starts_at
        m.starts_at = local_instant(to, hhmm or old.astimezone(LOCAL_TZ).strftime("%H:%M"))
        m.sequence += 1
        m.updated_at = now
        if m.kind == "prep":
            m.pinned = True  # someone chose this date: it no longer follows the board meeting
        why = "; ".join(x for x in (not_a_day, reason) if x)
        _record(s, m, now, "move", old, why)
        forced = f" (forced: {not_a_day})" if not_a_day else ""
        given = f"; reason: {reason}" if reason else ""
        audit_meeting(
            s,
            cfg,
            m,
            at=now,
            who=who,
            role=role,
            action="move",
            comment=f"moved from {_when(old)} to {_when(m.starts_at)}{forced}{given}",
        )
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
            audit_meeting(
                s,
                cfg,
                prep,
                at=now,
                who=who,
                role=role,
                action="move",
                comment=f"moved from {_when(prep_old)} to {_when(prep.starts_at)}: "
                f"follows meeting {m.id}",
            )
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
            "forced": bool(not_a_day),
        }

    return write(app, work)


def cancel(
    app: App, meeting_id: int, *, actor_email: str | None, reason: str | None = None
) -> MeetingCancelView:
    """Cancel a meeting (kept, exported as cancelled) and the prep meetings that follow it."""
    now = app.clock.now()
    reason = optional_line(reason, "--reason", "line")

    def work(uow: UnitOfWork) -> MeetingCancelView:
        s = uow.session
        m, cfg, who, role = _authorised(s, meeting_id, actor_email)
        if m.status == "cancelled":
            raise UsageError(f"meeting {m.id} is already cancelled")
        cancelled = [m]
        cancelled += [p for p in s.scalars(_preps_of(m)) if not p.pinned]
        for c in cancelled:
            _not_minuted(s, c)
        for c in cancelled:
            c.status = "cancelled"
            c.sequence += 1
            c.updated_at = now
            why = (reason or "") if c is m else f"follows meeting {m.id}"
            _record(s, c, now, "cancel", c.starts_at, why)
            audit_meeting(
                s,
                cfg,
                c,
                at=now,
                who=who,
                role=role,
                action="cancel",
                comment=f"cancelled the meeting of {_when(c.starts_at)}"
                + (f": {why}" if why else ""),
            )
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


def add(
    app: App,
    forbund_key: str | None,
    *,
    body: str,
    day: date,
    actor_email: str | None,
    at_time: str | None = None,
    place: str | None = None,
    title: str | None = None,
    force: bool = False,
) -> MeetingView:
    """An ad hoc (extra) meeting of a body, outside the rules; kallad like any other.

    It may lie in the past: a meeting held at short notice is entered afterwards so
    that the decisions taken there can name it.
    """
    now = app.clock.now()
    hhmm = None if at_time is None else _hhmm(at_time)
    place = optional_line(place, "--place", "place")
    title = optional_line(title, "--title", "title")
    _in_range(day, "--date")

    def work(uow: UnitOfWork) -> MeetingView:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        cfg = forbunds.config_of(row)
        who, role = forbunds.authorise(cfg, actor_email, "meetings")
        names = {b.key: b.name for b in cfg.bodies}
        if body not in names:
            raise NotFound(f"unknown body {body!r}", f"bodies: {', '.join(names)}")
        same_day = [m for m in meetings_of(s, row.id, body) if local_day(m) == day]
        if same_day:
            other = same_day[0]
            raise UsageError(
                f"{names[body]} meets on {day.isoformat()} already: meeting {other.id} at "
                f"{other.starts_at.astimezone(LOCAL_TZ).strftime('%H:%M')}",
                f"use that meeting, move it with 'finsam meeting move {other.id} --time HH:MM', "
                "or choose another day",
            )
        not_a_day = blocked(day)
        if not_a_day and not force:
            raise UsageError(
                f"{day.isoformat()} is not a meeting day: {not_a_day}",
                f"choose another day (e.g. {nearest_allowed(day).isoformat()}) or give --force",
            )
        usual_time, minutes = _usual(cfg, body)
        m = Meeting(
            forbund_id=row.id,
            year=day.year,
            key=_free_key(s, row.id, f"{body}-{day.isoformat()}-{EXTRA}"),
            body=body,
            kind=EXTRA,
            theme=title or "",
            starts_at=local_instant(day, hhmm or usual_time),
            duration_minutes=minutes,
            location=place_name(cfg, place),
            joint_with=[],
            uid=f"{uuid.uuid4()}@finsam",
            note=EXTRA_NOTE,
            created_at=now,
            updated_at=now,
        )
        s.add(m)
        s.flush()
        forced = f" (forced: {not_a_day})" if not_a_day else ""
        audit_meeting(
            s,
            cfg,
            m,
            at=now,
            who=who,
            role=role,
            action="add",
            from_state=None,
            comment=f"ad hoc meeting of {names[body]} added for {_when(m.starts_at)}{forced}",
        )
        return meeting_dict(m, cfg)

    return write(app, work)


def _usual(cfg: ForbundFile, body: str) -> tuple[str, int]:
    """The body's usual start and length from the cycle rules (13:00, two hours without)."""
    rules = cfg.cycle
    if rules is not None:
        if body == cfg.board_body() and rules.board:
            return rules.board[0].time, rules.board[0].duration_minutes
        for r in [*rules.prep, *rules.other]:
            if r.body == body:
                return r.time, r.duration_minutes
    return "13:00", 120


def _free_key(s: Session, forbund_id: int, base: str) -> str:
    """`base`, or `base-2`, `-3`... when a cancelled meeting that day holds it."""
    taken = set(
        s.scalars(
            sa.select(Meeting.key).where(
                Meeting.forbund_id == forbund_id, Meeting.key.startswith(base)
            )
        )
    )
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}-{n}"
    return key


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
