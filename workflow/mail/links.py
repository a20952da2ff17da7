"""Personal links: a mail that asks somebody to act carries a link that signs them in
and opens the page where they act (a report's page, from a reminder; a meeting's
justering page, from the mail sending its minutes to a justerare).

Such a link is a sign-in link (`workflow.identity.signin` redeems it): 32 random
bytes, kept only as SHA-256 in `signin_link` with the address it signs in and the
page it opens (`target`), used once. It is made where the mail is made, and its
row is written in the transaction that queues the mail, so a mail that is never
queued leaves no usable link behind. It lives longer than a link asked for on the
sign-in page (nobody waits at the screen for a reminder), FINSAM_REPORT_LINK_HOURS
(72 by default); an expired one offers a fresh one by mail from the page it opens.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from workflow.core.exceptions import ConfigError
from workflow.core.models import SigninLink

DEFAULT_HOURS = 72
MAX_HOURS = 24 * 31
# the pages a link may open: finsam's own paths, never another site
TARGET_ROOTS = ("/rapporter", "/moten")


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def valid_for() -> timedelta:
    """How long a mailed personal link signs in: FINSAM_REPORT_LINK_HOURS (1 to 744)."""
    text = os.environ.get("FINSAM_REPORT_LINK_HOURS", "").strip()
    if not text:
        return timedelta(hours=DEFAULT_HOURS)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_HOURS:
        raise ConfigError(
            f"FINSAM_REPORT_LINK_HOURS={text!r} is not a number of hours",
            f"give a whole number from 1 to {MAX_HOURS} (default {DEFAULT_HOURS})",
        )
    return timedelta(hours=int(text))


def safe_target(target: str | None) -> str | None:
    """`target` when it is one of finsam's own pages a link may open, else None."""
    if not target or len(target) > 200:
        return None
    if not any(target == root or target.startswith(root + "/") for root in TARGET_ROOTS):
        return None
    if "//" in target or "\\" in target or any(not c.isprintable() for c in target):
        return None
    if "%" in target or any(part in (".", "..") for part in target.split("/")):
        return None  # /moten/../x and /moten/%2e%2e/x leave /moten
    return target


@dataclass(frozen=True)
class PersonalLink:
    """A new link: its token (only ever in the mail) and what its row will hold."""

    token: str
    email: str
    target: str | None
    expires_at: datetime

    def url(self, base_url: str) -> str:
        return f"{base_url}/signin/{self.token}"

    def row(self, now: datetime) -> SigninLink:
        return SigninLink(
            token_sha256=token_sha256(self.token),
            email=self.email,
            created_at=now,
            expires_at=self.expires_at,
            target=self.target,
        )


def new(email: str, target: str | None, now: datetime, valid: timedelta) -> PersonalLink:
    """A link for `email` opening `target`, valid `valid` from `now` (no row written yet)."""
    if target is not None and safe_target(target) is None:
        raise ValueError(f"not a page a link may open: {target!r}")
    return PersonalLink(secrets.token_urlsafe(32), email.strip().lower(), target, now + valid)


def store(s: Session, links: Iterable[PersonalLink], now: datetime) -> None:
    """Write the links' rows in the caller's transaction (the one queuing their mail)."""
    s.add_all([link.row(now) for link in links])


def report_page(obligation_id: int) -> str:
    return f"/rapporter/{obligation_id}"


def justering_page(meeting_id: int) -> str:
    """Where a justerare reads a meeting's minutes and approves them or asks for a change."""
    return f"/moten/{meeting_id}/justering"


def minutes_page(meeting_id: int) -> str:
    """Where the förbundschef records a meeting's minutes (and sends a new draft)."""
    return f"/moten/{meeting_id}/protokoll"
