"""The public anslagstavla: the notices (anslag) of a förbund's justerade protokoll.

Kommunallagen (8 kap. 12 §) wants the justering of a protokoll announced on the
anslagstavla, saying where the protokoll is kept and on which day the notice went
up, and the notice left there until the three weeks of appeal (13 kap.) are over.
finsam's anslagstavla shows a notice from the moment the last justerare approves
the minutes, so the day it went up is the justering day itself (the local date
of `Minutes.approved_at`), well within the two days the law allows; `justera`
counts the three weeks of appeal from that day (`papers.appeal_end`), and the
notice comes down the day after them, the day the decisions stand
(`papers.stands_on`): one calculation for the protokoll, the protokollsutdrag,
the members' "vinner laga kraft" and the anslagstavla.

Everything here is public: a notice names a body, a meeting, dates, where the
protokoll is kept and its address; the protokoll as published names its people
and their roles as the minutes do, and nothing more (no e-mail address, no
member organisation, no approvals' times). Only justerade protokoll are public:
any other meeting, or another förbund's, is an unknown page.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import NotRequired, TypedDict
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import NotFound
from workflow.core.models import Forbund, Meeting, Minutes
from workflow.core.settings import base_url
from workflow.core.text import LIMITS
from workflow.core.uow import read
from workflow.cycle import papers, protokoll
from workflow.cycle.views import AgendaEntry, Approval, MeetingView, MinutesView, Quorum
from workflow.forbund import registry as forbunds
from workflow.forbund.file import KEY_PATTERN, ForbundFile

# the notices the feed carries, newest first: a reader polls for what is new
FEED_SIZE = 50
# ids a database can hold (a 64-bit integer): anything past them is asked for nowhere,
# and binding it would fail instead of finding nothing
IDS = range(1, 2**63)


@dataclass(frozen=True)
class Notice:
    """One notice: the justering of one meeting's protokoll."""

    meeting_id: int
    uid: str  # the meeting's, which never changes: the notice's id in the feed follows it
    body_name: str
    meeting_date: date
    approved_at: datetime  # when the last justerare approved: the notice went up
    up_on: date  # the justering day, local time
    appeal_ends: date  # the last day to appeal, as the protokoll says
    down_on: date  # the day the notice comes down: the decisions stand unless appealed
    kept_at: str
    path: str  # the protokoll as published, on this site

    @property
    def feed_id(self) -> str:
        """A stable URN for the notice: its meeting's UID never changes, the site's
        address may."""
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'finsam:anslag:{self.uid}')}"


@dataclass(frozen=True)
class Board:
    """A förbund's anslagstavla as it stands today (by the app's clock)."""

    forbund_key: str
    forbund_name: str
    kept_at: str
    today: date
    updated_at: datetime  # the newest notice's going up, else the förbund's last change
    notices: list[Notice]  # every justerat protokoll's, the newest first

    @property
    def current(self) -> list[Notice]:
        """The notices up today, the newest first."""
        return [n for n in self.notices if self.today < n.down_on]

    @property
    def archive(self) -> list[Notice]:
        """The notices down already (their appeal time is over), the newest first."""
        return [n for n in self.notices if self.today >= n.down_on]

    @property
    def newest(self) -> list[Notice]:
        """What the Atom feed carries: the newest notices, up or down."""
        return self.notices[:FEED_SIZE]

    @property
    def feed_id(self) -> str:
        key = f"finsam:anslagstavla:{self.forbund_key}"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}"


class PublicApproval(TypedDict):
    """A justerare's approval as the protokoll states it: who, when, how signed in."""

    name: str
    at_local: str
    via: str


class PublicPerson(TypedDict):
    """Someone in the published protokoll: the name and role the minutes give, no more
    (and a justerare's approval, once given)."""

    name: str
    role: str
    approval: NotRequired[PublicApproval | None]


class PublicAttendee(TypedDict):
    """Someone in the published protokoll's attendance: name, role, how they attended."""

    name: str
    role: str
    member: str
    status: str
    seat: str
    serving_for_name: str | None


class PublishedMinutes(TypedDict):
    """The protokoll as published (or as it will be, to its justerare):
    `protokoll.minutes` without what is not public (e-mail addresses, the audit
    trail's head, which changes with every later change, the change requests)."""

    forbund: str
    meeting: MeetingView
    date: date
    present: list[PublicPerson]
    justerare: list[PublicPerson]
    attendance: list[PublicAttendee]
    approvals: list[PublicApproval]
    approved: bool
    posted_on: date | None
    appeal_ends: date | None
    items: list[AgendaEntry]
    audit_head: None
    quorum: Quorum | None
    revision: int
    content_sha256: str | None
    notice: Notice | None


# ---------------------------------------------------------------- addresses


def board_path(forbund_key: str) -> str:
    return f"/{quote(forbund_key, safe='')}/anslagstavla"


def feed_path(forbund_key: str) -> str:
    return f"{board_path(forbund_key)}.atom"


def protokoll_path(forbund_key: str, meeting_id: int) -> str:
    return f"/{quote(forbund_key, safe='')}/protokoll/{meeting_id}"


def board_url(forbund_key: str, base: str | None = None) -> str:
    """The anslagstavla's address, built on FINSAM_BASE_URL (or its default) as every
    link finsam mails is: the protokollsutdrag give it."""
    return f"{base if base is not None else base_url()}{board_path(forbund_key)}"


def kept_at(cfg: ForbundFile) -> str:
    """Where the förbund keeps its protokoll: `[minutes] kept_at`, or its kansli."""
    return cfg.minutes.kept_at or f"Förbundets kansli, {cfg.forbund.name}"


# ---------------------------------------------------------------- the board


def board(app: App, forbund_key: str) -> Board:
    """The förbund's notices, those up today and the archive: two statements whatever
    the number of meetings (the förbund, and its justerade protokoll)."""
    now = app.clock.now()
    today = now.astimezone(LOCAL_TZ).date()
    with read(app) as uow:
        s = uow.session
        row = _forbund(s, forbund_key)
        cfg = forbunds.config_of(row)
        notices = _notices(s, row, cfg, now, None)
        return Board(
            forbund_key=row.key,
            forbund_name=cfg.forbund.name,
            kept_at=kept_at(cfg),
            today=today,
            updated_at=notices[0].approved_at if notices else row.updated_at,
            notices=notices,
        )


def _forbund(s: Session, forbund_key: str) -> Forbund:
    """The förbund by its key; an unknown one is an unknown page, and a public page does
    not list the keys there are (as the CLI's `resolve` does)."""
    row = None
    if len(forbund_key) <= LIMITS["key"] and re.fullmatch(KEY_PATTERN, forbund_key):
        row = s.scalars(sa.select(Forbund).where(Forbund.key == forbund_key)).first()
    if row is None:
        raise NotFound("Det finns inget samordningsförbund med den adressen.")
    return row


def _notices(
    s: Session, row: Forbund, cfg: ForbundFile, now: datetime, meeting_id: int | None
) -> list[Notice]:
    """The förbund's justerade protokoll (only `meeting_id`'s when given), the newest
    first: one statement."""
    query = (
        sa.select(
            Meeting.id,
            Meeting.uid,
            Meeting.body,
            Meeting.starts_at,
            Minutes.approved_at,
            Minutes.appeal_ends,
        )
        .join(Minutes, Minutes.meeting_id == Meeting.id)
        .where(
            Meeting.forbund_id == row.id,
            Minutes.approved_at.is_not(None),
            Minutes.approved_at <= now,
        )
        .order_by(Minutes.approved_at.desc(), Meeting.id.desc())
    )
    if meeting_id is not None:
        query = query.where(Meeting.id == meeting_id)
    names = {b.key: b.name for b in cfg.bodies}
    where = kept_at(cfg)
    found = []
    for m_id, uid, body, starts_at, approved_at, appeal_ends in s.execute(query):
        ends = date.fromisoformat(appeal_ends)
        found.append(
            Notice(
                meeting_id=m_id,
                uid=uid,
                body_name=names.get(body, body),
                meeting_date=starts_at.astimezone(LOCAL_TZ).date(),
                approved_at=approved_at,
                up_on=approved_at.astimezone(LOCAL_TZ).date(),
                appeal_ends=ends,
                down_on=papers.stands_on(ends),
                kept_at=where,
                path=protokoll_path(row.key, m_id),
            )
        )
    return found


# ---------------------------------------------------------------- the protokoll as published


def published(app: App, forbund_key: str, meeting_id: int) -> PublishedMinutes:
    """The justerat protokoll of one of the förbund's meetings, as the public may read it;
    NotFound for a meeting of another förbund and for minutes not justerade (or none)."""
    with read(app) as uow:
        s = uow.session
        row = _forbund(s, forbund_key)
        cfg = forbunds.config_of(row)
        now = app.clock.now()
        notice = _notices(s, row, cfg, now, meeting_id)[0:1] if meeting_id in IDS else []
    if not notice:
        raise NotFound(f"Det finns inget justerat protokoll med nummer {meeting_id} här.")
    return public(protokoll.minutes(app, meeting_id), notice[0])


def public(view: MinutesView, notice: Notice | None = None) -> PublishedMinutes:
    """The protokoll as the public reads it (and its justerare before it is justerat):
    names, roles and organisations as the minutes give them, no e-mail address."""
    return {
        "forbund": view["forbund"],
        "meeting": view["meeting"],
        "date": view["date"],
        "present": [_public(p["name"], p["role"]) for p in view["present"]],
        "justerare": [
            {**_public(p["name"], p["role"]), "approval": _approval(p.get("approval"))}
            for p in view["justerare"]
        ],
        "attendance": [
            {
                "name": p["name"],
                "role": p["role"],
                "member": p["member"],
                "status": p["status"],
                "seat": p["seat"],
                "serving_for_name": p["serving_for_name"],
            }
            for p in view["attendance"]
        ],
        "approvals": [a for a in map(_approval, view["approvals"]) if a is not None],
        "approved": view["approved"],
        "posted_on": view["posted_on"],
        "appeal_ends": view["appeal_ends"],
        "items": view["items"],
        "audit_head": None,
        "quorum": view["quorum"],  # counts only: how many sat, not who
        "revision": view["revision"],
        "content_sha256": view["content_sha256"],
        "notice": notice,
    }


def _approval(a: Approval | None) -> PublicApproval | None:
    if a is None:
        return None
    return {"name": a.get("name", ""), "at_local": a.get("at_local", ""), "via": a.get("via", "")}


def _public(name: str, role: str) -> PublicPerson:
    return {"name": name, "role": role}
