"""The hash-chained audit trail: append a row, verify the chain, read the head.

Each row's hash covers the previous row's hash and a canonical serialisation of
the row. The database refuses a second row on the same previous hash (and the
same seq), so two writers can never fork the chain; the loser retries.
The head hash, written into the board's minutes, makes a rewrite of the whole
database visible too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.roles import Actor
from workflow.core.models import AuditEvent
from workflow.core.uow import read
from workflow.core.views import AuditEventView, AuditHead

GENESIS = "0" * 64
SHORT = 16  # hex digits of the head hash written into the minutes (64 bits)
HASHED_FIELDS = (
    "seq", "at", "forbund_key", "plan_id", "plan_year", "revision", "action", "kind",
    "outcome", "from_state", "to_state", "new_revision", "actor_email", "actor_name",
    "actor_role", "body", "meeting_date", "paragraph", "comment", "follows_recommendation",
    "content_sha256", "prev_hash",
)  # fmt: skip


# fields added later are hashed only when set, so rows written before them keep
# their hashes
OPTIONAL_FIELDS = ("subject",)


def canonical(values: dict[str, Any]) -> bytes:
    data = {}
    for name in OPTIONAL_FIELDS:
        if values.get(name) is not None:
            data[name] = values[name]
    for name in HASHED_FIELDS:
        value = values.get(name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        data[name] = value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(values: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(values)).hexdigest()


def _values(row: AuditEvent) -> dict[str, Any]:
    return {name: getattr(row, name) for name in (*HASHED_FIELDS, *OPTIONAL_FIELDS)}


def head(session: Session) -> AuditEvent | None:
    return session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()


def append(session: Session, **fields: Any) -> AuditEvent:
    """Add the next row of the chain to the session (flushed, not committed)."""
    last = head(session)
    values = dict(fields)
    values["seq"] = (last.seq + 1) if last else 1
    values["prev_hash"] = last.hash if last else GENESIS
    values["at"] = values["at"].astimezone(UTC)
    row = AuditEvent(**values, hash=row_hash(values))
    session.add(row)
    session.flush()
    return row


def change(
    session: Session,
    *,
    at: datetime,
    forbund_key: str,
    subject: str,
    action: str,
    actor: Actor,
    role: str,
    to_state: str,
    from_state: str | None = None,
    kind: str = "change",
    comment: str | None = None,
    body: str | None = None,
    meeting_date: str | None = None,
    content_sha256: str = "",
) -> AuditEvent:
    """A row for a change outside a plan's workflow: a meeting, an insats, the förbund file.

    `subject` names what changed as `kind:id` (`meeting:14`, `insats:3`,
    `forbund:lund`), which `finsam audit log --subject` finds; `comment` says
    what changed in words a reader of the log understands.
    """
    return append(
        session,
        at=at,
        forbund_key=forbund_key,
        plan_id=None,
        plan_year=None,
        subject=subject,
        revision=0,
        action=action,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        actor_email=actor.email,
        actor_name=actor.name,
        actor_role=role,
        body=body,
        meeting_date=meeting_date,
        comment=comment,
        content_sha256=content_sha256,
    )


@dataclass(frozen=True)
class Verification:
    ok: bool
    rows: int
    head: str
    first_bad_seq: int | None = None
    problem: str = ""
    expected_head_found: bool | None = None


def verify(session: Session, expect_head: str | None = None) -> Verification:
    """Walk the chain in seq order; the first row that does not fit is named."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    found = None if expect_head is None else False
    rows = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq, AuditEvent.id))
    for row in rows:
        count += 1
        if row.seq != expected_seq:
            problem = f"row seq {row.seq} (id {row.id}) follows seq {expected_seq - 1}: " + (
                "a row is missing before it" if row.seq > expected_seq else "rows are reordered"
            )
            return Verification(False, count, prev, row.seq, problem, found)
        if row.prev_hash != prev:
            problem = (
                f"row seq {row.seq} (id {row.id}) does not follow the row before it "
                "(its previous hash differs): a row before it was changed, removed or reordered"
            )
            return Verification(False, count, prev, row.seq, problem, found)
        if row_hash(_values(row)) != row.hash:
            problem = f"row seq {row.seq} (id {row.id}) was edited after it was written"
            return Verification(False, count, prev, row.seq, problem, found)
        if expect_head is not None and row.hash.startswith(expect_head.lower()):
            found = True
        prev = row.hash
        expected_seq += 1
    if expect_head is not None and not found:
        problem = (
            f"the head {expect_head} (e.g. from the minutes) is not in the chain: "
            "rows were removed or the chain was rewritten"
        )
        return Verification(False, count, prev, None, problem, False)
    return Verification(True, count, prev, None, "", found)


# ---------------------------------------------------------------- services


def event_dict(e: AuditEvent) -> AuditEventView:
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "forbund": e.forbund_key,
        "plan": e.plan_id,
        "subject": e.subject,
        "year": e.plan_year,
        "revision": e.revision,
        "new_revision": e.new_revision,
        "action": e.action,
        "kind": e.kind,
        "outcome": e.outcome,
        "from": e.from_state,
        "to": e.to_state,
        "actor": e.actor_email,
        "actor_name": e.actor_name,
        "role": e.actor_role,
        "body": e.body,
        "meeting": e.meeting_date,
        "paragraph": e.paragraph,
        "comment": e.comment,
        "follows_recommendation": e.follows_recommendation,
        "content_sha256": e.content_sha256,
        "hash": e.hash,
    }


def verify_database(app: Any, expect_head: str | None = None) -> Verification:

    with read(app) as uow:
        return verify(uow.session, expect_head)


def head_of(app: Any) -> AuditHead:

    with read(app) as uow:
        row = head(uow.session)
        if row is None:
            return {"seq": 0, "hash": GENESIS, "short": GENESIS[:SHORT], "at": None}
        return {
            "seq": row.seq,
            "hash": row.hash,
            "short": row.hash[:SHORT],
            "at": row.at.isoformat(),
        }


def log(app: Any, plan_id: int | None = None) -> list[AuditEventView]:

    with read(app) as uow:
        query = sa.select(AuditEvent).order_by(AuditEvent.seq)
        if plan_id is not None:
            query = query.where(AuditEvent.plan_id == plan_id)
        return [event_dict(e) for e in uow.session.scalars(query)]
