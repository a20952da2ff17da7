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
from datetime import date, datetime, timedelta
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.events import MinutesApproved
from workflow.core import audit
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import NotAllowed, NotFound, UsageError
from workflow.core.models import AgendaItem, AuditEvent, Forbund, Meeting, Minutes, Obligation
from workflow.core.settings import base_url
from workflow.core.text import single_line
from workflow.core.uow import UnitOfWork, read, write
from workflow.cycle import placement as plan_meetings
from workflow.cycle.meetings import audit_meeting, meeting_dict
from workflow.cycle.views import (
    AgendaEntry,
    AgendaView,
    CalledPerson,
    Decision,
    MinutesView,
    NoticeView,
    OverviewLink,
    Quorum,
    Standing,
)
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.reports.obligations import for_meeting

APPEAL_DAYS = 21
JUSTERARE = "justerare"  # the role an approval of the minutes is made in


def _load(s: Session, meeting_id: int, *, lock: bool = False) -> tuple[Meeting, ForbundFile]:
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
        m, cfg = _load(s, meeting_id)
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
        m, cfg = _load(s, meeting_id)
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
        }


def _minutes(s: Session, m: Meeting) -> Minutes | None:
    return s.scalars(sa.select(Minutes).where(Minutes.meeting_id == m.id)).first()


def _recorded_minutes(s: Session, m: Meeting) -> Minutes:
    row = _minutes(s, m)
    if row is None:
        raise NotFound(
            f"meeting {m.id} has no minutes yet",
            f"record them first: finsam meeting minutes {m.id} --present EMAIL ... "
            "--justerare EMAIL",
        )
    return row


def _emails(values: list[str], option: str) -> list[str]:
    """The addresses given, each one line of an e-mail's length (they end up in messages)."""
    return [single_line(v.strip(), option, "email") for v in values]


def record_minutes(
    app: App,
    meeting_id: int,
    present: list[str],
    justerare: list[str],
    *,
    actor_email: str | None,
) -> MinutesView:
    """Record who was present and who checks the minutes (`minutes` permission, audited)."""
    now = app.clock.now()
    present = _emails(present, "--present")
    justerare = _emails(justerare, "--justerare")

    def work(uow: UnitOfWork) -> None:
        s = uow.session
        m, cfg = _load(s, meeting_id, lock=True)
        who, role = forbunds.authorise(cfg, actor_email, "minutes")
        if m.starts_at > now:
            raise UsageError(
                f"meeting {m.id} has not taken place yet", "minutes are recorded after the meeting"
            )
        people = {p["email"].lower() for p in called(cfg, m)}
        for email in [*present, *justerare]:
            if email.lower() not in people:
                raise NotFound(
                    f"{email} is not called to meeting {m.id}",
                    f"called: {', '.join(sorted(people))}",
                )
        if not justerare:
            raise UsageError("the minutes need at least one justerare", "give --justerare EMAIL")
        if not set(map(str.lower, justerare)) <= set(map(str.lower, present)):
            raise UsageError("a justerare must be among those present", "add them to --present")
        existing = _minutes(s, m)
        if existing is not None and existing.approvals:
            raise NotAllowed(
                f"the minutes of meeting {m.id} are being approved already",
                "approved minutes do not change",
            )
        row = existing or Minutes(meeting_id=m.id, recorded_at=now)
        row.present = [e.lower() for e in present]
        row.justerare = [e.lower() for e in justerare]
        row.recorded_at = now
        s.add(row)
        audit_meeting(
            s,
            cfg,
            m,
            from_state=m.status,
            at=now,
            who=who,
            role=role,
            action="minutes",
            to_state="minutes recorded",
            comment=f"{'re-recorded' if existing else 'recorded'} the minutes: "
            f"present {', '.join(row.present)}; justerare {', '.join(row.justerare)}",
        )

    write(app, work)
    return minutes(app, meeting_id)


def minutes(app: App, meeting_id: int) -> MinutesView:
    """The protokoll: attendance, justerare, and each § with what was decided there."""
    with read(app) as uow:
        s = uow.session
        m, cfg = _load(s, meeting_id)
        row = _recorded_minutes(s, m)
        items = plan_meetings.agenda_of(s, m, cfg)
        offset = plan_meetings.paragraph_offset(s, m, cfg)
        decisions = _decisions(s, m)
        names = {p["email"].lower(): p for p in called(cfg, m)}
        for item in items:
            item["decision"] = decisions.get(item.get("plan")) if item["kind"] == "plan" else None
            given = item["decision"]["paragraph"] if item["decision"] else None
            item["paragraph"] = given or str(offset + item["number"])
        return {
            "forbund": cfg.forbund.name,
            "meeting": meeting_dict(m, cfg),
            "date": m.starts_at.astimezone(LOCAL_TZ).date(),
            "present": [names[e] for e in row.present if e in names],
            "justerare": [names[e] for e in row.justerare if e in names],
            "approvals": row.approvals,
            "approved": row.approved_at is not None,
            "posted_on": date.fromisoformat(row.posted_on) if row.posted_on else None,
            "appeal_ends": date.fromisoformat(row.appeal_ends) if row.appeal_ends else None,
            "items": items,
            # the förbund's own chain's head (issue 14) as it stood when the meeting ended
            "audit_head": audit.forbund_head_at(s, cfg.forbund.key, _end(m)),
            "quorum": quorum(cfg, m, row.present),
        }


def _end(m: Meeting) -> datetime:
    return m.starts_at + timedelta(minutes=m.duration_minutes)


def quorum(cfg: ForbundFile, m: Meeting, present: list[str]) -> Quorum | None:
    """Whether the meeting was beslutsför: the ledamöter of its body present, and the
    ersättare present serving for absent ones (as many as seats are empty), against the
    förbund file's share of the seats; None for a body other than the board (the one
    that decides) or a board without seats."""
    rules = cfg.minutes
    if m.body != cfg.board_body():  # the body that decides; the others prepare
        return None
    body = next((b for b in cfg.bodies if b.key == m.body), None)
    people = body.people if body is not None else []
    seats = {p.email.lower() for p in people if p.role in rules.seats}
    if not seats:
        return None
    here = {e.lower() for e in present}
    substitutes = {p.email.lower() for p in people if p.role in rules.substitutes}
    sitting = len(seats & here)
    serving = min(len(substitutes & here), len(seats) - sitting)
    needed = len(seats) * rules.quorum_percent // 100 + 1  # more than the share
    return {
        "seats": len(seats),
        "present": sitting,
        "serving": serving,
        "needed": needed,
        "quorate": sitting + serving >= needed,
    }


def _decisions(s: Session, m: Meeting) -> dict[int, Decision]:
    """What the audit trail says was decided on each plan at this meeting."""
    out: dict[int, Decision] = {}
    for item in s.scalars(
        sa.select(AgendaItem).where(AgendaItem.meeting_id == m.id, AgendaItem.status == "handled")
    ):
        if item.audit_seq is None:
            continue
        row = s.scalars(sa.select(AuditEvent).where(AuditEvent.seq == item.audit_seq)).one()
        out[item.plan_id] = {
            "action": row.action,
            "kind": row.kind,
            "outcome": row.outcome,
            "comment": row.comment,
            "paragraph": row.paragraph,
            "revision": row.revision,
        }
    return out


def justera(app: App, meeting_id: int, email: str | None) -> MinutesView:
    """A justerare approves the minutes; with the last approval the appeal clock starts.

    Each approval is the justerare's own audit row; the last one says that the
    minutes now stand and when the appeal time ends.
    """
    if not email:
        raise UsageError(
            "who approves? nobody was named",
            "give --as EMAIL (or set FINSAM_USER) to the e-mail of a justerare",
        )
    now = app.clock.now()
    email = single_line(email.strip(), "--as", "email").lower()

    def work(uow: UnitOfWork) -> None:
        s = uow.session
        m, cfg = _load(s, meeting_id, lock=True)
        row = _recorded_minutes(s, m)
        if email not in row.justerare:
            raise NotAllowed(
                f"{email} is not a justerare of meeting {m.id}",
                f"justerare: {', '.join(row.justerare)}",
            )
        who = forbunds.actor(cfg, email)
        if any(a["email"] == email for a in row.approvals):
            raise UsageError(f"{email} has approved these minutes already")
        row.approvals = [*row.approvals, {"email": email, "at": now.isoformat()}]
        done = len({a["email"] for a in row.approvals} & set(row.justerare))
        comment = f"approved the minutes ({done} of {len(row.justerare)} justerare)"
        to_state = "minutes approved in part"
        if {a["email"] for a in row.approvals} >= set(row.justerare):
            row.approved_at = now
            approved = now.astimezone(LOCAL_TZ).date()
            posted = approved  # finsam's anslagstavla shows the notice from this moment
            ends = appeal_end(posted)
            row.posted_on = posted.isoformat()
            row.appeal_ends = ends.isoformat()
            to_state = "minutes approved"
            comment += (
                f"; the minutes stand: notice up on {posted.isoformat()}, the appeal time "
                f"runs until {ends.isoformat()}"
            )
            s.add(row)
            s.flush()
            # the members hear of the board's decisions once the minutes stand
            uow.record(
                MinutesApproved(meeting_id=m.id, approved=approved, appeal_ends=ends, at=now)
            )
        s.add(row)
        audit_meeting(
            s,
            cfg,
            m,
            from_state=m.status,
            at=now,
            who=who,
            role=JUSTERARE,
            action="justera",
            to_state=to_state,
            comment=comment,
        )

    write(app, work)
    return minutes(app, meeting_id)


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
