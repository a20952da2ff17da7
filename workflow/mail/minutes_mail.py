"""The mails of the digital justering, each with a personal link (`workflow.mail.links`):
a draft of a meeting's minutes sent to its justerare (`justering`, one per justerare,
opening the meeting's justering page), and a justerare's request for a change, to
the förbundschef (`minutes_change`, opening the page where the minutes are recorded).

As the report mails (`workflow.mail.report_mail`), each is drafted in the
transaction of the change (a drafted outbox row per reader: one link, one reader)
and rendered after the commit by `compose.render_drafts`, where its link is made;
the link's row is written with the rendered message, never without it. A
justerare's comment is data: it is read from the audit row that keeps it, goes into
the text as it was written (escaped in the HTML) and never into a header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import ConfigError
from workflow.core.models import AuditEvent, Forbund, Meeting, Minutes, OutboxMessage
from workflow.core.settings import base_url
from workflow.cycle.protokoll import attendance_of, outdated
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.mail import links
from workflow.mail.drafting import address_key, draft_message
from workflow.mail.links import PersonalLink

KINDS = ("justering", "minutes_change")


def _minutes(s: Session, meeting_id: int) -> tuple[Meeting, Minutes, Forbund] | None:
    """The meeting, its minutes and its förbund's row; None when any is gone."""
    m = s.get(Meeting, meeting_id)
    if m is None:
        return None
    row = s.scalars(sa.select(Minutes).where(Minutes.meeting_id == m.id)).first()
    forbund = s.get(Forbund, m.forbund_id)
    if row is None or forbund is None:
        return None
    return m, row, forbund


def sent_for_justering(s: Session, meeting_id: int, revision: int, now: datetime) -> int:
    """Draft the mail sending a revision of the minutes to each of its justerare."""
    found = _minutes(s, meeting_id)
    if found is None:
        return 0
    m, row, forbund = found
    names = {p["email"]: p["name"] for p in attendance_of(forbunds.config_of(forbund), m, row)}
    drafted = 0
    for email in row.justerare:
        drafted += draft_message(
            s,
            key=f"justering:{m.id}:{revision}:{address_key(email)}",
            forbund_key=forbund.key,
            kind="justering",
            ref=f"meeting:{m.id}",
            now=now,
            draft={
                "meeting": m.id,
                "revision": revision,
                "name": names.get(email, ""),
                "email": email,
            },
        )
    return drafted


def change_requested(s: Session, meeting_id: int, audit_seq: int, now: datetime) -> int:
    """Draft the mail telling the förbundschef that a justerare asked for a change."""
    found = _minutes(s, meeting_id)
    if found is None:
        return 0
    m, row, forbund = found
    return int(
        draft_message(
            s,
            key=f"minutes_change:{audit_seq}",
            forbund_key=forbund.key,
            kind="minutes_change",
            ref=f"meeting:{m.id}",
            now=now,
            draft={"meeting": m.id, "audit": audit_seq, "revision": row.revision},
        )
    )


@dataclass(frozen=True)
class MinutesParts:
    """What `compose.render_drafts` needs of a drafted justering mail."""

    cfg: ForbundFile
    to: list[tuple[str, str]]
    context: dict[str, Any]
    links: tuple[PersonalLink, ...]


def parts(s: Session, row: OutboxMessage, now: datetime) -> MinutesParts | None:
    """The recipient, context and new personal link of a drafted justering mail; None
    when what it is about is gone, or (a justerare's) when its draft of the minutes is
    no longer the one to justera: the draft is then left for `outbox` to show as stale."""
    d = row.draft or {}
    found = _minutes(s, int(d.get("meeting") or 0))
    if found is None:
        return None
    m, minutes, forbund = found
    cfg = forbunds.config_of(forbund)
    valid = links.valid_for()
    context: dict[str, Any] = {
        "forbund": cfg.forbund.name,
        "body": next((b.name for b in cfg.bodies if b.key == m.body), m.body),
        "meeting_date": m.starts_at.astimezone(LOCAL_TZ).date(),
        "revision": int(d.get("revision") or minutes.revision),
        "hours": int(valid.total_seconds() // 3600),
    }
    if row.kind == "justering":
        email = str(d["email"])
        if outdated(minutes, context["revision"]) or email not in minutes.justerare:
            return None
        link = links.new(email, links.justering_page(m.id or 0), now, valid)
        name = str(d.get("name") or "")
        context |= {"greeting": name or email, "chef": _chef(cfg)[0]}
    else:
        event = s.scalars(sa.select(AuditEvent).where(AuditEvent.seq == int(d["audit"]))).first()
        if event is None:
            return None
        name, email = _writer(s, m.id or 0) or _chef(cfg)
        link = links.new(email, links.minutes_page(m.id or 0), now, valid)
        context |= {
            "greeting": name,
            "justerare": event.actor_name or event.actor_email,
            "comment": event.comment or "",
        }
    context["link"] = link.url(base_url())
    return MinutesParts(cfg, [(name, email)], context, (link,))


def _writer(s: Session, meeting_id: int) -> tuple[str, str] | None:
    """(name, address) of whoever recorded the minutes last: someone `[permissions]
    minutes` allows, so the link to the recording page opens it for them."""
    found = s.execute(
        sa.select(AuditEvent.actor_name, AuditEvent.actor_email)
        .where(AuditEvent.subject == f"meeting:{meeting_id}", AuditEvent.action == "minutes")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return (found[0] or "", found[1]) if found is not None else None


def _chef(cfg: ForbundFile) -> tuple[str, str]:
    """(name, address) of the förbundschef, who records the minutes; a förbund file
    without one cannot make the mail (it fails alone, with this reason)."""
    try:
        return cfg.chef()
    except StopIteration:
        raise ConfigError(
            f"the förbund file of {cfg.forbund.key} names no förbundschef",
            "give one person of a body the role förbundschef",
        ) from None
