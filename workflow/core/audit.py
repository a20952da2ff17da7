"""The hash-chained audit trail: append a row, verify the chain, read the head.

Each row's hash covers the previous row's hash and a canonical serialisation of
the row. The database refuses a second row on the same previous hash (and the
same seq), so two writers can never fork the chain; the loser retries.
The head hash, written into the board's minutes, makes a rewrite of the whole
database visible too.

Every row is in two chains (issue 14, docs/decisions.md §35): the whole trail's
(`seq`, `prev_hash`, `hash`), kept so that heads written down before it still
verify, and its förbund's own (`seq_in_forbund`, `prev_hash_in_forbund`,
`hash_in_forbund`: the same canonical fields with the förbund's seq and previous
hash in place of the trail's). A förbund's head, its minutes and an export of
its trail therefore say nothing of another förbund; `verify(forbund_key=K)`
walks K's rows alone. In a database of one förbund the two chains are the same
numbers and hashes.

Time only moves forward in the trail: a row dated before the last one is
refused (`Backdated`), and `verify` also reports rows dated before their
predecessor and plans, report obligations and förbund whose current state
disagrees with their last row, so a cut tail shows without the head too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.roles import Actor
from workflow.core import paging
from workflow.core.exceptions import NotFound, UsageError
from workflow.core.models import AuditEvent, Forbund, Insats, Obligation, Plan
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
# fields added later with a default the rows before them read as: hashed only when
# they differ from it, so those rows keep their hashes (migration 0012 gave every
# older row channel "cli"), while a change of the value in any row breaks its hash
DEFAULTED_FIELDS: dict[str, Any] = {"channel": "cli"}
CHANNELS = ("cli", "web")


def canonical(values: dict[str, Any]) -> bytes:
    data = {}
    for name in OPTIONAL_FIELDS:
        if values.get(name) is not None:
            data[name] = values[name]
    for name, default in DEFAULTED_FIELDS.items():
        if values.get(name, default) not in (None, default):
            data[name] = values[name]
    for name in HASHED_FIELDS:
        value = values.get(name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        data[name] = value
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(values: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(values)).hexdigest()


def forbund_hash(values: dict[str, Any]) -> str:
    """A row's hash in its förbund's chain: its canonical fields, with the förbund's seq
    and previous hash in place of the whole trail's, so no other förbund's row counts."""
    return row_hash(
        {**values, "seq": values["seq_in_forbund"], "prev_hash": values["prev_hash_in_forbund"]}
    )


# the columns `verify` reads: what both chains' hashes cover, the stored hashes, the id
_WALKED = (
    *HASHED_FIELDS,
    *OPTIONAL_FIELDS,
    *DEFAULTED_FIELDS,
    "seq_in_forbund",
    "prev_hash_in_forbund",
    "hash",
    "hash_in_forbund",
    "id",
)
# A row as `verify` walks it: a plain tuple of the `_WALKED` columns, read by name
# (`row.seq`), never an ORM object (issue 17: the walk's cost and memory).
Row = sa.Row[Any]


def head(session: Session) -> AuditEvent | None:
    """The whole trail's last row."""
    return session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()


def forbund_head(session: Session, forbund_key: str) -> AuditEvent | None:
    """The last row of one förbund's chain (the unique (förbund, seq) index finds it)."""
    query = (
        sa.select(AuditEvent)
        .where(AuditEvent.forbund_key == forbund_key)
        .order_by(AuditEvent.seq_in_forbund.desc())
        .limit(1)
    )
    return session.scalars(query).first()


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

    The row continues both the whole trail's chain and its förbund's; a writer
    that lost either head to another hits a unique constraint and retries.
    Refuses (`Backdated`, exit 2) a row dated before the trail's last row (of
    any förbund) by more than `SKEW`, so nobody can slip a change in among
    older ones by setting a clock; the one order of times keeps both chains'
    times in order.
    """
    last = head(session)
    mine = forbund_head(session, fields["forbund_key"])
    values = dict(fields)
    if values.setdefault("channel", "cli") not in CHANNELS:
        raise ValueError(f"audit channel {values['channel']!r} is not one of {CHANNELS}")
    values["seq"] = (last.seq + 1) if last else 1
    values["prev_hash"] = last.hash if last else GENESIS
    values["seq_in_forbund"] = (mine.seq_in_forbund + 1) if mine else 1
    values["prev_hash_in_forbund"] = mine.hash_in_forbund if mine else GENESIS
    values["at"] = _not_before(last, values["at"].astimezone(UTC))
    row = AuditEvent(**values, hash=row_hash(values), hash_in_forbund=forbund_hash(values))
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
    channel: str = "cli",
) -> AuditEvent:
    """A row for a change outside a plan's workflow: a meeting, an insats, the förbund file.

    `subject` names what changed as `kind:id` (`meeting:14`, `insats:3`,
    `forbund:lund`), which `finsam audit log --subject` finds; `comment` says
    what changed in words a reader of the log understands; `channel` is the
    front door it came through (`cli` or `web`).
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
        channel=channel,
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
    # the förbund verified alone (its rows, seqs and head), or None for the whole trail
    forbund: str | None = None
    # each förbund's head as far as its chain held, by key
    heads: dict[str, str] = field(default_factory=dict)


MAX_PROBLEMS = 50  # listed by verify; the rest are counted


@dataclass(frozen=True)
class _Chain:
    """The columns that make one chain, and how its rows are named in a problem."""

    seq: str
    prev: str
    hash: str
    of_forbund: bool

    def digest(self, row: Row) -> str:
        values = dict(zip(_WALKED, row, strict=True))  # what `canonical` reads, and a few more
        if self.of_forbund:
            values["seq"], values["prev_hash"] = row.seq_in_forbund, row.prev_hash_in_forbund
        return hashlib.sha256(canonical(values)).hexdigest()

    def label(self, row: Row) -> str:
        """`seq N`: the row's place in this chain, as the log of this chain shows it."""
        return f"seq {getattr(row, self.seq)}" + (
            f" of förbund {row.forbund_key}" if self.of_forbund else ""
        )


TRAIL = _Chain("seq", "prev_hash", "hash", of_forbund=False)
FORBUND_CHAIN = _Chain("seq_in_forbund", "prev_hash_in_forbund", "hash_in_forbund", True)


@dataclass
class _Last:
    """What the trail says of one plan, obligation or förbund: its last row, its changes."""

    row: Row
    changes: int


@dataclass
class _Walk:
    """The chain walked in its order: its problems and the last row of each subject."""

    found: bool | None
    chain: _Chain = TRAIL
    rows: int = 0
    head: str = GENESIS
    broken: bool = False
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)
    plans: dict[int, _Last] = field(default_factory=dict)
    obligations: dict[int, _Last] = field(default_factory=dict)
    forbund: dict[str, _Last] = field(default_factory=dict)
    # each förbund's chain so far: its last seq and hash (the whole trail's walk checks them)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    forks: set[str] = field(default_factory=set)  # förbund whose own chain broke

    def flag(self, seq: int | None, problem: str) -> None:
        if self.first_bad_seq is None:
            self.first_bad_seq = seq
        self.problems.append(problem)


def _chain_problem(chain: _Chain, row: Row, expected_seq: int, prev_hash: str) -> str | None:
    """Why `row` does not continue `chain`, or None when it does."""
    seq = getattr(row, chain.seq)
    name = f"row {chain.label(row)} (id {row.id})"
    if seq != expected_seq:
        return f"{name} follows seq {expected_seq - 1}: " + (
            "a row is missing before it" if seq > expected_seq else "rows are reordered"
        )
    if getattr(row, chain.prev) != prev_hash:
        return (
            f"{name} does not follow the row before it "
            "(its previous hash differs): a row before it was changed, removed or reordered"
        )
    if chain.digest(row) != getattr(row, chain.hash):
        return f"{name} was edited after it was written"
    return None


def _follow_forbund(walk: _Walk, row: Row) -> None:
    """Check `row` against its förbund's own chain too (the whole trail's walk); a förbund
    whose chain broke is named once and not followed further."""
    key = row.forbund_key
    if key in walk.forks:
        return
    seq, prev = walk.heads.get(key, (0, GENESIS))
    broken = _chain_problem(FORBUND_CHAIN, row, seq + 1, prev)
    if broken is not None:
        walk.forks.add(key)
        walk.flag(row.seq, broken)
        return
    walk.heads[key] = (row.seq_in_forbund, row.hash_in_forbund)


def _second_row_of_one_change(prev: Row | None, row: Row) -> bool:
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


def _note(walk: _Walk, prev: Row | None, row: Row) -> None:
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


def _found(walk: _Walk, row: Row, expect_head: str | None) -> bool:
    """Whether `row` carries the head sought: in the chain walked, or, walking the whole
    trail, in its förbund's chain (a head from the minutes of one förbund)."""
    if expect_head is None:
        return False
    wanted = expect_head.lower()
    hashes = [getattr(row, walk.chain.hash)]
    if walk.chain is TRAIL:
        hashes.append(row.hash_in_forbund)
    return any(h.startswith(wanted) for h in hashes)


# rows a query of `verify`'s walk: its memory is this many rows, whatever the trail's length
CHUNK = 2000


def _chunks(session: Session, chain: _Chain, forbund_key: str | None, chunk: int) -> Iterable[Row]:
    """The chain's rows in its order, `chunk` at a time (each query starts after the last
    seq read, which the unique (förbund,) seq index finds), as plain tuples."""
    table = AuditEvent.__table__
    order = table.c[chain.seq]
    query = sa.select(*(table.c[name] for name in _WALKED)).order_by(order).limit(chunk)
    if forbund_key is not None:
        query = query.where(table.c.forbund_key == forbund_key)
    last = 0
    while True:
        rows = session.execute(query.where(order > last)).all()
        yield from rows
        if len(rows) < chunk:
            return
        last = getattr(rows[-1], chain.seq)


def _walk(
    session: Session, expect_head: str | None, forbund_key: str | None = None, chunk: int = CHUNK
) -> _Walk:
    """One pass over the trail, or over one förbund's rows: the chain, the order of its
    times, each subject's last row; the whole trail's pass checks every förbund's chain.
    It holds a chunk of rows and the last row of each subject, never the whole trail."""
    chain = TRAIL if forbund_key is None else FORBUND_CHAIN
    walk = _Walk(found=None if expect_head is None else False, chain=chain)
    prev: Row | None = None
    for row in _chunks(session, chain, forbund_key, chunk):
        walk.rows += 1
        seq = getattr(row, chain.seq)
        broken = _chain_problem(
            chain, row, (getattr(prev, chain.seq) + 1) if prev else 1, walk.head
        )
        if broken is not None:
            walk.broken = True
            walk.flag(seq, broken)
            break
        if chain is TRAIL:
            _follow_forbund(walk, row)
        else:
            walk.heads[row.forbund_key] = (seq, row.hash_in_forbund)
        if prev is not None and row.at < prev.at:
            walk.flag(
                seq,
                f"row {chain.label(row)} (id {row.id}) is dated {row.at.isoformat()}, before "
                f"the row before it ({chain.label(prev)}, {prev.at.isoformat()}): it was "
                "backdated or its date was edited",
            )
        _note(walk, prev, row)
        if _found(walk, row, expect_head):
            walk.found = True
        walk.head = getattr(row, chain.hash)
        prev = row
    return walk


_TAMPERED = "a row was removed or the table was edited directly"


def _plan_problems(session: Session, walk: _Walk, forbund_id: int | None) -> Iterable[str]:
    """Each plan's state, revision and version against its last row and its changes
    (of one förbund when `forbund_id` is given)."""
    trail, seq = walk.plans, walk.chain.label
    seen = set()
    columns = (Plan.id, Plan.year, Plan.state, Plan.revision, Plan.version)
    query = sa.select(*columns).order_by(Plan.id)
    if forbund_id is not None:
        query = query.where(Plan.forbund_id == forbund_id)
    for pid, year, state, revision, version in session.execute(query):
        seen.add(pid)
        name = f"plan {pid} ({year})"
        last = trail.get(pid)
        if last is None:
            yield f"{name} has no row in the trail: {_TAMPERED}"
            continue
        row = last.row
        yield from _state_and_version(name, state, version, last, seq)
        if revision != (row.new_revision or row.revision):
            yield (
                f"{name} is at revision {revision}, but its last row in the trail "
                f"({seq(row)}, {row.action}) leaves it at {row.new_revision or row.revision}: "
                f"{_TAMPERED}"
            )
    for pid in sorted(set(trail) - seen):
        yield f"the trail has rows for plan {pid}, which is not in the database: it was deleted"


def _state_and_version(
    name: str, state: str, version: int, last: Any, seq: Callable[[Row], str]
) -> Iterable[str]:
    """A thing's state against its last row, and its version against its count of changes."""
    row = last.row
    if state != row.to_state:
        yield (
            f"{name} is in state {state!r}, but its last row in the trail ({seq(row)}, "
            f"{row.action}) leaves it in {row.to_state!r}: {_TAMPERED}"
        )
    if version != last.changes:
        yield (
            f"{name} is at version {version}, but the trail holds {last.changes} changes "
            f"of it (the last: {seq(row)}, {row.action}): {_TAMPERED}"
        )


def _obligation_problems(session: Session, walk: _Walk, forbund_id: int | None) -> Iterable[str]:
    """Each report obligation's state and version against its rows (one per version)."""
    trail, seq = walk.obligations, walk.chain.label
    seen = set()
    columns = (Obligation.id, Obligation.kind, Obligation.year, Obligation.state)
    query = sa.select(*columns, Obligation.version).order_by(Obligation.id)
    if forbund_id is not None:
        query = query.join(Insats, Insats.id == Obligation.insats_id).where(
            Insats.forbund_id == forbund_id
        )
    for oid, kind, year, state, version in session.execute(query):
        seen.add(oid)
        name = f"report obligation {oid} ({kind} {year})"
        last = trail.get(oid)
        if last is None:
            yield f"{name} has no row in the trail: {_TAMPERED}"
            continue
        yield from _state_and_version(name, state, version, last, seq)
    for oid in sorted(set(trail) - seen):
        yield (
            f"the trail has rows for report obligation {oid}, which is not in the database: "
            "it was deleted"
        )


def _forbund_problems(session: Session, walk: _Walk, forbund_id: int | None) -> Iterable[str]:
    """Each förbund's stored file against the file its last `init` row records.

    A förbund registered before `init` wrote rows has none, and is not checked.
    """
    trail, seq = walk.forbund, walk.chain.label
    seen = set()
    query = sa.select(Forbund.key, Forbund.config_sha256).order_by(Forbund.key)
    if forbund_id is not None:
        query = query.where(Forbund.id == forbund_id)
    for key, sha in session.execute(query):
        seen.add(key)
        last = trail.get(key)
        if last is not None and last.row.content_sha256 != sha:
            yield (
                f"förbund {key}: its stored file (sha256 {sha[:12]}…) is not the one its last "
                f"row in the trail records ({seq(last.row)}, {last.row.content_sha256[:12]}…): "
                f"{_TAMPERED}"
            )
    for key in sorted(set(trail) - seen):
        yield f"the trail has rows for förbund {key}, which is not in the database: it was deleted"


def _missing_head(expect_head: str, forbund_key: str | None) -> str:
    if forbund_key is None:
        return (
            f"the head {expect_head} (e.g. from the minutes) is not in the chain: "
            "rows were removed or the chain was rewritten"
        )
    return (
        f"the head {expect_head} (e.g. from the minutes) is not in förbund {forbund_key}'s "
        "chain: rows were removed or the chain was rewritten (a head written before each "
        "förbund had its own chain is the whole trail's: check it with 'finsam audit verify "
        f"--head {expect_head}' without --forbund)"
    )


def verify(
    session: Session,
    expect_head: str | None = None,
    forbund_key: str | None = None,
    *,
    chunk: int = CHUNK,
) -> Verification:
    """Walk the chain in seq order, then hold the tables against it.

    Without `forbund_key`: the whole trail's chain and, in the same pass, each
    förbund's own chain, then every plan, obligation and förbund file. With it:
    that förbund's rows alone, in its chain's order, and its plans, obligations
    and file; its problems name its own seqs, and no other förbund's row is read.

    The first row that does not fit the chain is named; so is every row dated
    before its predecessor, and every plan, report obligation and förbund file
    whose current state disagrees with its last row (so a cut tail shows even
    without the head from the minutes). One query per table, the trail's in chunks of
    `chunk` rows: memory holds a chunk and each subject's last row, whatever the length.
    """
    forbund_id = None if forbund_key is None else _known_forbund(session, forbund_key)
    walk = _walk(session, expect_head, forbund_key, chunk)
    problems = walk.problems
    if not walk.broken:
        if expect_head is not None and not walk.found:
            problems.append(_missing_head(expect_head, forbund_key))
        problems.extend(_plan_problems(session, walk, forbund_id))
        problems.extend(_obligation_problems(session, walk, forbund_id))
        problems.extend(_forbund_problems(session, walk, forbund_id))
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
        forbund=forbund_key,
        heads={key: digest for key, (_, digest) in sorted(walk.heads.items())},
    )


# ---------------------------------------------------------------- services


class ChainedEventView(AuditEventView, total=False):
    """`audit log`'s row: a plan's history's row and where it stands in a chain.

    With --forbund, `seq`, `prev_hash` and `hash` are the förbund's own chain's
    (`chain` is `forbund`), so an export of one förbund's trail holds nothing of
    another's; for the whole trail they are the trail's (`chain` is `trail`) and
    the `*_in_forbund` keys add the row's place in its förbund's chain.
    """

    chain: str
    channel: str
    prev_hash: str
    seq_in_forbund: int
    prev_hash_in_forbund: str
    hash_in_forbund: str


class ForbundHead(AuditHead):
    """`audit head`'s shape: the head of one förbund's chain (None: no förbund yet)."""

    forbund: str | None


def event_dict(e: AuditEvent) -> AuditEventView:
    """A row as a plan's history shows it: `seq` and `hash` are the whole trail's."""
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


def chained_dict(e: AuditEvent, *, of_forbund: bool) -> ChainedEventView:
    """A row of `audit log`: in its förbund's chain alone, or in the whole trail's."""
    row = cast(ChainedEventView, dict(event_dict(e)))
    row["channel"] = e.channel or "cli"
    if of_forbund:
        row.update(
            seq=e.seq_in_forbund,
            prev_hash=e.prev_hash_in_forbund,
            hash=e.hash_in_forbund,
            chain="forbund",
        )
    else:
        row.update(
            prev_hash=e.prev_hash,
            chain="trail",
            seq_in_forbund=e.seq_in_forbund,
            prev_hash_in_forbund=e.prev_hash_in_forbund,
            hash_in_forbund=e.hash_in_forbund,
        )
    return row


def verify_database(
    app: Any, expect_head: str | None = None, forbund_key: str | None = None, *, chunk: int = CHUNK
) -> Verification:
    """`audit verify`: the whole trail and every förbund's chain, or one förbund's alone,
    read `chunk` rows a query."""
    with read(app) as uow:
        return verify(uow.session, expect_head, forbund_key, chunk=chunk)


def _genesis(forbund_key: str | None) -> ForbundHead:
    """The head of a chain without rows."""
    return {"forbund": forbund_key, "seq": 0, "hash": GENESIS, "short": GENESIS[:SHORT], "at": None}


def forbund_head_of(session: Session, forbund_key: str) -> ForbundHead:
    """The head of one förbund's chain, to print."""
    return _head(forbund_key, forbund_head(session, forbund_key))


def _head(forbund_key: str, row: AuditEvent | None) -> ForbundHead:
    if row is None:
        return _genesis(forbund_key)
    return {
        "forbund": forbund_key,
        "seq": row.seq_in_forbund,
        "hash": row.hash_in_forbund,
        "short": row.hash_in_forbund[:SHORT],
        "at": row.at.isoformat(),
    }


def forbund_head_at(session: Session, forbund_key: str, at: datetime) -> ForbundHead:
    """The head one förbund's chain had at `at` (its last row dated then or before): what a
    protokoll states as the trail's state at the time of its meeting."""
    row = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.forbund_key == forbund_key, AuditEvent.at <= at)
        .order_by(AuditEvent.seq_in_forbund.desc())
        .limit(1)
    ).first()
    return _head(forbund_key, row)


def head_of(app: Any, forbund_key: str | None = None) -> ForbundHead:
    """`audit head`: the head of the förbund named, or of the only one in the database.

    Several förbund and none named is a usage error, as for every command that
    takes --forbund; a database without förbund has the genesis head.
    """
    with read(app) as uow:
        keys = list(uow.session.scalars(sa.select(Forbund.key).order_by(Forbund.key)))
        if forbund_key is None and not keys:
            return _genesis(None)
        if forbund_key is None and len(keys) > 1:
            raise UsageError(
                "this database holds several förbund, each with its own audit chain",
                f"choose one with --forbund KEY: {', '.join(keys)}",
            )
        key = keys[0] if forbund_key is None else forbund_key
        _known_forbund(uow.session, key)
        return forbund_head_of(uow.session, key)


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
) -> list[ChainedEventView]:
    """The trail's rows, oldest first: all, or those of a plan, a subject, a förbund
    (what a check reads in the chain's order; `log_page` is `audit log`'s page).

    A förbund's rows come in its own chain's order with its own seqs and hashes.
    """
    of_forbund = forbund_key is not None
    order = AuditEvent.seq_in_forbund if of_forbund else AuditEvent.seq
    query = sa.select(AuditEvent).order_by(order)
    if plan_id is not None:
        query = query.where(AuditEvent.plan_id == plan_id)
    if subject is not None:
        query = query.where(subject_filter(subject))
    with read(app) as uow:
        if forbund_key is not None:
            _known_forbund(uow.session, forbund_key)
            query = query.where(AuditEvent.forbund_key == forbund_key)
        return [chained_dict(e, of_forbund=of_forbund) for e in uow.session.scalars(query)]


class AuditPage(TypedDict):
    """One page of `audit log`: its rows, newest first, and how to get the older ones
    (`next` is `{"before": seq}` to pass back, or None on the last page)."""

    rows: list[ChainedEventView]
    next: dict[str, int] | None


def log_page(
    app: Any,
    plan_id: int | None = None,
    *,
    subject: str | None = None,
    forbund_key: str | None = None,
    limit: int | None = paging.PAGE_SIZE,
    before: int | None = None,
) -> AuditPage:
    """`audit log`: the newest `limit` rows with a seq below `before` (all with `limit=None`).

    One query a page whatever the trail's length, by the seq's index (a förbund's by its
    unique `(forbund_key, seq_in_forbund)`): the trail only grows at its end, so a
    page neither repeats nor skips a row when rows are added meanwhile. With a förbund,
    `before` and `next` are its own chain's seqs, as its rows show them.
    """
    paging.check_limit(limit)
    paging.check_id(before, "a row's seq" if forbund_key is None else "a förbund's seq")
    of_forbund = forbund_key is not None
    order = AuditEvent.seq_in_forbund if of_forbund else AuditEvent.seq
    query = sa.select(AuditEvent).order_by(order.desc())
    if plan_id is not None:
        query = query.where(AuditEvent.plan_id == plan_id)
    if subject is not None:
        query = query.where(subject_filter(subject))
    if before is not None:
        query = query.where(order < before)
    if limit is not None:
        query = query.limit(limit + 1)
    with read(app) as uow:
        if forbund_key is not None:
            _known_forbund(uow.session, forbund_key)
            query = query.where(AuditEvent.forbund_key == forbund_key)
        found = [chained_dict(e, of_forbund=of_forbund) for e in uow.session.scalars(query)]
    rows, after = paging.split(found, limit, lambda r: r["seq"])
    return {"rows": rows, "next": None if after is None else {"before": int(after)}}


def _known_forbund(session: Session, key: str) -> int:
    """The förbund's id; an unknown key is refused naming the keys there are."""
    rows = session.execute(sa.select(Forbund.key, Forbund.id).order_by(Forbund.key)).all()
    for known, fid in rows:
        if known == key:
            return fid
    raise NotFound(
        f"unknown förbund {key!r}",
        f"förbund in this database: {', '.join(k for k, _ in rows) or 'none'}",
    )
