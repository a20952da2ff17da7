"""Sessions of `finsam web`, kept as rows so every process behind a proxy shares them.

A session's id is 32 random bytes in the person's cookie and only its SHA-256
here. It ends when idle longer than FINSAM_SESSION_IDLE_HOURS (8), when older
than FINSAM_SESSION_MAX_DAYS (7), when the person signs out (this session or
all of theirs), or when no förbund file names the person any more. `csrf` is a
random token of the session that every form it posts must carry.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session

from workflow.core.app import App
from workflow.core.exceptions import NotFound
from workflow.core.models import WebSession
from workflow.core.settings import from_env
from workflow.core.uow import UnitOfWork, read, write
from workflow.identity import people
from workflow.identity.people import Person

# last_seen_at is written at most this often: a page view is a read, not a write
TOUCH_EVERY = timedelta(minutes=1)


class SessionSettings(BaseSettings):
    """FINSAM_SESSION_IDLE_HOURS and FINSAM_SESSION_MAX_DAYS."""

    model_config = SettingsConfigDict(env_prefix="FINSAM_SESSION_", extra="ignore")

    idle_hours: float = Field(default=8, gt=0, le=24 * 31)
    max_days: float = Field(default=7, gt=0, le=366)

    @property
    def idle(self) -> timedelta:
        return timedelta(hours=self.idle_hours)

    @property
    def longest(self) -> timedelta:
        return timedelta(days=self.max_days)


def settings() -> SessionSettings:
    return from_env(SessionSettings, "FINSAM_SESSION_")  # type: ignore[no-any-return]


@dataclass(frozen=True)
class NewSession:
    """What the browser gets at sign-in: the secret for its cookie (nowhere else)."""

    secret: str
    csrf: str
    email: str
    target: str | None = None  # the page to open after sign-in (a mailed link's)


@dataclass(frozen=True)
class Current:
    """A live session and whose it is."""

    id: int
    csrf: str
    person: Person
    created_at: datetime
    method: str = "link"  # how they signed in: "link" (a mailed link) or "oidc"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _expired(row: WebSession, now: datetime, rules: SessionSettings) -> bool:
    return now - row.last_seen_at >= rules.idle or now - row.created_at >= rules.longest


def _forget_expired(s: Session, now: datetime, rules: SessionSettings) -> None:
    s.execute(
        sa.delete(WebSession).where(
            sa.or_(
                WebSession.last_seen_at <= now - rules.idle,
                WebSession.created_at <= now - rules.longest,
            )
        )
    )


def open_in(
    s: Session, email: str, now: datetime, replacing: str | None = None, method: str = "link"
) -> NewSession:
    """A new session for `email` in the caller's write transaction. The session the
    browser had before (`replacing`, its secret) ends: a new id at every sign-in, so an
    id planted before sign-in is worth nothing after it."""
    rules = settings()
    _forget_expired(s, now, rules)
    if replacing:
        s.execute(sa.delete(WebSession).where(WebSession.id_sha256 == digest(replacing)))
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    s.add(
        WebSession(
            id_sha256=digest(secret),
            email=people.normalise(email),
            csrf=csrf,
            created_at=now,
            last_seen_at=now,
            method=method,
        )
    )
    return NewSession(secret=secret, csrf=csrf, email=people.normalise(email))


def start(app: App, email: str, replacing: str | None = None, method: str = "oidc") -> NewSession:
    """A session for a person whom another way has proved (an identity provider's
    verified e-mail): refused when no förbund file or insats names the address."""
    now = app.clock.now()

    def work(uow: UnitOfWork) -> NewSession:
        if people.find(uow.session, email) is None:
            raise NotFound(
                f"no person with e-mail {email!r} in any förbund of this database",
                "a person signs in with the address their förbund file gives",
            )
        return open_in(uow.session, email, now, replacing, method)

    return write(app, work)


def current(app: App, secret: str | None) -> Current | None:
    """The live session whose cookie holds `secret`, or None (unknown, expired, or its
    person is in no förbund file any more). Marks it seen at most once a minute."""
    if not secret or len(secret) > 128:
        return None
    now, rules = app.clock.now(), settings()
    with read(app) as uow:
        row = uow.session.scalars(
            sa.select(WebSession).where(WebSession.id_sha256 == digest(secret))
        ).first()
        if row is None or _expired(row, now, rules):
            return None
        person = people.find(uow.session, row.email)
        if person is None:
            return None
        found = Current(
            id=row.id or 0,
            csrf=row.csrf,
            person=person,
            created_at=row.created_at,
            method=row.method,
        )
        stale = now - row.last_seen_at >= TOUCH_EVERY
    if stale:
        _touch(app, found.id, now)
    return found


def _touch(app: App, session_id: int, now: datetime) -> None:
    def work(uow: UnitOfWork) -> None:
        uow.session.execute(
            sa.update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now)
        )

    write(app, work)


def end(app: App, secret: str | None) -> str | None:
    """End the session whose cookie holds `secret`; whose it was, or None."""
    if not secret:
        return None

    def work(uow: UnitOfWork) -> str | None:
        s = uow.session
        row = s.scalars(sa.select(WebSession).where(WebSession.id_sha256 == digest(secret))).first()
        if row is None:
            return None
        s.delete(row)
        return row.email

    return write(app, work)


def end_everywhere(app: App, email: str) -> int:
    """End every session of the person (other browsers, a lost phone); how many."""

    def work(uow: UnitOfWork) -> int:
        result = uow.session.execute(
            sa.delete(WebSession).where(WebSession.email == people.normalise(email))
        )
        return int(result.rowcount or 0)

    return write(app, work)
