"""What finsam tells people, written to the outbox in the transaction that causes it.

Each message has an idempotency key, so a retried command or a second sweep
cannot queue it twice: reminders `reminder:<obligation>:<due>:<offset>`,
kallelser `notice:<meeting>:<sequence>`, arrivals `arrival:<audit row>`,
decision notices `decision:<audit row>:<member>`. Sweeps queue only what has
fallen due, and of several missed reminders only the latest applicable one.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from threading import Event
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from notifications.messages import Attachment, address, build, render_parts
from workflow.clock import LOCAL_TZ
from workflow.config import ForbundFile
from workflow.models import Forbund, Insats, Meeting, Obligation, OutboxMessage


def enqueue(
    s: Session,
    *,
    key: str,
    forbund_key: str,
    kind: str,
    cfg: ForbundFile,
    to: list[str],
    cc: list[str] | None,
    context: dict[str, Any],
    not_before: datetime,
    now: datetime,
    ref: str | None = None,
    attachments: list[Attachment] | None = None,
    calendar: tuple[str, bytes] | None = None,
) -> OutboxMessage | None:
    """Queue one message unless its key is queued already (then None)."""
    if not to:
        return None
    if s.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.key == key)).first():
        return None
    subject, text, html = render_parts(kind, context)
    built = build(
        sender=cfg.sender(),
        reply_to=cfg.mail.reply_to,
        to=to,
        cc=cc,
        subject=subject,
        text=text,
        html=html,
        when=now,
        attachments=attachments,
        calendar=calendar,
    )
    row = OutboxMessage(
        key=key,
        forbund_key=forbund_key,
        kind=kind,
        subject=subject,
        sender=built.sender,
        recipients=built.recipients,
        message_id=built.message_id,
        raw=built.raw,
        ref=ref,
        not_before=not_before,
        created_at=now,
    )
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except sa.exc.IntegrityError:
        return None  # another worker queued the same key first
    return row


# ---------------------------------------------------------------- reminders


def reminder_time(due: date, offset: int, hour: int) -> datetime:
    """08:00 (local) `offset` days before the due date, whatever the season."""
    return datetime.combine(due - timedelta(days=offset), time(hour), tzinfo=LOCAL_TZ)


def reminder_times(o: Obligation, cfg: ForbundFile) -> list[tuple[datetime, int]]:
    """When each of the förbund's reminders for this report falls due, with its offset."""
    due = date.fromisoformat(o.due)
    hour = cfg.mail.reminder_hour
    return [(reminder_time(due, off, hour), off) for off in cfg.mail.reminder_offsets]


def open_obligations(s: Session, row: Forbund) -> Any:
    """The förbund's reports still owed (pending or returned), each with its insats."""
    return s.execute(
        sa.select(Obligation, Insats)
        .join(Insats, Insats.id == Obligation.insats_id)
        .where(Insats.forbund_id == row.id, Obligation.state.in_(("pending", "returned")))
    )


def queue_reminders(
    s: Session, row: Forbund, cfg: ForbundFile, now: datetime, stop: Event | None = None
) -> int:
    """Queue the latest applicable reminder of each open report; `stop` ends it early
    (what was queued so far stands: the rest comes with the next sweep)."""
    queued = 0
    chef_name, chef_email = cfg.chef()
    due_now = []  # (obligation, insats, the latest applicable offset, its key)
    for o, insats in open_obligations(s, row):
        applicable = [(at, off) for at, off in reminder_times(o, cfg) if at <= now]
        if applicable:
            _, offset = max(applicable)  # after downtime only the latest one goes out
            due_now.append((o, insats, offset, f"reminder:{o.id}:{o.due}:{offset}"))
    done = _queued_keys(s, [key for *_, key in due_now])
    for o, insats, offset, key in due_now:
        if stop is not None and stop.is_set():
            break
        if key in done:
            continue
        to = [
            address(n, e)
            for n, e in (
                (insats.leader_name, insats.leader_email),
                (insats.contact_name, insats.contact_email),
            )
            if e
        ]
        cc = [address(chef_name, chef_email)] if offset < 0 else None
        context = _reminder_context(s, cfg, o, insats, now)
        if enqueue(
            s,
            key=key,
            forbund_key=row.key,
            kind="reminder",
            cfg=cfg,
            to=to,
            cc=cc,
            context=context,
            not_before=now,
            now=now,
            ref=f"obligation:{o.id}",
        ):
            queued += 1
    return queued


def cycle_missing(s: Session, row: Forbund, cfg: ForbundFile, year: int, now: datetime) -> bool:
    """Tell the förbundschef, once a year, that the year has no board meetings in finsam."""
    chef_name, chef_email = cfg.chef()
    return (
        enqueue(
            s,
            key=f"cycle:{row.key}:{year}",
            forbund_key=row.key,
            kind="cycle",
            cfg=cfg,
            to=[address(chef_name, chef_email)] if chef_email else [],
            cc=None,
            context={"chef": chef_name, "forbund": cfg.forbund.name, "year": year},
            not_before=now,
            now=now,
            ref=f"year:{year}",
        )
        is not None
    )


def _reminder_context(
    s: Session, cfg: ForbundFile, o: Obligation, insats: Insats, now: datetime
) -> dict[str, Any]:
    due = date.fromisoformat(o.due)
    meeting = s.get(Meeting, o.meeting_id) if o.meeting_id else None
    today = now.astimezone(LOCAL_TZ).date()
    return {
        "greeting": insats.leader_name or insats.contact_name or insats.name,
        "report": f"{o.name} {o.year}",
        "insats": insats.name,
        "period": f"{o.period_start} – {o.period_end}",
        "due": due,
        "days_left": max((due - today).days, 0),
        "days_late": max((today - due).days, 0),
        "meeting": meeting.starts_at.astimezone(LOCAL_TZ).date() if meeting else None,
        "comment": o.comment if o.state == "returned" else None,
        "chef": cfg.chef()[0],
        "forbund": cfg.forbund.name,
    }


def _queued_keys(s: Session, keys: list[str]) -> set[str]:
    """Which of these keys are queued already: one query per few hundred, not one each."""
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        found.update(s.scalars(sa.select(OutboxMessage.key).where(OutboxMessage.key.in_(chunk))))
    return found


# ---------------------------------------------------------------- kallelser


def queue_notices(s: Session, row: Forbund, cfg: ForbundFile, now: datetime) -> int:
    from workflow import meeting_docs

    queued = 0
    lead = timedelta(days=cfg.mail.notice_days_before)
    for m in s.scalars(
        sa.select(Meeting).where(Meeting.forbund_id == row.id, Meeting.starts_at > now)
    ):
        # exact keys, so the unique index answers (a LIKE would read every message sent)
        keys = [f"notice:{m.id}:{seq}" for seq in range(m.sequence + 1)]
        earlier = (
            s.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.key.in_(keys))).first()
            is not None
        )
        if m.status == "cancelled":
            if earlier:
                queued += bool(_notice(s, row, cfg, m, now, "CANCEL", meeting_docs))
            continue
        if now >= m.starts_at - lead or earlier:
            queued += bool(_notice(s, row, cfg, m, now, "REQUEST", meeting_docs))
    return queued


def _notice(
    s: Session,
    row: Forbund,
    cfg: ForbundFile,
    m: Meeting,
    now: datetime,
    method: str,
    meeting_docs: Any,
) -> OutboxMessage | None:
    from notifications.ics import invitation
    from workflow import plan_meetings
    from workflow.meetings import meeting_dict

    data = meeting_dict(m, cfg)
    called = meeting_docs.called(cfg, m)
    items = plan_meetings.agenda_of(s, m, cfg)
    context = {
        "forbund": cfg.forbund.name,
        "meeting": data,
        "date": m.starts_at.astimezone(LOCAL_TZ).date(),
        "called": called,
        "items": items,
        "documents": [i for i in items if i["kind"] in ("plan", "report")],
        "sender": cfg.chef()[0],
        "method": method,
    }
    ics = invitation(
        method,
        data,
        f"{data['body_name']}: {data['theme'] or 'sammanträde'}",
        "\n".join(f"{i['number']}. {i['title']}" for i in items),
        cfg.sender(),
        [(p["name"], p["email"]) for p in called],
        now,
    )
    key = f"notice-cancel:{m.id}" if method == "CANCEL" else f"notice:{m.id}:{m.sequence}"
    return enqueue(
        s,
        key=key,
        forbund_key=row.key,
        kind="notice",
        cfg=cfg,
        to=[address(p["name"], p["email"]) for p in called],
        cc=None,
        context=context,
        not_before=now,
        now=now,
        ref=f"meeting:{m.id}",
        calendar=(method, ics),
    )


def sweep(app: Any, now: datetime | None = None) -> dict[str, int]:
    """Queue every reminder and kallelse that has fallen due, for every förbund (idempotent)."""
    from workflow.db import UnitOfWork

    with UnitOfWork(app.engine) as uow:
        assert uow.session is not None
        counts = sweep_in(uow.session, now or app.clock.now())
        uow.commit()
    return counts


def sweep_in(s: Session, now: datetime, stop: Event | None = None) -> dict[str, int]:
    """The sweep inside a caller's transaction, so a dry run can roll it back."""
    from workflow import forbunds

    counts = {"reminders": 0, "notices": 0}
    for row in s.scalars(sa.select(Forbund).order_by(Forbund.key)):
        cfg = forbunds.config_of(row)
        counts["reminders"] += queue_reminders(s, row, cfg, now, stop)
        counts["notices"] += queue_notices(s, row, cfg, now)
    return counts


# ---------------------------------------------------------------- plans and decisions


def plan_arrived(
    s: Session,
    row: Forbund,
    cfg: ForbundFile,
    *,
    audit_seq: int,
    plan_title: str,
    revision: int,
    meeting: Meeting,
    body: str,
    comment: str | None,
    now: datetime,
) -> None:
    """Tell the members of the next body that the plan is on their meeting's agenda."""
    people = [(p.name, p.email) for b in cfg.bodies if b.key == body for p in b.people]
    start = meeting.starts_at.astimezone(LOCAL_TZ)
    context = {
        "plan_title": plan_title,
        "revision": revision,
        "body": next(b.name for b in cfg.bodies if b.key == body),
        "meeting_date": start.date(),
        "meeting_time": start.strftime("%H:%M"),
        "location": meeting.location,
        "comment": comment,
        "forbund": cfg.forbund.name,
    }
    enqueue(
        s,
        key=f"arrival:{audit_seq}",
        forbund_key=row.key,
        kind="arrival",
        cfg=cfg,
        to=list(dict.fromkeys(address(n, e) for n, e in people)),
        cc=None,
        context=context,
        not_before=now,
        now=now,
        ref=f"meeting:{meeting.id}",
    )


DECISION_TEXT = {
    "adopt": "att anta planen",
    "send_back": "att återremittera planen",
    "reject": "att avslå planen",
}


def decisions_approved(
    s: Session,
    app: Any,
    meeting: Meeting,
    cfg: ForbundFile,
    approved: date,
    appeal_ends: date,
    now: datetime,
) -> int:
    """The minutes are approved: each member's registry gets a protokollsutdrag per decision."""
    from notifications.render import render
    from workflow import plan_docs
    from workflow.models import AgendaItem, AuditEvent

    row = s.get(Forbund, meeting.forbund_id)
    assert row is not None
    queued = 0
    for item in s.scalars(
        sa.select(AgendaItem).where(
            AgendaItem.meeting_id == meeting.id, AgendaItem.status == "handled"
        )
    ):
        event = s.scalars(sa.select(AuditEvent).where(AuditEvent.seq == item.audit_seq)).first()
        if event is None or event.kind != "decision" or event.plan_id is None:
            continue
        loaded = plan_docs.load_stored(app, event.plan_id, event.revision, session=s)
        html = render("plan.html.j2", plan_docs.document(loaded)).encode("utf-8")
        title = loaded.plan.title
        for member in cfg.members:
            context = {
                "forbund": cfg.forbund.name,
                "body": next(b.name for b in cfg.bodies if b.key == meeting.body),
                "meeting_date": meeting.starts_at.astimezone(LOCAL_TZ).date(),
                "paragraph": event.paragraph or item.paragraph or "",
                "plan_title": title,
                "decision": DECISION_TEXT[event.outcome or "adopt"],
                "reason": event.comment if event.outcome != "adopt" else None,
                "approved": approved,
                "appeal_ends": appeal_ends,
                "attached": True,
                "member": member.name,
                "chef": cfg.chef()[0],
            }
            name = f"{title} (revision {event.revision}).html"
            if enqueue(
                s,
                key=f"decision:{event.seq}:{member.key}",
                forbund_key=row.key,
                kind="decision",
                cfg=cfg,
                to=[address(member.name, member.registrator)],
                cc=None,
                context=context,
                not_before=now,
                now=now,
                ref=f"plan:{event.plan_id}",
                attachments=[Attachment(name, html, "text", "html")],
            ):
                queued += 1
    return queued
