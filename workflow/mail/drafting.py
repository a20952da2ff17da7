"""The pieces of a message every kind shares before it is rendered: whether its key
is queued already, adding it once, a drafted row that a change writes in its own
transaction (rendered after the commit), and the people of an insats with the key of
each one's personal copy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.models import Insats, OutboxMessage
from workflow.mail import links


def queued(s: Session, key: str) -> bool:
    return (
        s.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.key == key)).first() is not None
    )


def add_once(s: Session, row: OutboxMessage) -> bool:
    """Add the row in a savepoint; False when another worker took its key first."""
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except sa.exc.IntegrityError:
        return False
    return True


def draft_message(
    s: Session, *, key: str, forbund_key: str, kind: str, ref: str, now: datetime, draft: Any
) -> bool:
    """Note, in the caller's transaction, a message its change causes, unrendered.

    The row holds only what rendering needs (ids and facts, as JSON); it is
    rendered and queued right after the change commits (`render_drafts`, asked
    for by the handler), so the change's write lock is never held while
    templates render. Its key keeps it once, as for every message. False when
    the key is taken already.
    """
    if queued(s, key):
        return False
    row = OutboxMessage(
        key=key,
        forbund_key=forbund_key,
        kind=kind,
        subject="",
        sender="",
        recipients=[],
        message_id=f"<draft:{key}>",  # unique like the key; the real one comes with the render
        raw=b"",
        ref=ref,
        state="draft",
        not_before=now,
        created_at=now,
        draft=draft,
    )
    return add_once(s, row)


def project_people(insats: Insats | Any) -> list[tuple[str, str]]:
    """The insats's project leader and owner contact (name, address), each once
    (an Insats, or a row with those four columns: the notify sweep reads rows)."""
    found: dict[str, tuple[str, str]] = {}
    for name, email in (
        (insats.leader_name, insats.leader_email),
        (insats.contact_name, insats.contact_email),
    ):
        if email and email.strip().lower() not in found:
            found[email.strip().lower()] = (name or "", email)
    return list(found.values())


def personal_key(key: str, index: int, email: str) -> str:
    """The key of one recipient's copy: `key` itself for the first (the project leader,
    as before messages were personal), `key:<address hash>` for the others."""
    if index == 0:
        return key
    return f"{key}:{address_key(email)}"


def address_key(email: str) -> str:
    """An address as it stands in a message's key: 12 hex digits of its SHA-256, so one
    reader's copy is told from another's without the address in the key."""
    return links.token_sha256(email.strip().lower())[:12]
