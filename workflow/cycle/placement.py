"""Where the plan workflow meets the calendar.

When a plan moves to a body it is put on that body's next meeting that leaves
the body `prep_days` to read it; when the body acts on the plan, the item is
closed with the action and, for the board, the § of the minutes. Where the
calendar of a year is kept here, a body's action names one of its meetings.
Works inside the caller's transaction (a session), so a move and its agenda
change commit together.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import UsageError
from workflow.core.models import AgendaItem, Insats, Meeting, Minutes, Obligation, Plan, Revision
from workflow.cycle import agenda
from workflow.cycle.meetings import meeting_dict, meetings_of, next_meeting
from workflow.cycle.views import AgendaEntry, AgendaPlan, ReceivedReport
from workflow.forbund.file import ForbundFile


def meeting_on(s: Session, forbund_id: int, body: str, day: date) -> Meeting | None:
    """The body's (or a joint) meeting held on that local date, if the calendar has one."""
    for m in meetings_of(s, forbund_id, body):
        if m.starts_at.astimezone(LOCAL_TZ).date() == day:
            return m
    return None


def has_calendar(s: Session, forbund_id: int, year: int) -> bool:
    """Whether the förbund keeps its meetings of `year` in finsam (a cycle or an ad hoc one):
    then a body's action names one of them, not any date."""
    found = s.scalars(
        sa.select(Meeting.id).where(Meeting.forbund_id == forbund_id, Meeting.year == year).limit(1)
    ).first()
    return found is not None


def meetings_around(
    s: Session, forbund_id: int, body: str, day: date, count: int = 2
) -> list[Meeting]:
    """The body's planned meetings nearest before and after `day` (`count` each side)."""
    rows = meetings_of(s, forbund_id, body)
    before = [m for m in rows if m.starts_at.astimezone(LOCAL_TZ).date() < day]
    after = [m for m in rows if m.starts_at.astimezone(LOCAL_TZ).date() >= day]
    return before[-count:] + after[:count]


def named_meeting(
    s: Session, cfg: ForbundFile, forbund_id: int, body: str, ref: date | int, now: datetime
) -> Meeting | None:
    """The body's meeting that a recommendation or decision names, by date or by id.

    Where finsam keeps that year's calendar the meeting must be in it and have
    begun: an action at a meeting nobody held, or one still to come, would put a
    false date in the trail and the minutes. Without a calendar for the year the
    date stands alone (None). An id always names a meeting of the calendar.
    """
    name = next((b.name for b in cfg.bodies if b.key == body), body)
    if isinstance(ref, int):
        m = next((x for x in meetings_of(s, forbund_id, body) if x.id == ref), None)
        if m is None:
            raise UsageError(
                f"meeting {ref} is not a meeting of {name}",
                f"see 'finsam cycle show --body {body}' for its meetings' ids, or give the date",
            )
        return _begun(m, name, now)
    day = ref
    m = meeting_on(s, forbund_id, body, day)
    if m is None:
        if not has_calendar(s, forbund_id, day.year):
            return None
        around = meetings_around(s, forbund_id, body, day)
        listing = ", ".join(f"{_local(x)} (meeting {x.id})" for x in around) or "none"
        raise UsageError(
            f"{name} has no meeting on {day.isoformat()} in the calendar; its meetings around "
            f"that day: {listing}",
            f"give --meeting the date of the meeting where it was taken, or, if {name} met "
            f"that day at short notice, add the meeting first: finsam meeting add --body {body} "
            f"--date {day.isoformat()} --as EMAIL",
        )
    return _begun(m, name, now)


def _begun(m: Meeting, name: str, now: datetime) -> Meeting:
    if m.starts_at > now:
        raise UsageError(
            f"the meeting of {name} on {_local(m)[:10]} (meeting {m.id}) begins at "
            f"{_local(m)[11:]}; it has not begun yet",
            "record a recommendation or decision once the meeting has begun",
        )
    return m


def _local(m: Meeting) -> str:
    return m.starts_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def justerat(s: Session, meeting_id: int | None) -> bool:
    """Whether the meeting's protokoll is justerat: nothing more was decided there."""
    found = s.scalars(
        sa.select(Minutes.approved_at).where(Minutes.meeting_id == meeting_id)
    ).first()
    return found is not None


def held_meeting(s: Session, plan: Plan, body: str, now: datetime) -> Meeting | None:
    """The meeting the plan waits for at this body, once it has begun."""
    for item in s.scalars(
        sa.select(AgendaItem).where(AgendaItem.plan_id == plan.id, AgendaItem.status == "waiting")
    ):
        m = s.get(Meeting, item.meeting_id)
        if (
            m is not None
            and m.status == "planned"
            and m.starts_at <= now
            and (m.body == body or body in (m.joint_with or []))
        ):
            return m
    return None


def agenda_of(s: Session, meeting: Meeting, cfg: ForbundFile | None = None) -> list[AgendaEntry]:

    rows = s.execute(
        sa.select(AgendaItem, Plan)
        .join(Plan, Plan.id == AgendaItem.plan_id)
        .where(AgendaItem.meeting_id == meeting.id, AgendaItem.status != "removed")
        .order_by(AgendaItem.id)
    ).all()
    plans: list[AgendaPlan] = []
    for item, plan in rows:
        rev = s.scalars(
            sa.select(Revision).where(Revision.plan_id == plan.id, Revision.number == item.revision)
        ).one()
        plans.append(
            {
                "id": plan.id,
                "title": rev.title,
                "revision": item.revision,
                "status": item.status,
                "action": item.action,
                "paragraph": item.paragraph,
            }
        )
    return agenda.items(meeting_dict(meeting, cfg), plans, _received_reports(s, meeting))


def plans_on(s: Session, meetings: Any) -> dict[int, list[AgendaPlan]]:
    """The plans on the agendas of many meetings at once (`meetings`: ids, or a query of
    them), by meeting: what `agenda_of` reads one meeting at a time, in one query (removed
    items left out, in the order they were put there, with the revision's title)."""
    rows = s.execute(
        sa.select(AgendaItem, Revision.title)
        .join(
            Revision,
            sa.and_(Revision.plan_id == AgendaItem.plan_id, Revision.number == AgendaItem.revision),
        )
        .where(AgendaItem.meeting_id.in_(meetings), AgendaItem.status != "removed")
        .order_by(AgendaItem.id)
    )
    out: dict[int, list[AgendaPlan]] = {}
    for item, title in rows:
        out.setdefault(item.meeting_id, []).append(
            {
                "id": item.plan_id,
                "title": title,
                "revision": item.revision,
                "status": item.status,
                "action": item.action,
                "paragraph": item.paragraph,
            }
        )
    return out


def _received_reports(s: Session, meeting: Meeting) -> list[ReceivedReport]:

    rows = s.execute(
        sa.select(Obligation, Insats)
        .join(Insats, Insats.id == Obligation.insats_id)
        .where(Obligation.meeting_id == meeting.id, Obligation.state.in_(("submitted", "approved")))
        .order_by(Obligation.kind, Insats.name)
    ).all()
    return [
        {"id": o.id, "title": f"{o.name} {o.year}: {i.name}", "state": o.state} for o, i in rows
    ]


def paragraph_offset(s: Session, meeting: Meeting, cfg: ForbundFile) -> int:
    """How many §§ the body's earlier meetings of the year used (0 when numbered per meeting)."""
    if cfg.cycle is None or cfg.cycle.paragraphs == "per_meeting":
        return 0
    earlier = s.scalars(
        sa.select(Meeting).where(
            Meeting.forbund_id == meeting.forbund_id,
            Meeting.year == meeting.year,
            Meeting.body == meeting.body,
            Meeting.status == "planned",
            Meeting.starts_at < meeting.starts_at,
        )
    )
    return sum(len(agenda_of(s, m)) for m in earlier)


def paragraph_for(s: Session, meeting: Meeting, plan_id: int, cfg: ForbundFile) -> str | None:
    """The § of this plan's item: its number on the agenda, counted per meeting or per year."""
    number = next((a["number"] for a in agenda_of(s, meeting) if a.get("plan") == plan_id), None)
    if number is None:
        return None
    return str(paragraph_offset(s, meeting, cfg) + number)


def after_move(
    s: Session,
    plan: Plan,
    cfg: ForbundFile,
    *,
    action: str,
    meeting: Meeting | None,
    paragraph: str | None,
    audit_seq: int,
    new_state_body: str | None,
    revision: int,
    state: str,
    now: datetime,
    lead_days: int = 0,
) -> Meeting | None:
    """Close the items this move answers, and put the plan on its next body's meeting."""
    for item in s.scalars(
        sa.select(AgendaItem).where(AgendaItem.plan_id == plan.id, AgendaItem.status == "waiting")
    ):
        at = s.get(Meeting, item.meeting_id)
        handled = meeting is not None and at is not None and at.id == meeting.id
        item.status = "handled" if handled else "removed"
        if handled:
            item.action, item.paragraph, item.audit_seq = action, paragraph, audit_seq
        s.add(item)
    if meeting is not None and not any(
        True
        for _ in s.scalars(
            sa.select(AgendaItem.id).where(
                AgendaItem.plan_id == plan.id, AgendaItem.meeting_id == meeting.id
            )
        )
    ):
        # acted at a meeting the plan was not put on: record it there all the same
        s.add(
            AgendaItem(
                meeting_id=meeting.id,
                plan_id=plan.id,
                revision=revision,
                state=state,
                status="handled",
                action=action,
                paragraph=paragraph,
                audit_seq=audit_seq,
                added_at=now,
            )
        )
    placed = None
    if new_state_body is not None:
        placed = next_meeting(s, plan.forbund_id, new_state_body, now, lead_days)
        if placed is not None:
            s.add(
                AgendaItem(
                    meeting_id=placed.id,
                    plan_id=plan.id,
                    revision=revision,
                    state=state,
                    status="waiting",
                    added_at=now,
                )
            )
    s.flush()
    return placed
