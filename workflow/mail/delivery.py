"""Delivering the outbox: claim a few rows, send them, mark each one as it goes.

Claims are short transactions with a lease (who, until when): on PostgreSQL
`FOR UPDATE SKIP LOCKED`, so several deliverers never take the same row; on
SQLite one writer at a time. A claim is only worth anything while its lease
runs, so a deliverer keeps it running and checks it:

- it renews the leases of all the rows it still holds in one UPDATE whenever a
  third of the lease has passed (in the background, so a send slower than the
  lease keeps its claim), and before each send makes sure the lease is not about
  to run out;
- every write on a claimed row (marking it sent, failed, skipped, or giving it
  back to the queue) is a compare-and-set: the UPDATE names the row, this
  deliverer and an unexpired lease, and a row count of 0 means the claim was
  lost (the lease ran out and another deliverer may have taken the row). A row
  found lost before its send is not sent; one lost while on the wire (nothing
  calls it back) is not marked, and its new holder sends it again: at most one
  per connection, as after a crash. Either way it is counted as "lost".

Each message is marked after its server answers and before its connection sends
the next one (the next envelope, MAIL and RCPT, may go meanwhile: it delivers
nothing), so a crash between sending and marking repeats at most the messages
that were in flight (one per connection); the marks handed over by the time a
connection needs its own share one transaction, each still its own
compare-and-set.
A transient failure (4xx, refused or dropped connection, timeout) waits with
exponential backoff and jitter; a permanent one (5xx) fails the row with the
server's words; an unexpected error fails only that message. Recipients are
judged one by one: those whose server accepted the message are kept in
`accepted`, and every later attempt (a backoff retry, or `outbox retry` after a
partial failure) goes only to the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import defer

from workflow.core import audit, paging
from workflow.core.app import App
from workflow.core.db import BUSY_MS
from workflow.core.exceptions import ConfigError, NotFound, UsageError
from workflow.core.models import (
    OWED,
    Insats,
    Meeting,
    Minutes,
    Obligation,
    OutboxAttempt,
    OutboxMessage,
    SigninLink,
)
from workflow.core.uow import UnitOfWork, read, retrying, write
from workflow.forbund import registry as forbunds
from workflow.mail import redaction
from workflow.mail.views import Delivery, HeldClaims, MessageDetail, MessageView

if TYPE_CHECKING:  # types only: the transports load when mail is sent (start-up)
    from notifications.transport import MailSettings, Transport

BACKOFF_BASE = 60  # seconds; doubles per attempt
BACKOFF_MAX = 6 * 3600
# The leases of held rows are renewed when less than this share of the lease is
# left (checked every sixth of the lease); before a send, when less than the
# smaller share is left, the renewal is done first, in line.
RENEW_BELOW = 2 / 3
SEND_BELOW = 1 / 3

T = TypeVar("T")

# id, sender, recipients, raw, Message-ID, why not, tries, förbund, kind, accepted
Batch = tuple[int, str, list[str], bytes, str, str | None, int, str, str, list[str]]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def settings() -> MailSettings:
    # start-up: pydantic-settings and the transports load only when mail is sent
    from notifications.transport import MailSettings
    from workflow.core.settings import from_env

    return from_env(MailSettings, "FINSAM_MAIL_")


def transport(mail: MailSettings) -> Transport:
    # start-up: the transports load only when mail is sent
    from notifications.transport import TransportError, parse

    try:
        return parse(mail.url, mail)
    except TransportError as exc:
        raise ConfigError(str(exc)) from None


def backoff(attempts: int) -> timedelta:
    delay = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))


def claim(
    app: App, limit: int, worker: str, lease: timedelta, exclude: Collection[int] = ()
) -> list[int]:
    """Take up to `limit` due rows for this worker, in one short statement; their ids."""
    return [row.id for row in _claim(app, limit, worker, lease, exclude, ())]


# what a deliverer needs of a claimed row, returned by the claim itself
_SENDING: tuple[str, ...] = ("sender", "recipients", "raw", "message_id", "kind", "ref")
_SENDING += ("attempts", "forbund_key", "key", "accepted")


def _claim(
    app: App,
    limit: int,
    worker: str,
    lease: timedelta,
    exclude: Collection[int],
    columns: Iterable[str],
) -> list[sa.Row[Any]]:
    """Claim up to `limit` due rows and return their `columns` (and id), in id order.

    An UPDATE … RETURNING over a sub-select of the due ids: no rows travel
    through the ORM, and on PostgreSQL the sub-select skips rows another
    deliverer holds, so two never take the same row. A row whose lease ran out
    is due again; `exclude` names the rows this deliverer still has in hand, so
    that it never takes its own row a second time (it would send it twice).
    Returning what the sending needs saves reading the rows (and their
    messages) again after the claim.

    The rows whose lease ran out go first, then the queued ones, each in one
    UPDATE whose sub-select names one state: it walks the (state, id) index in
    id order and stops at `limit`. One sub-select with both states (an OR) read
    every queued row for every claim, so a claim cost as much as the queue was
    long.
    """
    now = app.clock.now()
    t = OutboxMessage.__table__
    kept = t.c.id.not_in(sorted(exclude)) if exclude else sa.true()
    due = (
        sa.and_(t.c.state == "sending", t.c.lease_until < now, t.c.not_before <= now, kept),
        sa.and_(
            t.c.state == "queued",
            t.c.not_before <= now,
            sa.or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now),
            kept,
        ),
    )
    returned = [t.c.id, *(t.c[name] for name in columns)]

    def work(uow: UnitOfWork) -> list[sa.Row[Any]]:
        s = uow.session
        claimed: list[sa.Row[Any]] = []
        for which in due:
            if len(claimed) >= limit:
                break
            ids = sa.select(t.c.id).where(which).order_by(t.c.id).limit(limit - len(claimed))
            if s.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
                ids = ids.with_for_update(skip_locked=True)
            claimed += s.execute(
                sa.update(t)
                .where(t.c.id.in_(ids.scalar_subquery()))
                .values(state="sending", claimed_by=worker, lease_until=now + lease)
                .returning(*returned)
            ).all()
        return sorted(claimed, key=lambda row: int(row.id))

    return write(app, work)


def _reminder_stale(s: Any, message_id: int, key: str, ref: str, now: datetime) -> str | None:
    """A report submitted meanwhile is not reminded; of two reminders for one report
    still waiting (the outbox was down) only the later goes."""
    o = s.get(Obligation, int(ref.split(":")[1]))
    if o is None or o.state not in OWED:
        return f"report is {o.state if o else 'gone'}"
    if s.get(Insats, o.insats_id) is None:
        return "insats gone"
    if _later_for_the_same_reader(s, message_id, key, ref):
        return "a later reminder for the same report replaces it"
    return None


def _reader(key: str) -> str:
    """Whose copy of a reminder its key names: `reminder:<obligation>:<due>:<offset>` is the
    project leader's, a fifth part another reader's (an address hash, or `chef`)."""
    parts = key.split(":")
    return parts[4] if len(parts) > 4 else ""


def _later_for_the_same_reader(s: Any, message_id: int, key: str, ref: str) -> bool:
    t = OutboxMessage.__table__
    later = sa.select(t.c.key).where(t.c.ref == ref, t.c.kind == "reminder", t.c.id > message_id)
    return any(_reader(k) == _reader(key) for k in s.scalars(later))


def _returned_stale(s: Any, message_id: int, key: str, ref: str, now: datetime) -> str | None:
    """A return is not told once the report was handed in again (or otherwise settled)."""
    o = s.get(Obligation, int(ref.split(":")[1]))
    if o is None or o.state != "returned":
        return f"report is {o.state if o else 'gone'}"
    return None


def _notice_stale(s: Any, message_id: int, key: str, ref: str, now: datetime) -> str | None:
    """A kallelse goes neither after its meeting has begun nor when a later one replaces it."""
    m = s.get(Meeting, int(ref.split(":")[1]))
    if m is None:
        return "meeting gone"
    if m.starts_at <= now:
        return "the meeting has begun"
    if key.startswith("notice:") and _later(s, message_id, "notice", ref):
        return "a later kallelse for the same meeting replaces it"
    return None


def _signin_stale(s: Any, message_id: int, key: str, ref: str, now: datetime) -> str | None:
    """A sign-in link that can no longer be used is not worth a mail (one whose row was
    swept away had expired long before)."""
    digits = ref.partition(":")[2]
    link = s.scalars(
        sa.select(SigninLink).where(SigninLink.token_sha256.startswith(digits, autoescape=True))
    ).first()
    if link is None or link.expires_at <= now:
        return "the sign-in link has expired"
    return None


def _justering_stale(s: Any, message_id: int, key: str, ref: str, now: datetime) -> str | None:
    """A draft to justera goes only while it is the draft to justera: not once a newer
    revision replaced it (its own mail follows) nor once the protokoll is justerat. The
    key names the revision (`justering:<meeting>:<revision>:<address>`)."""
    # start-up: the minutes' rules load only when a justering mail is about to go
    from workflow.cycle import protokoll

    row = s.scalars(sa.select(Minutes).where(Minutes.meeting_id == int(ref.split(":")[1]))).first()
    parts = key.split(":")
    revision = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0  # 0: none
    return protokoll.outdated(row, revision)


StaleRule = Callable[[Any, int, str, str, datetime], str | None]

# (kind, what its ref names) -> why such a message should no longer go, or None
STALE_RULES: dict[tuple[str, str], StaleRule] = {
    ("reminder", "obligation"): _reminder_stale,
    ("returned", "obligation"): _returned_stale,
    ("notice", "meeting"): _notice_stale,
    ("signin", "signin"): _signin_stale,
    ("justering", "meeting"): _justering_stale,
}


def _stale(
    s: Any, message_id: int, kind: str, key: str, ref: str | None, now: datetime
) -> str | None:
    """Why a message should no longer go (the rule of its kind), or None."""
    rule = STALE_RULES.get((kind, (ref or "").partition(":")[0]))
    return None if rule is None or not ref else rule(s, message_id, key, ref, now)


def _later(s: Any, message_id: int, kind: str, ref: str) -> bool:
    t = OutboxMessage.__table__
    later = sa.select(t.c.id).where(t.c.ref == ref, t.c.kind == kind, t.c.id > message_id)
    return s.execute(later.limit(1)).first() is not None


class Claims:
    """One deliverer's claims: the rows it holds, until when, and every write on them.

    Marks and renewals run once per few messages and once per few seconds; through
    the ORM they would cost more than the database work itself, so they speak plain
    SQL on one raw connection, used only from the thread that made it (a delivery
    makes it in its database thread). SQLite stores instants the way SQLAlchemy's
    DateTime does (naive UTC text), PostgreSQL takes aware datetimes. Each write
    is one transaction under the one retry rule (`retrying`), so a busy SQLite
    waits its turn instead of ending the delivery.

    `held` is what this deliverer may still send; `until` is the earliest lease
    among them as last written, read against the app's clock (the clock other
    deliverers judge the lease by). `gone` is what a renewal found lost: such a
    row may still wait in the run's queue, so the run never claims it again.
    """

    def __init__(self, app: App, worker: str, lease: timedelta) -> None:
        self.app, self.worker, self.lease = app, worker, lease
        self.held: set[int] = set()
        self.gone: set[int] = set()
        self.until: datetime | None = None
        dialect = app.engine.dialect
        self.sqlite = dialect.name == "sqlite"
        self.dbapi_error = dialect.loaded_dbapi.Error
        self.raw = app.engine.raw_connection()
        self.busy_ms = -1000  # SQLite's busy timeout on that connection, as last set
        p = self.p = "?" if self.sqlite else "%s"
        mine = f"claimed_by = {p} AND state = 'sending' AND lease_until >= {p}"
        self.mine = mine
        accepted = p if self.sqlite else f"CAST({p} AS json)"
        self.update = (
            f"UPDATE outbox_message SET attempts = {p}, claimed_by = NULL, lease_until = NULL, "
            f"state = {p}, sent_at = {p}, last_error = {p}, next_attempt_at = {p}, "
            f"accepted = {accepted} WHERE id = {p} AND {mine}"
        )
        self.insert = (
            "INSERT INTO outbox_attempt (message, at, worker, recipient, outcome, detail) "
            f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
        )
        self.hide = f"UPDATE outbox_message SET raw = {p} WHERE id = {p}"

    # ------------------------------------------------------------ plumbing

    def _ts(self, value: datetime | None) -> Any:
        if value is None or not self.sqlite:
            return value
        v = value.astimezone(UTC)
        return (
            f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:"
            f"{v.second:02d}.{v.microsecond:06d}"
        )

    def _write(self, work: Callable[[Any], T]) -> T:
        """`work(cursor)` in one transaction on the raw connection, under the retry rule."""

        def attempt(deadline: float) -> T:
            cur = self.raw.cursor()
            try:
                if self.sqlite:
                    # wait for the lock no longer than the deadline (set again only
                    # when that changed: a retry, or the first write)
                    wait_ms = max(1, int((deadline - time.monotonic()) * 1000))
                    if abs(wait_ms - self.busy_ms) > 100:
                        cur.execute(f"PRAGMA busy_timeout={wait_ms}")
                        self.busy_ms = wait_ms
                    cur.execute("BEGIN IMMEDIATE")
                result = work(cur)
                self.raw.commit()
                return result
            except self.dbapi_error as exc:
                self.raw.rollback()
                # in SQLAlchemy's clothes, so that the retry rule knows busy from broken
                raise sa.exc.DBAPIError.instance(None, None, exc, self.dbapi_error) from exc
            except BaseException:
                self.raw.rollback()
                raise
            finally:
                cur.close()

        return retrying(self.app, attempt)

    def close(self) -> None:
        if self.sqlite and self.busy_ms != BUSY_MS:  # back to the pool as it came
            with contextlib.suppress(Exception):
                self.raw.cursor().execute(f"PRAGMA busy_timeout={BUSY_MS}")
        self.raw.close()

    # ------------------------------------------------------------ the claim

    def take(self, limit: int) -> list[int]:
        """Claim up to `limit` more due rows (never one in hand, or lost earlier in this run)."""
        return [int(row.id) for row in self._take(limit, ())]

    def take_messages(self, limit: int) -> list[Batch]:
        """Claim as `take` does, and return the messages ready to send, in id order.

        The claim itself returns the messages; only rows of a kind that may have
        gone stale (`STALE_RULES`) cost a read after it.
        """
        return _ready(self.app, self._take(limit, _SENDING))

    def _take(self, limit: int, columns: Iterable[str]) -> list[sa.Row[Any]]:
        until = self.app.clock.now() + self.lease  # no later than what the claim writes
        rows = _claim(self.app, limit, self.worker, self.lease, self.held | self.gone, columns)
        if rows:
            self.until = until if not self.held or self.until is None else min(self.until, until)
            self.held.update(int(row.id) for row in rows)
        return rows

    def left(self) -> float:
        """Seconds until the earliest lease in hand runs out."""
        if self.until is None:
            return math.inf
        return (self.until - self.app.clock.now()).total_seconds()

    def expiring(self, below: float) -> bool:
        """Whether less than `below` of a lease is left on the rows in hand."""
        return bool(self.held) and self.left() < below * self.lease.total_seconds()

    def keep(self, below: float) -> None:
        """Renew the leases in hand when less than `below` of a lease is left."""
        if self.expiring(below):
            self.renew()

    def renew(self) -> set[int]:
        """Extend the lease of every row in hand, in one UPDATE; returns the rows lost.

        A row whose lease already ran out is not renewed, even if no one took it:
        another deliverer may be claiming it this very moment.
        """
        ids = sorted(self.held)
        if not ids:
            return set()
        now = self.app.clock.now()
        until = now + self.lease
        p = self.p
        sql = (
            f"UPDATE outbox_message SET lease_until = {p} WHERE {self.mine} "
            f"AND id IN ({', '.join([p] * len(ids))}) RETURNING id"
        )
        params = (self._ts(until), self.worker, self._ts(now), *ids)

        def work(cur: Any) -> set[int]:
            cur.execute(sql, params)
            return {int(row[0]) for row in cur.fetchall()}

        kept = self._write(work)
        lost = self.held - kept
        self.gone |= lost
        self.held = kept
        self.until = until
        return lost

    def holds(self, message_id: int) -> bool:
        return message_id in self.held

    def mark(
        self,
        message_id: int,
        outcome: str,
        detail: str,
        per_recipient: dict[str, tuple[str, str]],
        max_attempts: int,
        attempts: int,
        accepted: list[str],
        redacted: bytes | None = None,
    ) -> bool:
        """Record how one message went, if it is still ours; False when the claim was lost."""
        mark = Mark(
            message_id, outcome, detail, per_recipient, max_attempts, attempts, accepted, redacted
        )
        return self.mark_many([mark])[0]

    def mark_many(self, marks: list[Mark]) -> list[bool]:
        """Record how each message went, in one transaction; per message, False when its
        claim was lost.

        Each row is its own compare-and-set (a lost one is left to the deliverer
        that holds it now, and its attempts are not written); a row and its
        attempts are written together or not at all. A message settled for good
        (not queued again) keeps its `redacted` text when given: its secrets are
        gone in the same transaction that says it went. One transaction for the
        messages answered at about the same moment costs one commit instead of
        one each, the bulk of a mark's cost.
        """
        now = self.app.clock.now()
        stamp = self._ts(now)
        writes = []
        for m in marks:
            attempts = m.attempts + 1
            sent_at, error, retry_at = None, m.detail or None, None
            if m.outcome == "sent":
                state, sent_at, error = "sent", stamp, None
            elif m.outcome == "skipped":
                state = "skipped"
            elif m.outcome == "transient" and attempts < m.max_attempts:
                state, retry_at = "queued", self._ts(now + backoff(attempts))
            else:
                state = "failed"
            values = (
                attempts,
                state,
                sent_at,
                error,
                retry_at,
                json.dumps(m.accepted),
                m.message_id,
                self.worker,
                stamp,
            )
            rows = [
                (m.message_id, stamp, self.worker, recipient, result, words)
                for recipient, (result, words) in (
                    m.per_recipient or {"*": (m.outcome, m.detail)}
                ).items()
            ]
            hide = (
                (m.redacted, m.message_id) if m.redacted is not None and state != "queued" else None
            )
            writes.append((values, rows, hide))

        def work(cur: Any) -> list[bool]:
            kept: list[bool] = []
            attempts: list[tuple[Any, ...]] = []
            for values, rows, hide in writes:
                cur.execute(self.update, values)
                kept.append(cur.rowcount == 1)
                if kept[-1]:
                    attempts.extend(rows)
                    if hide is not None:
                        cur.execute(self.hide, hide)
            if len(attempts) == 1:
                cur.execute(self.insert, attempts[0])
            elif attempts:
                cur.executemany(self.insert, attempts)
            return kept

        try:
            return self._write(work)
        finally:
            self.held.difference_update(m.message_id for m in marks)


class _Unmarked(Exception):
    """A mark could not be written (`error` says why): raised through a connection's send
    so that it ends the run, and is never taken for that send's own failure."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Mark(NamedTuple):
    """How one message went, for `Claims.mark_many`."""

    message_id: int
    outcome: str
    detail: str
    per_recipient: dict[str, tuple[str, str]]
    max_attempts: int
    attempts: int  # before this one
    accepted: list[str]
    redacted: bytes | None = None


def release(app: App, ids: Iterable[int], worker: str) -> int:
    """Give back claimed rows this worker has not begun to send (those still its own)."""
    ids = list(ids)
    if not ids:
        return 0
    t = OutboxMessage.__table__
    now = app.clock.now()

    def work(uow: UnitOfWork) -> int:
        done = uow.session.execute(
            sa.update(t)
            .where(
                t.c.id.in_(ids),
                t.c.claimed_by == worker,
                t.c.state == "sending",
                t.c.lease_until >= now,
            )
            .values(state="queued", claimed_by=None, lease_until=None)
        )
        return int(done.rowcount or 0)

    return write(app, work)


def held_elsewhere(app: App, worker: str | None = None) -> list[HeldClaims]:
    """Who else holds unexpired claims now: per deliverer, how many rows and until when.

    Those rows are being sent by their holder; another `send` leaves them alone.
    """
    t = OutboxMessage.__table__
    now = app.clock.now()
    query = (
        sa.select(t.c.claimed_by, sa.func.count(), sa.func.max(t.c.lease_until))
        .where(t.c.state == "sending", t.c.lease_until >= now)
        .group_by(t.c.claimed_by)
        .order_by(t.c.claimed_by)
    )
    if worker is not None:
        query = query.where(t.c.claimed_by != worker)
    with read(app) as uow:
        return [
            {"by": by, "messages": int(n), "until": until.isoformat()}
            for by, n, until in uow.session.execute(query)
        ]


Log = Callable[..., None]


def send(
    app: App,
    limit: int | None = None,
    *,
    stop: threading.Event | None = None,
    log: Log | None = None,
    worker: str | None = None,
) -> Delivery:
    """Deliver what is due now, and exit; the counts say how it went.

    `stop` (set by the scheduler on SIGTERM) ends the run after the messages in
    hand; what was claimed but not begun goes back to the queue at once, not
    after its lease. `log` hears one event per message. `lost` counts the
    messages whose claim ran out in our hands and went to another deliverer:
    not sent (or, if already in flight, not marked) by this one.
    """
    mail = settings()
    chosen = transport(mail)
    counts: Delivery = {"sent": 0, "transient": 0, "failed": 0, "skipped": 0, "lost": 0}
    asyncio.run(_send_all(app, chosen, worker or worker_name(), mail, counts, limit, stop, log))
    return counts


def _ready(app: App, rows: list[sa.Row[Any]]) -> list[Batch]:
    """Claimed rows as the connections take them, each with why it should no longer go
    (read only for the kinds that have a rule)."""
    ruled = [r for r in rows if r.ref and (r.kind, r.ref.partition(":")[0]) in STALE_RULES]
    why: dict[int, str | None] = {}
    if ruled:
        now = app.clock.now()
        with read(app) as uow:
            s = uow.session
            why = {r.id: _stale(s, r.id, r.kind, r.key, r.ref, now) for r in ruled}
    return [
        (
            r.id,
            r.sender,
            list(r.recipients),
            r.raw,
            r.message_id,
            why.get(r.id),
            r.attempts,
            r.forbund_key,
            r.kind,
            list(r.accepted or []),
        )
        for r in rows
    ]


async def _send_all(
    app: App,
    chosen: Transport,
    worker: str,
    mail: MailSettings,
    counts: Delivery,
    limit: int | None,
    stop: threading.Event | None = None,
    log: Log | None = None,
) -> None:
    """Claim batches as the connections need them; each connection is kept for the run.

    A connection's message is marked before that connection sends the next
    one, so a crash repeats at most the message in flight on each connection.
    The mark is handed over when the server has answered, and written only when
    a connection needs one written: before the DATA of its next message (the
    transport's `ready`, after that message's MAIL and RCPT went), when the
    envelope was refused, or at the end. Meanwhile the other connections' marks
    gather, so one transaction writes the marks of most of the connections
    instead of the two or three answered in the same turn of the loop: a commit
    costs more than the rows it writes, and the envelope's round trips hide the
    write's.

    The database work (a claim per batch, the marks, a renewal every third of a
    lease) runs in the loop's own thread: each is a short local write. Handed
    to a thread of its own it cost more than it saved: every socket call of the
    loop then waited for the interpreter's lock behind that thread.
    """
    lease = timedelta(seconds=mail.lease_seconds)
    loop = asyncio.get_running_loop()
    claims = Claims(app, worker, lease)
    queue: asyncio.Queue[Batch] = asyncio.Queue()
    state = {"remaining": limit, "exhausted": False}
    refill = asyncio.Lock()

    marks: list[tuple[Mark, asyncio.Future[bool]]] = []
    marking: list[asyncio.Task[None]] = []

    def handed(mark: Mark) -> asyncio.Future[bool]:
        """Hand a mark over to be written; the future says whether it was (False: the claim
        was lost). It is written when some connection waits for a mark (`written`)."""
        done: asyncio.Future[bool] = loop.create_future()
        marks.append((mark, done))
        return done

    async def written(done: asyncio.Future[bool]) -> bool:
        """Wait until a mark handed over is written, and say whether it was kept."""
        if not done.done() and (not marking or marking[0].done()):
            marking[:] = [asyncio.create_task(write_marks())]
        return await done

    async def write_marks() -> None:
        """Write the marks waiting, in one transaction, until none waits."""
        while marks:
            await asyncio.sleep(0)  # the answers that came in this turn join the transaction
            taken = marks[:]
            del marks[:]
            try:
                kept = claims.mark_many([mark for mark, _ in taken])
            except Exception as exc:  # each waiting connection hears it, as from its own mark
                for _, done in taken:
                    if not done.done():  # (not cancelled meanwhile)
                        done.set_exception(exc)
            else:
                for (_, done), ok in zip(taken, kept, strict=True):
                    if not done.done():
                        done.set_result(ok)

    def note(event: str, level: str = "info", **fields: Any) -> None:
        if log is not None:
            log(event, level, **fields)

    def lost(message_id: int, forbund: str, why: str, **fields: Any) -> None:
        counts["lost"] += 1
        note("lost", "warning", forbund=forbund, item=f"outbox:{message_id}", why=why, **fields)

    async def keep_renewed() -> None:
        """Renew the leases in hand as time passes, also while a slow send goes on."""
        step = max(0.05, lease.total_seconds() / 6)
        while True:
            await asyncio.sleep(step)
            try:
                claims.keep(RENEW_BELOW)
            except Exception as exc:  # said here; the check before each send retries it
                note("renew-failed", "error", error=f"{type(exc).__name__}: {exc}")

    async def next_message() -> Batch | None:
        if stop is not None and stop.is_set():
            return None
        if not queue.empty():
            return queue.get_nowait()
        async with refill:
            if queue.empty() and not state["exhausted"]:
                size = max(1, mail.concurrency * 16)
                if state["remaining"] is not None:
                    size = min(size, state["remaining"])
                taken = claims.take_messages(size) if size > 0 else []
                if not taken:
                    state["exhausted"] = True
                else:
                    if state["remaining"] is not None:
                        state["remaining"] -= len(taken)
                    for item in taken:
                        queue.put_nowait(item)
        return None if queue.empty() else queue.get_nowait()

    async def one_connection() -> None:
        conn = None
        # the previous message's mark, handed over but maybe not written yet: the
        # next message's envelope goes meanwhile, its DATA only once it is written
        pending: list[tuple[asyncio.Future[bool], int, str, str, str, list[str], str]] = []

        async def settle() -> None:
            """Wait for the previous message's mark and count it (again: a no-op)."""
            while pending:
                done, message_id, forbund, key, kind, envelope, detail = pending.pop()
                try:
                    kept = await written(done)
                except Exception as exc:  # the run ends, as when a mark failed before
                    raise _Unmarked(exc) from exc
                if not kept:
                    lost(
                        message_id,
                        forbund,
                        "the lease ran out before it was marked; its holder sends it again",
                        outcome=key,
                    )
                    continue
                counts[key] += 1
                note(
                    key,
                    forbund=forbund,
                    item=f"outbox:{message_id}",
                    kind=kind,
                    to=envelope,
                    **({} if key == "sent" else {"detail": detail}),
                )

        try:
            while (item := await next_message()) is not None:
                message_id, sender, recipients, raw, mid, why, tries, forbund, kind, took = item
                # the claim is still ours and will last a while: only then does it go
                claims.keep(SEND_BELOW)
                if not claims.holds(message_id):
                    lost(message_id, forbund, "the lease ran out before it was sent")
                    continue
                hidden = redaction.redact(kind, raw) if redaction.holds_secret(kind) else None
                if why:
                    await settle()
                    skipped = Mark(
                        message_id, "skipped", why, {}, mail.max_attempts, tries, took, hidden
                    )
                    if await written(handed(skipped)):
                        counts["skipped"] += 1
                        note("skipped", forbund=forbund, item=f"outbox:{message_id}", why=why)
                    else:
                        lost(message_id, forbund, "the lease ran out before it was skipped")
                    continue
                envelope = [r for r in recipients if r not in took]
                per: dict[str, tuple[str, str]] = {}
                newly: list[str] = []
                if not envelope:  # every recipient has it already (a retry of a retry)
                    outcome, detail = "sent", "every recipient had already accepted it"
                else:
                    try:
                        if conn is None:
                            conn = await chosen.open()
                        result = await conn.send(sender, envelope, raw, mid, settle)
                        outcome, detail = result.outcome, result.detail()
                        per, newly = result.per_recipient, result.accepted
                    except _Unmarked as exc:  # the previous mark failed, not this message
                        raise exc.error from None
                    except (TimeoutError, OSError) as exc:
                        outcome, detail = "transient", f"{type(exc).__name__}: {exc}"
                        conn = None
                    except Exception as exc:  # one message fails, never the queue
                        # start-up: aiosmtplib loads only when mail is sent
                        import aiosmtplib

                        transient = isinstance(exc, aiosmtplib.SMTPException)
                        outcome = "transient" if transient else "permanent"
                        detail = f"{type(exc).__name__}: {exc}"
                        conn = None
                # the previous mark is written before this one is handed over (the
                # transport waited for it before the DATA; a refused envelope did not)
                await settle()
                has_it = set(took).union(newly)
                accepted = [r for r in recipients if r in has_it]
                # marked before the DATA of the next message on this connection
                key = {"sent": "sent", "transient": "transient"}.get(outcome, "failed")
                settled = "sent" if outcome == "sent" else "failed"
                kept = None if not redaction.hidden_when(kind, settled) else hidden
                answered = Mark(
                    message_id, outcome, detail, per, mail.max_attempts, tries, accepted, kept
                )
                pending.append((handed(answered), message_id, forbund, key, kind, envelope, detail))
            await settle()
        except _Unmarked as exc:
            raise exc.error from None
        finally:
            if conn is not None:
                await conn.close()

    renewing = asyncio.create_task(keep_renewed())
    connections = [asyncio.create_task(one_connection()) for _ in range(max(1, mail.concurrency))]
    try:
        await asyncio.gather(*connections)
    finally:
        # when one connection failed, the others stop too: the claims close below.
        # The marks already handed over are written (those messages went).
        for task in (renewing, *connections):
            task.cancel()
        await asyncio.gather(renewing, *connections, *marking, return_exceptions=True)
        if marks:  # handed over by a connection that stopped before it waited for them
            marking[:] = [asyncio.create_task(write_marks())]
            await asyncio.gather(*marking, return_exceptions=True)
        left = [queue.get_nowait()[0] for _ in range(queue.qsize())]
        left = [i for i in left if claims.holds(i)]
        claims.close()
        if left:
            release(app, left, worker)


# ---------------------------------------------------------------- reading


def message_dict(m: OutboxMessage, full: bool = False) -> MessageView:
    data: MessageView = {
        "id": m.id,
        "key": m.key,
        "kind": m.kind,
        "subject": m.subject,
        "recipients": list(m.recipients),
        "state": m.state,
        "attempts": m.attempts,
        "not_before": m.not_before.isoformat(),
        "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None,
        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        "message_id": m.message_id,
        "last_error": m.last_error,
        "accepted": list(m.accepted or []),
    }
    if full:  # a secret still in a waiting message is not shown (see `redaction`)
        data["raw"] = redaction.redact(m.kind, m.raw).decode("utf-8", "replace")
    return data


PAGE_SIZE = paging.PAGE_SIZE  # `outbox list` without --limit
STATES = ("draft", "queued", "sending", "sent", "failed", "skipped")


class MessagePage(TypedDict):
    """One page of `outbox list`: the messages, newest first, and how to get the older ones
    (`next` is `{"before": id}` to pass back, or None on the last page)."""

    messages: list[MessageView]
    next: dict[str, int] | None


def _check_page(state: str | None, limit: int | None, before: int | None) -> None:
    """Refuse a page that cannot be asked for, naming what would be right."""
    if state is not None and state not in STATES:
        raise UsageError(f"--state {state!r} is not known", f"use one of {', '.join(STATES)}")
    paging.check_limit(limit)
    paging.check_id(before, "a message id")


def list_messages(
    app: App,
    state: str | None = None,
    *,
    limit: int | None = PAGE_SIZE,
    before: int | None = None,
) -> MessagePage:
    """The newest `limit` messages (all with `limit=None`) with an id below `before`.

    One query, whatever the outbox holds: it asks for one row more than it shows, so
    `next` is set only when an older page exists, and leaves out the raw message and
    the draft (the bulk of a row; `show` has them). Ids only grow, so paging by
    `before` neither repeats nor skips a message when new ones are queued meanwhile.
    """
    _check_page(state, limit, before)
    query = (
        sa.select(OutboxMessage)
        .options(defer(OutboxMessage.raw), defer(OutboxMessage.draft))
        .order_by(OutboxMessage.id.desc())
    )
    if state:
        query = query.where(OutboxMessage.state == state)
    if before is not None:
        query = query.where(OutboxMessage.id < before)
    if limit is not None:
        query = query.limit(limit + 1)
    with read(app) as uow:
        rows = list(uow.session.scalars(query))
        shown = rows if limit is None else rows[:limit]
        more = limit is not None and len(rows) > limit
        return {
            "messages": [message_dict(m) for m in shown],
            "next": {"before": cast(int, shown[-1].id)} if more else None,
        }


def _message(s: Any, message_id: int) -> OutboxMessage:
    m = s.get(OutboxMessage, message_id)
    if m is None:
        raise NotFound(f"unknown message {message_id}", "see 'finsam outbox list'")
    return m  # type: ignore[no-any-return]


def show(app: App, message_id: int) -> MessageDetail:
    with read(app) as uow:
        s = uow.session
        m = _message(s, message_id)
        data = cast(MessageDetail, message_dict(m, full=True))
        data["attempts_log"] = [
            {
                "at": a.at.isoformat(),
                "worker": a.worker,
                "recipient": a.recipient,
                "outcome": a.outcome,
                "detail": a.detail,
            }
            for a in s.scalars(
                sa.select(OutboxAttempt)
                .where(OutboxAttempt.message == m.id)
                .order_by(OutboxAttempt.id)
            )
        ]
        return data


def retry(app: App, message_id: int, actor_email: str | None, channel: str = "cli") -> MessageView:
    """Queue a failed (or waiting) message to go with the next send.

    Recipients who accepted it before keep it: the next attempt goes to the
    others only (`accepted` says who has it). A message that failed before it
    was ever made (its draft could not be rendered) is drafted anew instead,
    so the corrected data makes it, never an empty one. A retry sends mail in the
    förbund's name, so it is a change like any other: the förbund file's
    `[permissions] mail` says who may, and the trail says who did.
    """
    now = app.clock.now()

    def work(uow: UnitOfWork) -> MessageView:
        s = uow.session
        m = _message(s, message_id)
        row = forbunds.resolve(s, m.forbund_key)
        who, role = forbunds.authorise(forbunds.config_of(row), actor_email, "mail")
        if redaction.holds_secret(m.kind) and m.kind not in redaction.KEPT_FOR_RETRY:
            # its link is gone from it, or soon expires
            raise UsageError(
                f"message {m.id} is a sign-in link; a sign-in link is never sent again",
                "ask for a new link at /signin",
            )
        if m.state not in ("failed", "queued"):
            raise UsageError(
                f"message {m.id} is {m.state}; only a failed or waiting message is retried"
            )
        before = m.state
        m.state, m.next_attempt_at = ("draft" if m.draft is not None else "queued"), now
        s.add(m)
        audit.change(
            s,
            at=now,
            forbund_key=row.key,
            subject=f"message:{m.id}",
            action="retry",
            actor=who,
            role=role,
            from_state=before,
            to_state=m.state,
            comment=f"{m.kind} {m.subject!r} put back in the queue"
            + (f" (it failed: {m.last_error[:300]})" if m.last_error else ""),
            channel=channel,
        )
        return message_dict(m)

    return write(app, work)


def counts(app: App) -> dict[str, int]:
    with read(app) as uow:
        rows = uow.session.execute(
            sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state)
        )
        return {state: n for state, n in rows}


def due_at(app: App) -> datetime | None:
    with read(app) as uow:
        return uow.session.scalar(
            sa.select(sa.func.min(OutboxMessage.not_before)).where(OutboxMessage.state == "queued")
        )
