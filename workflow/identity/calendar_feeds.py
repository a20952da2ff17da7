"""A person's calendar feed: their meetings at a secret address a calendar subscribes to.

The address (`/kalender/<token>.ics`, as `webcal://` for Outlook and Apple, as
https for Google Calendar's "add by URL") carries 32 random bytes, kept only as
SHA-256, so the address can be shown once, when it is made, and a copy of the
database opens nobody's calendar. One feed per person: a new address replaces the
old one (which stops working at once), switching it off deletes it; an unknown and
a switched-off address get the same answer (None here, 404 in the web).

The feed holds every meeting of every body the person sits in, in each of their
förbund (a joint meeting counts for each body in it), from a year back and
everything ahead, cancelled ones as STATUS:CANCELLED. Each event has the UID and
SEQUENCE of the kallelse's invitation (and the same summary and agenda), so the
subscription and the mailed invitations are one event to a calendar, moved and
cancelled in place. It is built with a fixed number of statements, however many
meetings, agendas and reports there are: the meetings in one, their plans and
their reports in one each.

Who may have a feed is who may sign in: a person a förbund file or an insats
names. A project leader sits in no body, so their feed is empty but valid; a
person no file names any more gets None, as for an unknown address. A feed is a
person's own setting, not a change of any förbund's data, so it is not audited.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from notifications.ics import calendar_bytes
from workflow.core.app import App
from workflow.core.models import (
    CalendarFeed,
    Forbund,
    Insats,
    Meeting,
    Obligation,
)
from workflow.core.uow import UnitOfWork, read, write
from workflow.cycle import agenda, placement
from workflow.cycle.meetings import meeting_dict
from workflow.cycle.views import ReceivedReport
from workflow.identity import people
from workflow.identity.people import Person
from workflow.mail.links import token_sha256

PATH = "/kalender"
TOKEN_BYTES = 32
LONGEST_TOKEN = 128  # anything longer is nobody's token, refused before hashing
# how far back the feed reaches: a year of meetings (everything ahead is in it)
BACK = timedelta(days=365)
# last_used_at is written at most this often: a calendar asks every few minutes
TOUCH_EVERY = timedelta(hours=1)
# the reports a board reads at its meeting (as the kallelse lists them)
RECEIVED = ("submitted", "approved")


@dataclass(frozen=True)
class NewFeed:
    """A feed just made: its token, to be shown once and never again."""

    token: str
    created_at: datetime


@dataclass(frozen=True)
class FeedInfo:
    """What the person's page may say of a feed that exists (never its address)."""

    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class FeedAddress:
    """The feed's address for a calendar: `webcal` subscribes in Outlook and Apple's
    calendars, `web` (the site's own scheme) is what Google Calendar takes."""

    webcal: str
    web: str


def address(base_url: str, token: str) -> FeedAddress:
    """The addresses of the feed with this token on the site at `base_url`."""
    scheme, _, rest = base_url.partition("://")
    where = f"{rest}{PATH}/{token}.ics"
    return FeedAddress(webcal=f"webcal://{where}", web=f"{scheme}://{where}")


def info(app: App, email: str) -> FeedInfo | None:
    """The person's feed, if they have one."""
    with read(app) as uow:
        row = _of(uow.session, email)
        return None if row is None else FeedInfo(row.created_at, row.last_used_at)


def create(app: App, email: str) -> NewFeed:
    """A new feed for the person; an earlier one's address stops working."""
    now = app.clock.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)

    def work(uow: UnitOfWork) -> NewFeed:
        s = uow.session
        row = _of(s, email)
        if row is None:
            row = CalendarFeed(email=people.normalise(email), token_sha256="", created_at=now)
            s.add(row)
        row.token_sha256 = token_sha256(token)
        row.created_at, row.last_used_at = now, None
        return NewFeed(token, now)

    return write(app, work)


def revoke(app: App, email: str) -> bool:
    """Switch the person's feed off; whether there was one."""

    def work(uow: UnitOfWork) -> bool:
        gone = uow.session.execute(
            sa.delete(CalendarFeed).where(CalendarFeed.email == people.normalise(email))
        )
        return bool(gone.rowcount)

    return write(app, work)


def _of(s: Session, email: str) -> CalendarFeed | None:
    query = sa.select(CalendarFeed).where(CalendarFeed.email == people.normalise(email))
    return s.scalars(query).first()


def feed(app: App, token: str) -> bytes | None:
    """The iCalendar of the feed with this token, or None when no live feed of a person
    has it. Notes when the feed was last asked for, at most once per TOUCH_EVERY."""
    if not token or len(token) > LONGEST_TOKEN:
        return None
    now, digest = app.clock.now(), token_sha256(token)
    with read(app) as uow:
        s = uow.session
        row = s.scalars(sa.select(CalendarFeed).where(CalendarFeed.token_sha256 == digest)).first()
        if row is None:
            return None
        person = people.find(s, row.email)
        if person is None:
            return None
        events = events_of(s, person, now)
        used = row.last_used_at
    if used is None or now - used >= TOUCH_EVERY:
        _touch(app, digest, now)
    return calendar_bytes(f"Sammanträden – {person.name}", events, now)


def _touch(app: App, digest: str, now: datetime) -> None:
    """last_used_at, unless another request wrote it within the hour (or the feed is gone)."""

    def work(uow: UnitOfWork) -> None:
        uow.session.execute(
            sa.update(CalendarFeed)
            .where(
                CalendarFeed.token_sha256 == digest,
                sa.or_(
                    CalendarFeed.last_used_at.is_(None),
                    CalendarFeed.last_used_at <= now - TOUCH_EVERY,
                ),
            )
            .values(last_used_at=now)
        )

    write(app, work)


# ---------------------------------------------------------------- the events


def events_of(s: Session, person: Person, now: datetime) -> list[dict[str, Any]]:
    """The person's meetings from BACK ago on, as `calendar_bytes` takes them: each with
    the summary and agenda its kallelse's invitation carries (three statements)."""
    bodies = {m.forbund_key: {b for b, _ in m.actor.memberships} for m in person.memberships}
    if not bodies:
        return []
    cfgs = {m.forbund_key: m.cfg for m in person.memberships}
    window = (
        sa.select(Meeting.id)
        .join(Forbund, Forbund.id == Meeting.forbund_id)
        .where(Forbund.key.in_(bodies), Meeting.starts_at >= now - BACK)
    )
    rows = s.execute(
        sa.select(Meeting, Forbund.key)
        .join(Forbund, Forbund.id == Meeting.forbund_id)
        .where(Meeting.id.in_(window.scalar_subquery()))
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    plans, reports = placement.plans_on(s, window.scalar_subquery()), _reports_on(s, window)
    events = []
    for m, key in rows:
        if not {m.body, *(m.joint_with or [])} & bodies[key]:
            continue
        data = meeting_dict(m, cfgs[key])
        items = agenda.items(data, plans.get(m.id or 0, []), reports.get(m.id or 0, []))
        events.append(
            {
                **data,
                # as workflow.mail.compose's kallelse names it in its invitation
                "summary": f"{data['body_name']}: {data['theme'] or 'sammanträde'}",
                "description": "\n".join(f"{i['number']}. {i['title']}" for i in items),
            }
        )
    return events


def _reports_on(s: Session, window: sa.Select[tuple[int]]) -> dict[int, list[ReceivedReport]]:
    """The reports handed in for the meetings in `window`, as the kallelse lists them."""
    rows = s.execute(
        sa.select(Obligation, Insats.name)
        .join(Insats, Insats.id == Obligation.insats_id)
        .where(Obligation.meeting_id.in_(window.scalar_subquery()), Obligation.state.in_(RECEIVED))
        .order_by(Obligation.kind, Insats.name)
    ).all()
    out: dict[int, list[ReceivedReport]] = {}
    for o, insats in rows:
        meeting_id = o.meeting_id or 0
        out.setdefault(meeting_id, []).append(
            {"id": o.id, "title": f"{o.name} {o.year}: {insats}", "state": o.state}
        )
    return out
