"""What a person's start page in the browser shows, per förbund of theirs.

An editor (the förbund file's `editors`, the förbundschef by default) gets the
desk: the next meetings with their agendas, the plans with their state and the
actions open to them, late and returned reports, failed or waiting mail. Anyone
else: the plans, those waiting for a body they sit in first, and the next
meetings of their bodies. Everything is read through the services the CLI uses; mail is the
förbund's own (the outbox holds every förbund's), so nobody sees another's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.roles import RoleSpec
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import NotFound
from workflow.core.models import Forbund, Meeting, OutboxMessage
from workflow.core.uow import read
from workflow.cycle import placement
from workflow.identity import tenancy
from workflow.identity.people import Membership, Person
from workflow.mail import delivery
from workflow.mail.views import MessageView
from workflow.plans import services as plans
from workflow.plans.views import PlanView
from workflow.reports import obligations
from workflow.reports.views import ObligationView

NEXT_MEETINGS = 4
MAIL_SHOWN = ("failed", "queued", "draft")


@dataclass(frozen=True)
class MeetingAhead:
    id: int
    when: str  # "2027-09-06 11:00"
    body: str
    theme: str
    agenda: list[str]


@dataclass(frozen=True)
class PlanOnDesk:
    plan: PlanView
    mine: list[str]  # the labels of the actions open to me
    waits_for_me: bool  # it lies before a body I sit in


@dataclass
class Desk:
    membership: Membership
    editor: bool
    meetings: list[MeetingAhead] = field(default_factory=list)
    plans: list[PlanOnDesk] = field(default_factory=list)
    reports: list[ObligationView] = field(default_factory=list)
    mail: list[MessageView] = field(default_factory=list)


def is_editor(m: Membership) -> bool:
    return m.actor.matching(tuple(RoleSpec.parse(s) for s in m.cfg.editors)) is not None


def desks(app: App, person: Person) -> list[Desk]:
    """One desk per förbund of the person, in the order of the förbund's keys."""
    year = app.clock.now().astimezone(LOCAL_TZ).year
    return [_desk(app, person, m, year) for m in person.memberships]


def _desk(app: App, person: Person, m: Membership, year: int) -> Desk:
    editor = is_editor(m)
    bodies = {body for body, _ in m.actor.memberships}
    desk = Desk(m, editor)
    states = m.cfg.workflow_def.states
    # the plans waiting for my bodies first, then the förbund's others in order
    # the plans running this year or the next: older ones are on /plans?year=
    for p in plans.list_plans(app, forbund_key=m.forbund_key, years=tenancy.window(year)):
        mine = _actions_of(m, p)
        state = states.get(p["state"])
        waits_for_mine = state is not None and state.body in bodies
        desk.plans.append(PlanOnDesk(p, mine, waits_for_mine))
    desk.plans.sort(key=lambda d: not (d.waits_for_me or d.mine))
    desk.meetings = _meetings_ahead(app, m, None if editor else bodies)
    if editor:
        owed = obligations.status(app, m.forbund_key, year)
        desk.reports = [o for o in owed if o["late"] or o["state"] == "returned"]
        desk.mail = mail_of(app, m.forbund_key)
    return desk


def _actions_of(m: Membership, p: PlanView) -> list[str]:
    wf = m.cfg.workflow_def
    if p["state"] not in wf.states:
        return []
    return [a.label for a in wf.actions_from(p["state"]) if m.actor.matching(tuple(a.roles))]


def _meetings_ahead(app: App, m: Membership, bodies: set[str] | None) -> list[MeetingAhead]:
    now = app.clock.now()
    with read(app) as uow:
        s = uow.session
        fid = _forbund_id(s, m.forbund_key)
        query = (
            sa.select(Meeting)
            .where(Meeting.forbund_id == fid, Meeting.status == "planned", Meeting.starts_at >= now)
            .order_by(Meeting.starts_at)
        )
        found: list[MeetingAhead] = []
        names = {b.key: b.name for b in m.cfg.bodies}
        for meeting in s.scalars(query):
            sits = {meeting.body, *(meeting.joint_with or [])}
            if bodies is not None and not sits & bodies:
                continue
            found.append(_ahead(s, meeting, names, now))
            if len(found) == NEXT_MEETINGS:
                break
        return found


def _ahead(s: Session, meeting: Meeting, names: dict[str, str], now: datetime) -> MeetingAhead:
    when = meeting.starts_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    agenda = [a["title"] for a in placement.agenda_of(s, meeting)]
    return MeetingAhead(meeting.id or 0, when, names.get(meeting.body, meeting.body),
                        meeting.theme, agenda)  # fmt: skip


def _forbund_id(s: Session, key: str) -> int:
    fid = s.scalars(sa.select(Forbund.id).where(Forbund.key == key)).first()
    if fid is None:
        raise NotFound(f"unknown förbund {key!r}")
    return fid


def mail_of(app: App, forbund_key: str) -> list[MessageView]:
    """The förbund's failed or waiting messages, newest first."""
    with read(app) as uow:
        rows = uow.session.scalars(
            sa.select(OutboxMessage)
            .where(
                OutboxMessage.forbund_key == forbund_key,
                OutboxMessage.state.in_(MAIL_SHOWN),
                # a sign-in link is its person's alone
                OutboxMessage.kind != "signin",
            )
            .order_by(OutboxMessage.id.desc())
            .limit(50)
        )
        return [delivery.message_dict(r) for r in rows]


def forbund_of_message(app: App, message_id: int) -> str | None:
    """The förbund whose message this is (None when there is none by that id)."""
    if not 0 < message_id < 2**63:
        return None
    with read(app) as uow:
        row = uow.session.get(OutboxMessage, message_id)
        return row.forbund_key if row is not None else None
