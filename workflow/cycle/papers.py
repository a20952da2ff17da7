"""A meeting's papers: föredragningslista, kallelse, protokoll and its justering.

The decisions in the minutes are drawn from the audit trail (what was decided
at the meeting), so the protokoll cannot say something the trail does not.
Approval follows kommunallagen: the notice of approved minutes goes up within
two days, and a decision can be appealed for three weeks after that.

Recording the minutes needs the `minutes` permission of the förbund file; each
justerare's approval is theirs alone. Both leave a row in the audit trail
(subject `meeting:<id>`) naming the person and the role they acted in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import NotFound, UsageError
from workflow.core.models import AgendaItem, AuditEvent, Forbund, Meeting, Minutes, Obligation
from workflow.core.settings import base_url
from workflow.core.uow import read
from workflow.cycle import placement as plan_meetings
from workflow.cycle.meetings import meeting_dict
from workflow.cycle.views import (
    AgendaEntry,
    AgendaView,
    CalledPerson,
    NoticeView,
    OverviewLink,
    Standing,
)
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.reports.obligations import for_meeting

APPEAL_DAYS = 21
JUSTERARE = "justerare"  # the role an approval of the minutes is made in


def load(s: Session, meeting_id: int, *, lock: bool = False) -> tuple[Meeting, ForbundFile]:
    """The meeting and its förbund's file; `lock` holds the meeting's row until commit,
    so two justerare approving at once both count (PostgreSQL; SQLite writers hold
    the file's lock anyway)."""
    m = s.get(Meeting, meeting_id, with_for_update=lock)
    if m is None:
        raise NotFound(f"unknown meeting {meeting_id}", "see 'finsam cycle show --year YEAR'")
    row = s.get(Forbund, m.forbund_id)
    assert row is not None
    return m, forbunds.config_of(row)


def agenda(app: App, meeting_id: int) -> AgendaView:
    """The föredragningslista, the reports the meeting handles and the overviews of their
    kinds (from the reports already read: no statement more)."""
    with read(app) as uow:
        s = uow.session
        m, cfg = load(s, meeting_id)
        items = plan_meetings.agenda_of(s, m, cfg)
        reports = for_meeting(s, m.id, app.clock)
        handled = [
            (r["id"], r["kind"], r["year"], r["name"])
            for r in [*reports["received"], *reports["missing"]]
        ]
        return {
            "meeting": meeting_dict(m, cfg),
            "items": items,
            "reports": reports,
            "overviews": _linked(cfg.forbund.key, handled, items),
        }


# ---------------------------------------------------------------- the overviews among the papers

# an obligation the meeting handles: its id, kind, year and the kind's name
Handled = tuple[int | None, str, int, str]


def overview_url(forbund_key: str, year: int, kind: str, base: str | None = None) -> str:
    """The address of the overview page of one report kind and year in `finsam web`, built
    on FINSAM_BASE_URL (or its default) as every link finsam mails is."""
    root = base if base is not None else base_url()
    return f"{root}/{quote(forbund_key, safe='')}/oversikt/{year}/{quote(kind, safe='')}"


def link_overviews(
    s: Session, forbund_key: str, meeting_id: int | None, items: list[AgendaEntry]
) -> list[OverviewLink]:
    """The overviews of the report kinds a board meeting handles (its obligations, handed in
    or not: the overview names the missing ones too), each report item of `items` given
    its own; one statement whatever the number of reports. The kallelse lists them among
    the handlingar."""
    handled = s.execute(
        sa.select(Obligation.id, Obligation.kind, Obligation.year, Obligation.name).where(
            Obligation.meeting_id == meeting_id, Obligation.state != "cancelled"
        )
    ).all()
    return _linked(forbund_key, [(i, k, y, n) for i, k, y, n in handled], items)


def _linked(
    forbund_key: str, handled: Iterable[Handled], items: list[AgendaEntry]
) -> list[OverviewLink]:
    """One overview per kind and year handled, by year and name; each report item gets the
    address of its own (`overview`). FINSAM_BASE_URL is read only when there is a link to
    build: a meeting without reports needs no address."""
    links: dict[tuple[int, str], OverviewLink] = {}
    by_obligation: dict[int | None, str] = {}
    base: str | None = None
    for obligation, kind, year, name in handled:
        if (year, kind) not in links:
            base = base or base_url()
            url = overview_url(forbund_key, year, kind, base)
            links[year, kind] = {"kind": kind, "year": year, "name": name, "url": url}
        by_obligation[obligation] = links[year, kind]["url"]
    for item in items:
        own = by_obligation.get(item.get("obligation")) if item["kind"] == "report" else None
        if own is not None:
            item["overview"] = own
    return sorted(links.values(), key=lambda o: (o["year"], o["name"], o["kind"]))


def called(cfg: ForbundFile, m: Meeting) -> list[CalledPerson]:
    members = {x.key: x.name for x in cfg.members}
    out: dict[str, CalledPerson] = {}
    for body in cfg.bodies:
        if body.key == m.body or body.key in (m.joint_with or []):
            for p in body.people:
                out.setdefault(
                    p.email.lower(),
                    {
                        "name": p.name,
                        "email": p.email,
                        "role": p.role,
                        "body": body.name,
                        "member": members.get(p.member or "", ""),
                    },
                )
    return list(out.values())


def notice(app: App, meeting_id: int) -> NoticeView:
    """What the kallelse says: who is called, when, where, the agenda and the papers."""
    with read(app) as uow:
        s = uow.session
        m, cfg = load(s, meeting_id)
        if m.status == "cancelled":
            raise UsageError(f"meeting {m.id} is cancelled", "a cancelled meeting has no kallelse")
        items = plan_meetings.agenda_of(s, m, cfg)
        overviews = link_overviews(s, cfg.forbund.key, m.id, items)
        start = m.starts_at.astimezone(LOCAL_TZ)
        chef = next((p.name for b in cfg.bodies for p in b.people if p.role == "förbundschef"), "")
        return {
            "forbund": cfg.forbund.name,
            "meeting": meeting_dict(m, cfg),
            "date": start.date(),
            "called": called(cfg, m),
            "items": items,
            "documents": [i for i in items if i["kind"] in ("plan", "report")],
            "overviews": overviews,
            "sender": chef,
            # the member's page of the meeting, where the papers are read on a phone
            "page": f"{base_url()}/moten/{m.id}",
        }


def appeal_end(posted: date) -> date:
    """The last day of the three weeks a decision can be appealed in, counted from the day
    the notice went up on the anslagstavla (the justering day: finsam shows it from the
    last justerare's approval on); what the protokoll, the protokollsutdrag and the
    anslagstavla say, so it is computed here only."""
    return posted + timedelta(days=APPEAL_DAYS)


def stands_on(appeal_ends: date) -> date:
    """The day after the appeal time: the decisions stand (vinner laga kraft) unless
    appealed, and the notice comes down from the anslagstavla."""
    return appeal_ends + timedelta(days=1)


def standing(s: Session, plan_id: int) -> Standing | None:
    """When the board's adoption of a plan stands (vinner laga kraft), as far as known."""
    adopt = s.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.plan_id == plan_id,
            AuditEvent.kind == "decision",
            AuditEvent.outcome == "adopt",
        )
        .order_by(AuditEvent.seq.desc())
    ).first()
    if adopt is None:
        return None
    item = s.scalars(sa.select(AgendaItem).where(AgendaItem.audit_seq == adopt.seq)).first()
    if item is None:
        return {
            "revision": adopt.revision,
            "state": "unknown",
            "note": "the decision is not tied to a meeting in the calendar",
        }
    row = s.scalars(sa.select(Minutes).where(Minutes.meeting_id == item.meeting_id)).first()
    if row is None or row.approved_at is None:
        return {
            "revision": adopt.revision,
            "meeting": item.meeting_id,
            "state": "not_approved",
            "note": "the minutes are not approved (justerade) yet",
        }
    stands = stands_on(date.fromisoformat(row.appeal_ends or "")).isoformat()
    return {
        "revision": adopt.revision,
        "meeting": item.meeting_id,
        "state": "approved",
        "posted_on": row.posted_on,
        "appeal_ends": row.appeal_ends,
        "stands_on": stands,
        "note": f"vinner laga kraft {stands} om beslutet inte överklagas",
    }
