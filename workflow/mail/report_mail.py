"""The mails that ask an insats's project people to act on a report, each with a
personal link to the report's page (`workflow.mail.links`): a report returned for
komplettering (`returned`) and new reports owed (`owed`). Reminders, which fall due
with time, are the notify sweep's (`compose.due_reminders`).

Each is drafted in the transaction of the change (a drafted outbox row per
recipient: one link, one reader), and rendered after the commit with the other
drafts (`compose.render_drafts`), where its link is made; the link's row is
written with the rendered message, never without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.clock import LOCAL_TZ
from workflow.core.models import AuditEvent, Forbund, Insats, Meeting, Obligation, OutboxMessage
from workflow.core.settings import base_url
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.mail import links
from workflow.mail.drafting import address_key, draft_message, personal_key, project_people
from workflow.mail.links import PersonalLink

KINDS = ("returned", "owed")


def returned(s: Session, obligation_id: int, audit_seq: int, now: datetime) -> int:
    """Draft the mail of a returned report to each of its insats's project people."""
    o = s.get(Obligation, obligation_id)
    insats = s.get(Insats, o.insats_id) if o else None
    row = s.get(Forbund, insats.forbund_id) if insats else None
    if o is None or insats is None or row is None:
        return 0
    drafted = 0
    for i, (name, email) in enumerate(project_people(insats)):
        drafted += draft_message(
            s,
            key=personal_key(f"returned:{audit_seq}", i, email),
            forbund_key=row.key,
            kind="returned",
            ref=f"obligation:{o.id}",
            now=now,
            draft={"obligations": [o.id], "audit": audit_seq, "name": name, "email": email},
        )
    return drafted


def owed(s: Session, obligation_ids: tuple[int, ...], now: datetime) -> int:
    """Draft one mail per insats and project person listing the new reports it owes."""
    if not obligation_ids:
        return 0
    by_insats: dict[int, list[Obligation]] = {}
    for o in s.scalars(
        sa.select(Obligation).where(Obligation.id.in_(obligation_ids)).order_by(Obligation.due)
    ):
        by_insats.setdefault(o.insats_id, []).append(o)
    found = s.scalars(sa.select(Insats).where(Insats.id.in_(by_insats)))
    keys = {r.id: r.key for r in s.scalars(sa.select(Forbund))}
    drafted = 0
    for insats in found:
        owed_now = by_insats[insats.id or 0]
        first = min(o.id or 0 for o in owed_now)
        for name, email in project_people(insats):
            drafted += draft_message(
                s,
                key=f"owed:{first}:{address_key(email)}",
                forbund_key=keys[insats.forbund_id],
                kind="owed",
                ref=f"insats:{insats.id}",
                now=now,
                draft={"obligations": [o.id for o in owed_now], "name": name, "email": email},
            )
    return drafted


@dataclass(frozen=True)
class ReportParts:
    """What `compose.render_drafts` needs of a drafted report mail."""

    cfg: ForbundFile
    to: list[tuple[str, str]]
    context: dict[str, Any]
    links: tuple[PersonalLink, ...]


def parts(s: Session, row: OutboxMessage, now: datetime) -> ReportParts | None:
    """The recipient, context and new personal link of a drafted report mail; None when
    what it is about is gone (the draft is then left for `outbox` to show as stale)."""
    d = row.draft or {}
    ids = [int(i) for i in d.get("obligations", [])]
    found = list(s.scalars(sa.select(Obligation).where(Obligation.id.in_(ids))))
    if not found:
        return None
    found.sort(key=lambda o: (o.due, o.id or 0))
    insats = s.get(Insats, found[0].insats_id)
    forbund = s.scalars(sa.select(Forbund).where(Forbund.key == row.forbund_key)).first()
    if insats is None or forbund is None:
        return None
    cfg = forbunds.config_of(forbund)
    valid = links.valid_for()
    target = links.report_page(found[0].id or 0) if len(found) == 1 else "/rapporter"
    link = links.new(str(d["email"]), target, now, valid)
    meetings = _meeting_days(s, found)
    context: dict[str, Any] = {
        "greeting": d.get("name") or insats.name,
        "insats": insats.name,
        "reports": [
            {
                "name": f"{o.name} {o.year}",
                "period": f"{o.period_start} – {o.period_end}",
                "due": date.fromisoformat(o.due),
                "meeting": meetings.get(o.meeting_id or 0),
            }
            for o in found
        ],
        "link": link.url(base_url()),
        "hours": int(valid.total_seconds() // 3600),
        "chef": cfg.chef()[0],
        "forbund": cfg.forbund.name,
        "comment": _comment(s, d.get("audit")) if row.kind == "returned" else None,
    }
    return ReportParts(cfg, [(str(d.get("name") or ""), str(d["email"]))], context, (link,))


def _meeting_days(s: Session, found: list[Obligation]) -> dict[int, date]:
    ids = {o.meeting_id for o in found if o.meeting_id}
    if not ids:
        return {}
    return {
        m.id or 0: m.starts_at.astimezone(LOCAL_TZ).date()
        for m in s.scalars(sa.select(Meeting).where(Meeting.id.in_(ids)))
    }


def _comment(s: Session, audit_seq: Any) -> str | None:
    """The förbundschef's comment as the trail keeps it (the row the return wrote)."""
    if audit_seq is None:
        return None
    event = s.scalars(sa.select(AuditEvent).where(AuditEvent.seq == int(audit_seq))).first()
    return event.comment if event is not None else None
