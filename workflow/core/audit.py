"""The hash-chained audit trail: append a row, verify the chain, read the head.

Each row's hash covers the previous row's hash and a canonical serialisation of
the row. The database refuses a second row on the same previous hash (and the
same seq), so two writers can never fork the chain; the loser retries.
The head hash, written into the board's minutes, makes a rewrite of the whole
database visible too.

Time only moves forward in the trail: a row dated before the last one is
refused (`Backdated`), and `verify` also reports rows dated before their
predecessor and plans, report obligations and förbund whose current state
disagrees with their last row, so a cut tail shows without the head too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.roles import Actor
from workflow.core.exceptions import NotFound, UsageError
from workflow.core.models import AuditEvent, Forbund, Obligation, Plan
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


# How far behind the trail's last row a writer's clock may be and still be taken
# as the time of that row: a writer reads the clock before it waits for the write
# lock (up to FINSAM_BUSY_SECONDS) or loses the chain's head to a writer that read
# it later, and two nodes' clocks differ by a little. Its row is then dated as the
# last one (the change did happen after it); more than this is refused.
SKEW = timedelta(minutes=5)

# the subject of the rows `init` writes for a förbund file, and their kind
FORBUND_FILE = "forbund-file"


class Backdated(UsageError):
    """A change dated before the trail's last row: the clock (FINSAM_NOW) is behind the trail."""


def _not_before(last: AuditEvent | None, at: datetime) -> datetime:
    """The time to record: `at`, or the last row's time when the clock lags it a little."""
    if last is None or at >= last.at:
        return at
    if last.at - at <= SKEW:
        return last.at
    raise Backdated(
        f"the change is dated {at.isoformat()}, before the audit trail's last row "
        f"(seq {last.seq}, {last.at.isoformat()}): the clock (FINSAM_NOW, if set) is behind "
        "the trail; nothing was written",
        f"unset FINSAM_NOW or set it to {last.at.isoformat()} or later; "
        "the trail's times never go backwards",
    )


def append(session: Session, **fields: Any) -> AuditEvent:
    """Add the next row of the chain to the session (flushed, not committed).

    Refuses (`Backdated`, exit 2) a row dated before the last row by more than
    `SKEW`, so nobody can slip a change in among older ones by setting a clock.
    """
    last = head(session)
    values = dict(fields)
    values["seq"] = (last.seq + 1) if last else 1
    values["prev_hash"] = last.hash if last else GENESIS
    values["at"] = _not_before(last, values["at"].astimezone(UTC))
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
    problems: tuple[str, ...] = ()


MAX_PROBLEMS = 50  # listed by verify; the rest are counted


@dataclass
class _Last:
    """What the trail says of one plan, obligation or förbund: its last row, its changes."""

    row: AuditEvent
    changes: int


@dataclass
class _Walk:
    """The chain walked in seq order: its problems and the last row of each subject."""

    found: bool | None
    rows: int = 0
    head: str = GENESIS
    broken: bool = False
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)
    plans: dict[int, _Last] = field(default_factory=dict)
    obligations: dict[int, _Last] = field(default_factory=dict)
    forbund: dict[str, _Last] = field(default_factory=dict)

    def flag(self, seq: int | None, problem: str) -> None:
        if self.first_bad_seq is None:
            self.first_bad_seq = seq
        self.problems.append(problem)


def _chain_problem(row: AuditEvent, expected_seq: int, prev_hash: str) -> str | None:
    """Why `row` does not continue the chain, or None when it does."""
    if row.seq != expected_seq:
        return f"row seq {row.seq} (id {row.id}) follows seq {expected_seq - 1}: " + (
            "a row is missing before it" if row.seq > expected_seq else "rows are reordered"
        )
    if row.prev_hash != prev_hash:
        return (
            f"row seq {row.seq} (id {row.id}) does not follow the row before it "
            "(its previous hash differs): a row before it was changed, removed or reordered"
        )
    if row_hash(_values(row)) != row.hash:
        return f"row seq {row.seq} (id {row.id}) was edited after it was written"
    return None


def _second_row_of_one_change(prev: AuditEvent | None, row: AuditEvent) -> bool:
    """Whether `row` is the content row `plan revise` writes right after reopening a plan.

    That one change (one compare-and-set, one version) writes two rows: the
    workflow's action back to draft, which opens revision N, and an edit storing
    the file as N, in one transaction (so next in the chain, at the same instant,
    by the same person, with the same comment). Every other row of a plan is
    one version.
    """
    return (
        prev is not None
        and row.kind == "edit"
        and prev.kind not in ("edit", "create")
        and prev.plan_id == row.plan_id
        and prev.seq == row.seq - 1
        and prev.new_revision == row.revision
        and prev.at == row.at
        and prev.actor_email == row.actor_email
        and prev.comment == row.comment
    )


def _id_of(subject: str, kind: str) -> int | None:
    number = subject.removeprefix(f"{kind}:")
    return int(number) if number.isascii() and number.isdigit() else None


def _note(walk: _Walk, prev: AuditEvent | None, row: AuditEvent) -> None:
    """Remember `row` as the latest word on its plan, obligation or förbund file."""
    subject = row.subject or ""
    if row.plan_id is not None:
        last = walk.plans.get(row.plan_id)
        counts = 0 if _second_row_of_one_change(prev, row) else 1
        walk.plans[row.plan_id] = _Last(row, (last.changes if last else 0) + counts)
    elif subject.startswith("obligation:") and (oid := _id_of(subject, "obligation")) is not None:
        last = walk.obligations.get(oid)
        walk.obligations[oid] = _Last(row, (last.changes if last else 0) + 1)
    elif subject.startswith("forbund:") and row.kind == FORBUND_FILE:
        key = subject.removeprefix("forbund:")
        last = walk.forbund.get(key)
        walk.forbund[key] = _Last(row, (last.changes if last else 0) + 1)


def _walk(session: Session, expect_head: str | None) -> _Walk:
    """One pass over the trail: the chain, the order of its times, each subject's last row."""
    walk = _Walk(found=None if expect_head is None else False)
    prev: AuditEvent | None = None
    query = sa.select(AuditEvent).order_by(AuditEvent.seq, AuditEvent.id)
    for row in session.scalars(query.execution_options(yield_per=1000)):
        walk.rows += 1
        broken = _chain_problem(row, prev.seq + 1 if prev else 1, walk.head)
        if broken is not None:
            walk.broken = True
            walk.flag(row.seq, broken)
            break
        if prev is not None and row.at < prev.at:
            walk.flag(
                row.seq,
                f"row seq {row.seq} (id {row.id}) is dated {row.at.isoformat()}, before the "
                f"row before it (seq {prev.seq}, {prev.at.isoformat()}): it was backdated "
                "or its date was edited",
            )
        _note(walk, prev, row)
        if expect_head is not None and row.hash.startswith(expect_head.lower()):
            walk.found = True
        walk.head = row.hash
        prev = row
    return walk


_TAMPERED = "a row was removed or the table was edited directly"


def _plan_problems(session: Session, trail: dict[int, _Last]) -> Iterable[str]:
    """Each plan's state, revision and version against its last row and its changes."""
    seen = set()
    columns = (Plan.id, Plan.year, Plan.state, Plan.revision, Plan.version)
    for pid, year, state, revision, version in session.execute(
        sa.select(*columns).order_by(Plan.id)
    ):
        seen.add(pid)
        name = f"plan {pid} ({year})"
        last = trail.get(pid)
        if last is None:
            yield f"{name} has no row in the trail: {_TAMPERED}"
            continue
        row = last.row
        if state != row.to_state:
            yield (
                f"{name} is in state {state!r}, but its last row in the trail (seq {row.seq}, "
                f"{row.action}) leaves it in {row.to_state!r}: {_TAMPERED}"
            )
        if revision != (row.new_revision or row.revision):
            yield (
                f"{name} is at revision {revision}, but its last row in the trail (seq "
                f"{row.seq}, {row.action}) leaves it at {row.new_revision or row.revision}: "
                f"{_TAMPERED}"
            )
        if version != last.changes:
            yield (
                f"{name} is at version {version}, but the trail holds {last.changes} changes "
                f"of it (the last: seq {row.seq}, {row.action}): {_TAMPERED}"
            )
    for pid in sorted(set(trail) - seen):
        yield f"the trail has rows for plan {pid}, which is not in the database: it was deleted"


def _obligation_problems(session: Session, trail: dict[int, _Last]) -> Iterable[str]:
    """Each report obligation's state and version against its rows (one per version)."""
    seen = set()
    columns = (Obligation.id, Obligation.kind, Obligation.year, Obligation.state)
    for oid, kind, year, state, version in session.execute(
        sa.select(*columns, Obligation.version).order_by(Obligation.id)
    ):
        seen.add(oid)
        name = f"report obligation {oid} ({kind} {year})"
        last = trail.get(oid)
        if last is None:
            yield f"{name} has no row in the trail: {_TAMPERED}"
            continue
        row = last.row
        if state != row.to_state:
            yield (
                f"{name} is in state {state!r}, but its last row in the trail (seq {row.seq}, "
                f"{row.action}) leaves it in {row.to_state!r}: {_TAMPERED}"
            )
        if version != last.changes:
            yield (
                f"{name} is at version {version}, but the trail holds {last.changes} changes "
                f"of it (the last: seq {row.seq}, {row.action}): {_TAMPERED}"
            )
    for oid in sorted(set(trail) - seen):
        yield (
            f"the trail has rows for report obligation {oid}, which is not in the database: "
            "it was deleted"
        )


def _forbund_problems(session: Session, trail: dict[str, _Last]) -> Iterable[str]:
    """Each förbund's stored file against the file its last `init` row records.

    A förbund registered before `init` wrote rows has none, and is not checked.
    """
    seen = set()
    for key, sha in session.execute(
        sa.select(Forbund.key, Forbund.config_sha256).order_by(Forbund.key)
    ):
        seen.add(key)
        last = trail.get(key)
        if last is not None and last.row.content_sha256 != sha:
            yield (
                f"förbund {key}: its stored file (sha256 {sha[:12]}…) is not the one its last "
                f"row in the trail records (seq {last.row.seq}, {last.row.content_sha256[:12]}…): "
                f"{_TAMPERED}"
            )
    for key in sorted(set(trail) - seen):
        yield f"the trail has rows for förbund {key}, which is not in the database: it was deleted"


def verify(session: Session, expect_head: str | None = None) -> Verification:
    """Walk the chain in seq order, then hold the tables against it.

    The first row that does not fit the chain is named; so is every row dated
    before its predecessor, and every plan, report obligation and förbund file
    whose current state disagrees with its last row (so a cut tail shows even
    without the head from the minutes). One query per table.
    """
    walk = _walk(session, expect_head)
    problems = walk.problems
    if not walk.broken:
        if expect_head is not None and not walk.found:
            problems.append(
                f"the head {expect_head} (e.g. from the minutes) is not in the chain: "
                "rows were removed or the chain was rewritten"
            )
        problems.extend(_plan_problems(session, walk.plans))
        problems.extend(_obligation_problems(session, walk.obligations))
        problems.extend(_forbund_problems(session, walk.forbund))
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS:] = [f"… and {len(problems) - MAX_PROBLEMS} more problems"]
    return Verification(
        ok=not problems,
        rows=walk.rows,
        head=walk.head,
        first_bad_seq=walk.first_bad_seq,
        problem=problems[0] if problems else "",
        expected_head_found=walk.found,
        problems=tuple(problems),
    )


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


SUBJECT_KINDS = ("plan", "meeting", "cycle", "insats", "obligation", "message", "forbund")


def subject_filter(subject: str) -> sa.ColumnElement[bool]:
    """The rows about `subject` (`kind:id`); `plan:5` also finds the plan's own rows."""
    kind, sep, ident = subject.strip().partition(":")
    if not sep or not ident or kind not in SUBJECT_KINDS or any(c.isspace() for c in ident):
        raise UsageError(
            f"--subject {subject!r} is not a subject",
            f"give KIND:ID, KIND one of {', '.join(SUBJECT_KINDS)}: e.g. meeting:14, "
            "plan:5, obligation:7, cycle:2027, forbund:KEY",
        )
    if kind == "forbund":
        return AuditEvent.subject == f"forbund:{ident}"
    if not ident.isdigit() or len(ident) > 18:
        raise UsageError(
            f"--subject {subject!r}: {ident!r} is not the id of a {kind}",
            f"give a whole number, e.g. {kind}:14",
        )
    same = AuditEvent.subject == f"{kind}:{int(ident)}"
    return sa.or_(AuditEvent.plan_id == int(ident), same) if kind == "plan" else same


def log(
    app: Any,
    plan_id: int | None = None,
    *,
    subject: str | None = None,
    forbund_key: str | None = None,
) -> list[AuditEventView]:
    """The trail's rows, oldest first: all, or those of a plan, a subject, a förbund."""
    query = sa.select(AuditEvent).order_by(AuditEvent.seq)
    if plan_id is not None:
        query = query.where(AuditEvent.plan_id == plan_id)
    if subject is not None:
        query = query.where(subject_filter(subject))
    with read(app) as uow:
        if forbund_key is not None:
            _known_forbund(uow.session, forbund_key)
            query = query.where(AuditEvent.forbund_key == forbund_key)
        return [event_dict(e) for e in uow.session.scalars(query)]


def _known_forbund(session: Session, key: str) -> None:
    keys = list(session.scalars(sa.select(Forbund.key).order_by(Forbund.key)))
    if key not in keys:
        raise NotFound(
            f"unknown förbund {key!r}", f"förbund in this database: {', '.join(keys) or 'none'}"
        )
