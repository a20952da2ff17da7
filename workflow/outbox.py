"""Delivering the outbox: claim a few rows, send them, mark each one as it goes.

Claims are short transactions with a lease (who, until when): on PostgreSQL
`FOR UPDATE SKIP LOCKED`, so several deliverers never take the same row; on
SQLite one writer at a time. Each message is marked on its own the moment its
server answers, never a batch at once, so a crash between sending and marking
repeats at most the messages that were in flight (one per connection). A
transient failure (4xx, refused or dropped connection, timeout) waits with
exponential backoff and jitter; a permanent one (5xx) fails the row with the
server's words; an unexpected error fails only that message.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from workflow.bootstrap import App
from workflow.db import UnitOfWork
from workflow.exceptions import ConfigError, NotFound, UsageError
from workflow.models import Insats, Meeting, Obligation, OutboxAttempt, OutboxMessage

BACKOFF_BASE = 60  # seconds; doubles per attempt
BACKOFF_MAX = 6 * 3600


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def settings() -> Any:
    from notifications.transport import MailSettings
    from workflow.settings import from_env

    return from_env(MailSettings, "FINSAM_MAIL_")


def transport(mail: Any) -> Any:
    from notifications.transport import TransportError, parse

    try:
        return parse(mail.url, mail)
    except TransportError as exc:
        raise ConfigError(str(exc)) from None


def backoff(attempts: int) -> timedelta:
    delay = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))


def claim(app: App, limit: int, worker: str, lease: timedelta) -> list[int]:
    """Take up to `limit` due rows for this worker, in one short statement.

    One UPDATE … RETURNING over a sub-select of the due ids: no rows travel
    through the ORM, and on PostgreSQL the sub-select skips rows another
    deliverer holds, so two never take the same row.
    """
    now = app.clock.now()
    t = OutboxMessage.__table__
    due = sa.and_(
        t.c.not_before <= now,
        sa.or_(
            sa.and_(
                t.c.state == "queued",
                sa.or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now),
            ),
            sa.and_(t.c.state == "sending", t.c.lease_until < now),
        ),
    )
    with UnitOfWork(app.engine, immediate=True) as uow:
        s = uow.session
        assert s is not None
        ids = sa.select(t.c.id).where(due).order_by(t.c.id).limit(limit)
        if s.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
            ids = ids.with_for_update(skip_locked=True)
        claimed = s.execute(
            sa.update(t)
            .where(t.c.id.in_(ids.scalar_subquery()))
            .values(state="sending", claimed_by=worker, lease_until=now + lease)
            .returning(t.c.id)
        ).scalars()
        result = sorted(claimed)
        uow.commit()
        return result


def _stale(
    s: Any, message_id: int, kind: str, key: str, ref: str | None, now: datetime
) -> str | None:
    """Why a message should no longer go, or None.

    A report submitted meanwhile is not reminded; of two reminders for one report
    still waiting (the outbox was down) only the later goes; a kallelse goes
    neither after its meeting has begun nor when a later one replaces it.
    """
    if kind == "reminder" and ref and ref.startswith("obligation:"):
        o = s.get(Obligation, int(ref.split(":")[1]))
        if o is None or o.state not in ("pending", "returned"):
            return f"report is {o.state if o else 'gone'}"
        if s.get(Insats, o.insats_id) is None:
            return "insats gone"
        if _later(s, message_id, kind, ref):
            return "a later reminder for the same report replaces it"
    if kind == "notice" and ref and ref.startswith("meeting:"):
        m = s.get(Meeting, int(ref.split(":")[1]))
        if m is None:
            return "meeting gone"
        if m.starts_at <= now:
            return "the meeting has begun"
        if key.startswith("notice:") and _later(s, message_id, kind, ref):
            return "a later kallelse for the same meeting replaces it"
    return None


def _later(s: Any, message_id: int, kind: str, ref: str) -> bool:
    t = OutboxMessage.__table__
    later = sa.select(t.c.id).where(t.c.ref == ref, t.c.kind == kind, t.c.id > message_id)
    return s.execute(later.limit(1)).first() is not None


class _Marker:
    """Marks messages one transaction each, on one raw connection held by the writer thread.

    Marking runs once per message; through the ORM it costs more than the database
    work itself, so it speaks plain SQL. SQLite stores instants the way
    SQLAlchemy's DateTime does (naive UTC text), PostgreSQL takes aware datetimes.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self.raw = app.engine.raw_connection()
        self.sqlite = app.engine.dialect.name == "sqlite"
        p = "?" if self.sqlite else "%s"
        self.update = (
            f"UPDATE outbox_message SET attempts = {p}, claimed_by = NULL, lease_until = NULL, "
            f"state = {p}, sent_at = {p}, last_error = {p}, next_attempt_at = {p} WHERE id = {p}"
        )
        self.insert = (
            "INSERT INTO outbox_attempt (message, at, worker, recipient, outcome, detail) "
            f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
        )
        self.attempts = f"SELECT attempts FROM outbox_message WHERE id = {p}"

    def _ts(self, value: datetime | None) -> Any:
        if value is None or not self.sqlite:
            return value
        v = value.astimezone(UTC)
        return (
            f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:"
            f"{v.second:02d}.{v.microsecond:06d}"
        )

    def mark(
        self,
        message_id: int,
        worker: str,
        outcome: str,
        detail: str,
        per_recipient: dict[str, tuple[str, str]],
        max_attempts: int,
        attempts: int | None = None,
    ) -> None:
        now = self.app.clock.now()
        cur = self.raw.cursor()
        try:
            if self.sqlite:
                cur.execute("BEGIN IMMEDIATE")
            if attempts is None:
                cur.execute(self.attempts, (message_id,))
                attempts = cur.fetchone()[0]
            attempts += 1
            sent_at, error, retry_at = None, detail or None, None
            if outcome == "sent":
                state, sent_at, error = "sent", now, None
            elif outcome == "skipped":
                state = "skipped"
            elif outcome == "transient" and attempts < max_attempts:
                state, retry_at = "queued", now + backoff(attempts)
            else:
                state = "failed"
            stamp = self._ts(now)
            cur.execute(
                self.update,
                (attempts, state, sent_at and stamp, error, self._ts(retry_at), message_id),
            )
            rows = [
                (message_id, stamp, worker, recipient, result, words)
                for recipient, (result, words) in (
                    per_recipient or {"*": (outcome, detail)}
                ).items()
            ]
            if len(rows) == 1:
                cur.execute(self.insert, rows[0])
            else:
                cur.executemany(self.insert, rows)
            self.raw.commit()
        except BaseException:
            self.raw.rollback()
            raise
        finally:
            cur.close()

    def close(self) -> None:
        self.raw.close()


def _mark(app: App, *args: Any) -> None:
    """Mark one message on a connection of its own (tests and single calls)."""
    marker = _Marker(app)
    try:
        marker.mark(*args)
    finally:
        marker.close()


Log = Callable[..., None]


def send(
    app: App,
    limit: int | None = None,
    *,
    stop: threading.Event | None = None,
    log: Log | None = None,
    worker: str | None = None,
) -> dict[str, int]:
    """Deliver what is due now, and exit; the counts say how it went.

    `stop` (set by the scheduler on SIGTERM) ends the run after the messages in
    hand; what was claimed but not begun goes back to the queue at once, not
    after its lease. `log` hears one event per message.
    """
    mail = settings()
    chosen = transport(mail)
    counts = {"sent": 0, "transient": 0, "failed": 0, "skipped": 0}
    asyncio.run(_send_all(app, chosen, worker or worker_name(), mail, counts, limit, stop, log))
    return counts


def release(app: App, ids: list[int], worker: str) -> int:
    """Give back claimed rows this worker has not begun to send."""
    if not ids:
        return 0
    t = OutboxMessage.__table__
    with UnitOfWork(app.engine, immediate=True) as uow:
        assert uow.session is not None
        done = uow.session.execute(
            sa.update(t)
            .where(t.c.id.in_(ids), t.c.claimed_by == worker, t.c.state == "sending")
            .values(state="queued", claimed_by=None, lease_until=None)
        )
        uow.commit()
        return int(done.rowcount or 0)


# id, sender, recipients, raw, Message-ID, why not, tries, förbund, kind
Batch = tuple[int, str, list[str], bytes, str, str | None, int, str, str]


def _load_batch(app: App, ids: list[int]) -> list[Batch]:
    """The claimed messages, read once: id, sender, recipients, raw, Message-ID, why not, tries."""
    t = OutboxMessage.__table__
    now = app.clock.now()
    with UnitOfWork(app.engine) as uow:
        s = uow.session
        assert s is not None
        rows = s.execute(
            sa.select(
                t.c.id,
                t.c.sender,
                t.c.recipients,
                t.c.raw,
                t.c.message_id,
                t.c.kind,
                t.c.ref,
                t.c.attempts,
                t.c.forbund_key,
                t.c.key,
            )
            .where(t.c.id.in_(ids))
            .order_by(t.c.id)
        ).all()
        return [
            (
                r.id,
                r.sender,
                list(r.recipients),
                r.raw,
                r.message_id,
                _stale(s, r.id, r.kind, r.key, r.ref, now),
                r.attempts,
                r.forbund_key,
                r.kind,
            )
            for r in rows
        ]


async def _send_all(
    app: App,
    chosen: Any,
    worker: str,
    mail: Any,
    counts: dict[str, int],
    limit: int | None,
    stop: threading.Event | None = None,
    log: Log | None = None,
) -> None:
    """Claim batches as the connections need them; each connection is kept for the run.

    The database work (a claim per batch, a mark per message) runs in the loop's own
    thread: each is a short local write, cheaper than handing it to another thread.
    A connection's message is marked before that connection sends the next one, so
    a crash repeats at most the message in flight on each connection.
    """
    marker = _Marker(app)
    mark = marker.mark

    queue: asyncio.Queue[Batch] = asyncio.Queue()
    lease = timedelta(seconds=mail.lease_seconds)
    state = {"remaining": limit, "exhausted": False}
    refill = asyncio.Lock()

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
                ids = claim(app, size, worker, lease) if size > 0 else []
                if not ids:
                    state["exhausted"] = True
                else:
                    if state["remaining"] is not None:
                        state["remaining"] -= len(ids)
                    for item in _load_batch(app, ids):
                        queue.put_nowait(item)
        return None if queue.empty() else queue.get_nowait()

    async def one_connection() -> None:
        conn = None
        try:
            while (item := await next_message()) is not None:
                message_id, sender, recipients, raw, mid, why, tries, forbund, kind = item
                if why:
                    mark(message_id, worker, "skipped", why, {}, mail.max_attempts, tries)
                    counts["skipped"] += 1
                    if log is not None:
                        log("skipped", forbund=forbund, item=f"outbox:{message_id}", why=why)
                    continue
                try:
                    if conn is None:
                        conn = await chosen.open()
                    result = await conn.send(sender, recipients, raw, mid)
                    outcome, detail, per = result.outcome, result.detail(), result.per_recipient
                except (TimeoutError, OSError) as exc:
                    outcome, detail, per = "transient", f"{type(exc).__name__}: {exc}", {}
                    conn = None
                except Exception as exc:  # one message fails, never the queue
                    import aiosmtplib

                    transient = isinstance(exc, aiosmtplib.SMTPException)
                    outcome = "transient" if transient else "permanent"
                    detail, per = f"{type(exc).__name__}: {exc}", {}
                    conn = None
                # marked before the next send on this connection, in the loop's own
                # thread: a short local write is cheaper than handing it to a thread
                mark(message_id, worker, outcome, detail, per, mail.max_attempts, tries)
                key = {"sent": "sent", "transient": "transient"}.get(outcome, "failed")
                counts[key] += 1
                if log is not None:
                    log(
                        key,
                        forbund=forbund,
                        item=f"outbox:{message_id}",
                        kind=kind,
                        to=recipients,
                        **({} if key == "sent" else {"detail": detail}),
                    )
        finally:
            if conn is not None:
                await conn.close()

    try:
        await asyncio.gather(*(one_connection() for _ in range(max(1, mail.concurrency))))
    finally:
        marker.close()
        left = [queue.get_nowait()[0] for _ in range(queue.qsize())]
        if left:
            release(app, left, worker)


# ---------------------------------------------------------------- reading


def message_dict(m: OutboxMessage, full: bool = False) -> dict[str, Any]:
    data = {
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
    }
    if full:
        data["raw"] = m.raw.decode("utf-8", "replace")
    return data


def list_messages(app: App, state: str | None = None) -> list[dict[str, Any]]:
    states = ("queued", "sending", "sent", "failed", "skipped")
    if state is not None and state not in states:
        raise UsageError(f"--state {state!r} is not known", f"use one of {', '.join(states)}")
    with UnitOfWork(app.engine) as uow:
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if state:
            query = query.where(OutboxMessage.state == state)
        return [message_dict(m) for m in uow.session.scalars(query)]  # type: ignore[union-attr]


def _message(s: Any, message_id: int) -> OutboxMessage:
    m = s.get(OutboxMessage, message_id)
    if m is None:
        raise NotFound(f"unknown message {message_id}", "see 'finsam outbox list'")
    return m  # type: ignore[no-any-return]


def show(app: App, message_id: int) -> dict[str, Any]:
    with UnitOfWork(app.engine) as uow:
        s = uow.session
        assert s is not None
        m = _message(s, message_id)
        data = message_dict(m, full=True)
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


def retry(app: App, message_id: int) -> dict[str, Any]:
    now = app.clock.now()
    with UnitOfWork(app.engine) as uow:
        s = uow.session
        assert s is not None
        m = _message(s, message_id)
        if m.state not in ("failed", "queued"):
            raise UsageError(
                f"message {m.id} is {m.state}; only a failed or waiting message is retried"
            )
        m.state, m.next_attempt_at = "queued", now
        s.add(m)
        uow.commit()
        return message_dict(m)


def counts(app: App) -> dict[str, int]:
    with UnitOfWork(app.engine) as uow:
        rows = uow.session.execute(  # type: ignore[union-attr]
            sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state)
        )
        return {state: n for state, n in rows}


def due_at(app: App) -> datetime | None:
    with UnitOfWork(app.engine) as uow:
        return uow.session.scalar(  # type: ignore[union-attr]
            sa.select(sa.func.min(OutboxMessage.not_before)).where(OutboxMessage.state == "queued")
        )
