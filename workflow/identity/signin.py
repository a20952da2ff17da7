"""Signing in by a one-time link sent by e-mail.

Asking for a link has two steps, so that the answer cannot tell a known address
from an unknown one, not even by its timing: `admit` counts the request against
the rate limits (the same work for every address), and the answer goes back at
once; `send_link` then, after the answer, looks the address up and, for a person
of some förbund, queues the link through the outbox (the normal delivery sends
it). The limits, counted in the database so every process shares them:
PER_ADDRESS requests per address and PER_CLIENT per client in WINDOW. Over the
address limit nothing is sent and the answer is the usual one; over the client
limit the answer is 429 (it says nothing about any address).

A link is 32 random bytes, kept only as SHA-256, valid LINK_VALID by the app's
clock, and redeemed once, by a POST from the page it opens (a mail scanner that
fetches the link does not use it up). A link may open a page after sign-in (its
`target`): the personal links of reminders and other report mails
(`workflow.mail.links`), which live longer. Such a link, once expired or used,
can ask for a fresh one to the same address and page (`send_fresh`), counted
against the same limits; expired links are kept KEEP_EXPIRED for that.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.app import App
from workflow.core.models import SigninAttempt, SigninLink
from workflow.core.uow import UnitOfWork, read, write
from workflow.forbund import registry as forbunds
from workflow.identity import people, sessions
from workflow.identity.sessions import NewSession
from workflow.mail import compose, links

LINK_VALID = timedelta(minutes=15)
WINDOW = timedelta(minutes=15)
PER_ADDRESS = 5
PER_CLIENT = 20
KIND = "signin"  # the outbox kind and the mail templates' name
REF_DIGITS = 56  # of the token's SHA-256 in the outbox's ref (which holds 64 characters)
KEEP_EXPIRED = timedelta(days=30)  # a link that opens a page offers a fresh one this long


class Admission(StrEnum):
    OK = "ok"
    ADDRESS_LIMIT = "address-limit"  # answered as usual, nothing sent
    CLIENT_LIMIT = "client-limit"  # answered 429


def _sha(text: str) -> str:
    return links.token_sha256(text)


def admit(app: App, email: str, client: str) -> Admission:
    """Count a request for a link from `client` for `email` against the limits."""
    now = app.clock.now()
    address, who = _sha(people.normalise(email)), _sha(client)

    def work(uow: UnitOfWork) -> Admission:
        s = uow.session
        since = now - WINDOW
        s.execute(sa.delete(SigninAttempt).where(SigninAttempt.at <= since))
        by_client = _count(s, SigninAttempt.client_sha256 == who, since)
        by_address = _count(s, SigninAttempt.address_sha256 == address, since)
        s.add(SigninAttempt(at=now, address_sha256=address, client_sha256=who))
        if by_client >= PER_CLIENT:
            return Admission.CLIENT_LIMIT
        if by_address >= PER_ADDRESS:
            return Admission.ADDRESS_LIMIT
        return Admission.OK

    return write(app, work)


def _count(s: Session, which: sa.ColumnElement[bool], since: datetime) -> int:
    query = sa.select(sa.func.count()).select_from(SigninAttempt)
    return int(s.scalar(query.where(which, SigninAttempt.at > since)) or 0)


@dataclass(frozen=True)
class Sent:
    """A link queued: the outbox row and the person (never the token)."""

    outbox_id: int
    email: str
    forbund_key: str


def _ref(link: SigninLink) -> str:
    """The link's name in the outbox (its key and ref): from its token's hash, never its id,
    which SQLite hands out again once the expired links are swept away."""
    return f"{KIND}:{link.token_sha256[:REF_DIGITS]}"


def send_link(app: App, email: str, base_url: str, target: str | None = None) -> Sent | None:
    """Queue a sign-in link to `email` when a förbund file or an insats names it; None
    otherwise. The mail goes out from the person's first förbund (by key), in its name.
    `target`: the page the link opens after sign-in (a report's page)."""
    now = app.clock.now()

    def work(uow: UnitOfWork) -> Sent | None:
        s = uow.session
        person = people.find(s, email)
        if person is None:
            return None
        _forget_old(s, now)
        link = links.PersonalLink(
            secrets.token_urlsafe(32), person.email, links.safe_target(target), now + LINK_VALID
        )
        row = link.row(now)
        s.add(row)
        s.flush()
        home_key, home_name = person.home
        cfg = forbunds.config_of(forbunds.resolve(s, home_key))
        queued = compose.enqueue(
            s,
            key=_ref(row),
            forbund_key=home_key,
            kind=KIND,
            cfg=cfg,
            to=[(person.name, person.email)],
            cc=None,
            context={
                "name": person.name,
                "forbund": home_name,
                "link": link.url(base_url),
                "minutes": int(LINK_VALID.total_seconds() // 60),
            },
            not_before=now,
            now=now,
            ref=_ref(row),
        )
        assert queued is not None and queued.id is not None  # a new link's key is new
        return Sent(outbox_id=queued.id, email=person.email, forbund_key=home_key)

    return write(app, work)


def _forget_old(s: Session, now: datetime) -> None:
    """Links past any use: a plain one once expired a while, one that opens a page once
    it can no longer offer a fresh one."""
    s.execute(
        sa.delete(SigninLink).where(
            sa.or_(
                sa.and_(SigninLink.target.is_(None), SigninLink.expires_at <= now - LINK_VALID),
                SigninLink.expires_at <= now - KEEP_EXPIRED,
            )
        )
    )


class LinkState(StrEnum):
    USABLE = "usable"
    SPENT = "spent"  # expired or used, and it opens a page: a fresh one can be asked for
    INVALID = "invalid"  # unknown, or a plain sign-in link past use


@dataclass(frozen=True)
class LinkLook:
    state: LinkState
    email: str = ""
    target: str | None = None


def look(app: App, token: str) -> LinkLook:
    """What the link is now, for the page it opens (nothing is used up by looking)."""
    if not token or len(token) > 128:
        return LinkLook(LinkState.INVALID)
    now = app.clock.now()
    with read(app) as uow:
        link = uow.session.scalars(
            sa.select(SigninLink).where(SigninLink.token_sha256 == _sha(token))
        ).first()
        if link is None:
            return LinkLook(LinkState.INVALID)
        target = links.safe_target(link.target)
        if link.used_at is None and link.expires_at > now:
            return LinkLook(LinkState.USABLE, link.email, target)
        if target is not None and link.expires_at > now - KEEP_EXPIRED:
            return LinkLook(LinkState.SPENT, link.email, target)
        return LinkLook(LinkState.INVALID)


def send_fresh(app: App, token: str, client: str, base_url: str) -> Admission | None:
    """A fresh link to the address of a spent link that opens a page, to the same page;
    counted against the limits like any request. None when the link offers none."""
    seen = look(app, token)
    if seen.state is not LinkState.SPENT:
        return None
    admitted = admit(app, seen.email, client)
    if admitted is Admission.OK:
        send_link(app, seen.email, base_url, seen.target)
    return admitted


def _usable(s: Session, token: str, now: datetime) -> SigninLink | None:
    if not token or len(token) > 128:
        return None
    link = s.scalars(sa.select(SigninLink).where(SigninLink.token_sha256 == _sha(token))).first()
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    return link


def valid(app: App, token: str) -> bool:
    """Whether the link can still be used (for the page that asks to confirm it)."""
    return look(app, token).state is LinkState.USABLE


def redeem(app: App, token: str, replacing: str | None = None) -> NewSession | None:
    """Use the link once: a new session for its person (with the page the link opens),
    or None when the link is unknown, used, expired, or its person is in no förbund
    file and no insats any more."""
    now = app.clock.now()

    def work(uow: UnitOfWork) -> NewSession | None:
        s = uow.session
        link = _usable(s, token, now)
        if link is None:
            return None
        used = s.execute(  # compare-and-set: of two browsers racing, one wins
            sa.update(SigninLink)
            .where(SigninLink.id == link.id, SigninLink.used_at.is_(None))
            .values(used_at=now)
        )
        if used.rowcount != 1:
            return None
        if people.find(s, link.email) is None:
            return None
        started = sessions.open_in(s, link.email, now, replacing)
        return dataclasses.replace(started, target=links.safe_target(link.target))

    return write(app, work)
