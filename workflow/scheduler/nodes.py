"""Who runs the sweeps: nodes and their heartbeats, the last run of each sweep, locks.

On PostgreSQL any number of nodes share the work: the outbox by row leases,
the year and notify sweeps by förbund (an advisory lock per förbund while a
node works on it; the others leave that förbund to it and go on with the rest).
On SQLite, the one-machine default, a second daemon on the same database file
is refused by an OS file lock that dies with its holder, so a crash never
leaves a stale lock behind.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.app import App
from workflow.core.exceptions import ConflictError
from workflow.core.models import (
    Insats,
    Meeting,
    Obligation,
    OutboxMessage,
    SchedulerNode,
    SweepState,
)
from workflow.core.settings import sqlite_path
from workflow.core.uow import UnitOfWork, read, write
from workflow.mail import compose as notify
from workflow.mail import delivery as outbox
from workflow.scheduler.views import NextDue, NodeView, SchedulerStatus, SweepStateView


def node_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


# ---------------------------------------------------------------- SQLite: one daemon


@contextmanager
def single_daemon(app: App, name: str) -> Iterator[None]:
    """Hold `<database>.scheduler.lock` for the whole run; refuse if another process has it."""
    path = sqlite_path(app.url)
    if path is None:
        yield
        return
    import fcntl

    lock_path = path.with_name(path.name + ".scheduler.lock")
    handle: IO[str] = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the run)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ConflictError(
                f"a scheduler already runs on {path} ({holder})",
                "SQLite is the one-machine default: run one 'finsam scheduler run' per database, "
                "or share a PostgreSQL database (FINSAM_DATABASE_URL) to run several nodes",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{name}, started {app.clock.now().isoformat(timespec='seconds')}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


# ---------------------------------------------------------------- PostgreSQL: one sweep at a time


@contextmanager
def exclusive(app: App, sweep: str, needed: bool = True) -> Iterator[bool]:
    """True when this node may run `sweep` now (always on SQLite, one node at a time on PG)."""
    if not needed or app.engine.dialect.name != "postgresql":
        yield True
        return
    key = zlib.crc32(f"finsam-sweep:{sweep}".encode())
    with app.engine.connect() as conn:
        got = bool(conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


# ---------------------------------------------------------------- PostgreSQL: one förbund at a time


def lock_key(sweep: str, forbund_key: str) -> int:
    """The advisory lock of one sweep on one förbund: a stable 64-bit hash of both."""
    digest = hashlib.blake2b(f"finsam:{sweep}:{forbund_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def forbund_claims(app: App, sweep: str) -> Iterator[notify.Claim | None]:
    """On PostgreSQL, a claim per förbund for the sweep's run: each node works on the
    förbund it holds and skips those another node holds, so three nodes share a sweep
    of eighty förbund instead of waiting on one lock for all of them. The locks are
    held on one connection of their own, each only while its förbund's messages are
    made; they die with the connection, so a crashed node holds none. None on SQLite
    (one node: nothing to share)."""
    if app.engine.dialect.name != "postgresql":
        yield None
        return
    # autocommit: a claim or a release is one round trip, with no transaction around it
    with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:

        @contextmanager
        def claim(forbund_key: str) -> Iterator[bool]:
            k = lock_key(sweep, forbund_key)
            got = bool(conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": k}))
            try:
                yield got
            finally:
                if got:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": k})

        yield claim


def claim_in(s: Session, sweep: str, forbund_key: str) -> bool:
    """Claim a förbund for the caller's transaction (PostgreSQL; released at its end);
    True when this node has it, always on SQLite, whose writer is one at a time."""
    if s.get_bind().dialect.name != "postgresql":
        return True
    k = lock_key(sweep, forbund_key)
    return bool(s.scalar(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": k}))


# ---------------------------------------------------------------- nodes


def register(app: App, name: str, kind: str = "daemon") -> None:
    """A daemon gets a row of its own; ticks share one row per host, so cron adds no rows."""
    now = app.clock.now()
    host, pid = socket.gethostname(), os.getpid()

    def work(uow: UnitOfWork) -> None:
        s = uow.session
        row = s.scalars(sa.select(SchedulerNode).where(SchedulerNode.name == name)).first()
        if row is None:
            row = SchedulerNode(name=name, kind=kind, host=host, pid=pid, started_at=now)
        row.pid, row.last_beat, row.stopped_at = pid, now, (now if kind == "tick" else None)
        if kind == "tick":
            row.started_at = now
        s.add(row)

    return write(app, work)


def beat(app: App, name: str) -> None:
    t = SchedulerNode.__table__

    def work(uow: UnitOfWork) -> None:
        uow.session.execute(sa.update(t).where(t.c.name == name).values(last_beat=app.clock.now()))

    return write(app, work)


def stopped(app: App, name: str) -> None:
    t = SchedulerNode.__table__
    now = app.clock.now()

    def work(uow: UnitOfWork) -> None:
        uow.session.execute(
            sa.update(t).where(t.c.name == name).values(last_beat=now, stopped_at=now)
        )

    return write(app, work)


# ---------------------------------------------------------------- sweep runs


def record(
    app: App,
    sweep: str,
    node: str,
    started: datetime,
    finished: datetime | None,
    outcome: str,
    detail: Mapping[str, object],
) -> None:
    """Upsert the sweep's one row: the latest run by any node."""
    values = {
        "name": sweep,
        "node": node,
        "started_at": started,
        "finished_at": finished,
        "outcome": outcome,
        "detail": detail,
    }
    if app.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(SweepState.__table__).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"], set_={k: v for k, v in values.items() if k != "name"}
    )

    def work(uow: UnitOfWork) -> None:
        uow.session.execute(stmt)

    return write(app, work)


# ---------------------------------------------------------------- status


def status(app: App, stale_after: timedelta) -> SchedulerStatus:
    """Nodes, sweeps, outbox counts and the next thing due; `healthy` decides the exit code."""

    now = app.clock.now()
    with read(app) as uow:
        s = uow.session
        node_list = _node_views(s, now, stale_after)
        sweeps = s.scalars(sa.select(SweepState).order_by(SweepState.name)).all()
        sweep_list: list[SweepStateView] = [
            {
                "name": w.name,
                "node": w.node,
                "started_at": w.started_at.isoformat(),
                "finished_at": w.finished_at.isoformat() if w.finished_at else None,
                "outcome": w.outcome,
                "detail": w.detail,
            }
            for w in sweeps
        ]
        upcoming = next_due(s, now)
    counts = {k: 0 for k in ("queued", "sending", "sent", "failed", "skipped")}
    counts.update(outbox.counts(app))
    problems = sweep_problems(sweep_list)
    if counts["failed"]:
        problems.append(
            f"{counts['failed']} failed message(s): see 'finsam outbox list --state failed'"
        )
    if not any(n["alive"] for n in node_list):
        problems.append(
            f"no node has beaten in the last {int(stale_after.total_seconds())} s: "
            "is 'finsam scheduler run' (or the cron job with 'tick') running?"
        )
    return {
        "now": now.isoformat(),
        "healthy": not problems,
        "problems": problems,
        "nodes": node_list,
        "sweeps": sweep_list,
        "outbox": counts,
        "next_due": upcoming,
    }


def liveness(app: App, stale_after: timedelta) -> list[NodeView]:
    """The nodes of `status` alone, with whether each is alive: what a page shows of the
    scheduler, in one query that reads neither the outbox nor any förbund's data."""
    with read(app) as uow:
        return _node_views(uow.session, app.clock.now(), stale_after)


def _node_views(s: Any, now: datetime, stale_after: timedelta) -> list[NodeView]:
    """The running nodes, and those stopped within a day, oldest first."""
    recent = now - timedelta(days=1)
    nodes = s.scalars(
        sa.select(SchedulerNode)
        .where(sa.or_(SchedulerNode.stopped_at.is_(None), SchedulerNode.last_beat >= recent))
        .order_by(SchedulerNode.started_at)
    ).all()
    return [
        {
            "name": n.name,
            "kind": n.kind,
            "host": n.host,
            "pid": n.pid,
            "started_at": n.started_at.isoformat(),
            "last_beat": n.last_beat.isoformat(),
            "stopped_at": n.stopped_at.isoformat() if n.stopped_at else None,
            "alive": _alive(n, now, stale_after),
        }
        for n in nodes
    ]


def sweep_problems(sweeps: list[SweepStateView]) -> list[str]:
    """What the sweeps' last runs say is wrong: a sweep that errored, or messages a
    sweep could not make (those have no outbox row, so only its record tells).

    The outbox sweep's own failures are failed rows, counted from the outbox.
    """
    problems = []
    for w in sweeps:
        detail = w["detail"] or {}
        if w["outcome"] == "error":
            problems.append(
                f"the last run of the {w['name']} sweep failed: {detail.get('error', '?')}"
            )
        elif w["name"] != "outbox" and detail.get("failed"):
            named = "; ".join(detail.get("problems") or [])
            problems.append(
                f"the last run of the {w['name']} sweep could not make {detail['failed']} "
                f"message(s), tried again each run until the data is corrected: {named}"
            )
    return problems


def _alive(n: SchedulerNode, now: datetime, stale_after: timedelta) -> bool:
    recent = n.last_beat >= now - stale_after
    return recent and (n.stopped_at is None or n.kind == "tick")


def next_due(s: Any, now: datetime) -> NextDue | None:
    """The earliest thing still to happen: a message to send, a reminder, or a kallelse.

    Set-based, as the sweeps are: the förbund's parsed files (`notify.heads`); the
    reports the next sweep looks at and the one whose next reminder the sweeps set
    earliest (`next_reminder_at`), not every report owed; and each förbund's next
    meeting past its kallelse lead in one grouped query per lead time (most förbund
    share one), whatever the number of förbund."""
    found: list[tuple[datetime, str]] = []
    t = OutboxMessage
    waiting = s.execute(
        sa.select(t.id, t.subject, sa.func.coalesce(t.next_attempt_at, t.not_before))
        .where(t.state == "queued")
        .order_by(sa.func.coalesce(t.next_attempt_at, t.not_before))
        .limit(1)
    ).first()
    if waiting:
        found.append((waiting[2], f"utskick {waiting[0]}: {waiting[1]}"))
    heads = notify.heads(s)
    if heads:
        owed = sa.select(
            Obligation.due,
            Obligation.name,
            Obligation.year,
            Insats.name.label("insats"),
            Insats.forbund_id,
        ).join(Insats, Insats.id == Obligation.insats_id)
        still, at = Obligation.state.in_(notify.OPEN), Obligation.next_reminder_at
        # the reports the next sweep looks at (their reminders worked out here), and the
        # first of those whose next reminder the sweeps have set: a few rows, not every
        # report owed
        for o in [
            *s.execute(owed.where(still, at <= now)),
            *s.execute(owed.where(still, at > now).order_by(at, Obligation.id).limit(1)),
        ]:
            head = heads.get(o.forbund_id)
            if head is None:
                continue
            later = [at for at, _ in notify.reminder_times(o, head.cfg) if at > now]
            if later:
                found.append((min(later), f"påminnelse: {o.name} {o.year}, {o.insats}"))
        by_lead: dict[int, list[int]] = {}
        for id_, head in heads.items():
            by_lead.setdefault(head.cfg.mail.notice_days_before, []).append(id_)
        firsts: list[tuple[datetime, int]] = []  # (kallelse time, förbund id)
        for days, ids in sorted(by_lead.items()):
            lead = timedelta(days=days)
            for i in range(0, len(ids), 500):
                for forbund_id, starts_at in s.execute(
                    sa.select(Meeting.forbund_id, sa.func.min(Meeting.starts_at))
                    .where(
                        Meeting.forbund_id.in_(ids[i : i + 500]),
                        Meeting.status != "cancelled",
                        Meeting.starts_at > now + lead,
                    )
                    .group_by(Meeting.forbund_id)
                ):
                    firsts.append((starts_at - lead, forbund_id))
        if firsts:
            at, forbund_id = min(firsts)
            lead = timedelta(days=heads[forbund_id].cfg.mail.notice_days_before)
            key = s.scalars(
                sa.select(Meeting.key)
                .where(
                    Meeting.forbund_id == forbund_id,
                    Meeting.status != "cancelled",
                    Meeting.starts_at == at + lead,
                )
                .order_by(Meeting.id)
                .limit(1)
            ).first()
            found.append((at, f"kallelse: {key}"))
    if not found:
        return None
    when, what = min(found)
    return {"at": when.isoformat(), "what": what}
