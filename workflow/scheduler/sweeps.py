"""The scheduler's sweeps: each reads finsam's own tables for what is due now and does it.

The tables hold the truth (what is due, and when), so a sweep can run late,
twice, or on two nodes at once and still do each thing once: queued messages
have idempotency keys, obligations are unique per insats, kind and year, and
outbox rows are claimed with leases. A sweep's cost follows what is due, not
the years behind it (`bench/sweep.py`).

No sweep renders a message inside a write transaction: SQLite has one writer,
and every other command would wait for the whole sweep. Messages are read as
drafts, rendered outside, and inserted in short batches (`workflow.mail.compose`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.events import ReportsOwed
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import UsageError
from workflow.core.models import Forbund, OutboxMessage
from workflow.core.uow import UnitOfWork, read, retrying, write
from workflow.forbund import registry as forbunds
from workflow.mail import compose as notify
from workflow.mail import delivery as outbox
from workflow.reports import obligations as reports

# From this day (month, day) on, the coming year is swept too: its obligations
# are created once its meetings exist, and the förbundschef is reminded while
# they do not.
NEXT_YEAR_FROM = (10, 1)


def quiet(event: str, *args: Any, **fields: Any) -> None:
    """A log that keeps nothing: for sweeps run from tests, benchmarks and the demo."""
    return None


@dataclass
class Context:
    """What a sweep gets besides the app: who runs it, how to log, when to stop."""

    worker: str
    log: Callable[..., None] = quiet
    stop: threading.Event = field(default_factory=threading.Event)


# ---------------------------------------------------------------- year


def years_swept(now: datetime) -> list[int]:
    """This year, and from NEXT_YEAR_FROM on the coming one too."""
    today = now.astimezone(LOCAL_TZ).date()
    if (today.month, today.day) >= NEXT_YEAR_FROM:
        return [today.year, today.year + 1]
    return [today.year]


def obligations_in(
    uow: UnitOfWork, now: datetime, years: list[int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The obligations of every year that has board meetings, in the caller's transaction:
    (what was created, what was skipped and why), as plain data to log after the commit.
    The new ones' project people hear of them (`ReportsOwed`, a mail each)."""
    s = uow.session
    created: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for row in s.scalars(sa.select(Forbund).order_by(Forbund.key)):
        cfg = forbunds.config_of(row)
        for year in years:
            if not reports.has_board_meetings(s, row, cfg, year):
                continue  # the chef is reminded instead (cycle_drafts)
            try:
                with s.begin_nested():
                    new = reports.generate_in(s, row, cfg, year, now)
            except UsageError as exc:
                skipped.append({"forbund": row.key, "year": year, "why": exc.message})
                continue
            created += [
                {"forbund": row.key, "item": f"obligation:{o.id}", "report": o.name, "due": o.due}
                for o in new
            ]
            if new:
                uow.record(ReportsOwed(tuple(o.id or 0 for o in new), now))
    return created, skipped


def cycle_drafts(s: Session, now: datetime, years: list[int]) -> list[notify.Draft]:
    """The förbundschef's reminder for each swept year without board meetings (read only)."""
    drafts = []
    for row in s.scalars(sa.select(Forbund).order_by(Forbund.key)):
        cfg = forbunds.config_of(row)
        for year in years:
            draft = notify.cycle_missing(s, row, cfg, year, now)
            if draft is not None:
                drafts.append(draft)
    return drafts


def _failure_logger(ctx: Context) -> Callable[[notify.Failed], None]:
    """Log a message that could not be made, with its reason; the sweep goes on."""

    def logged(f: notify.Failed) -> None:
        ctx.log(
            "message-failed", "error", forbund=f.forbund_key, item=f.key, ref=f.ref, why=f.reason
        )

    return logged


def _year(app: App, ctx: Context) -> dict[str, Any]:
    """This year's (and from October the coming year's) obligations, or a cycle reminder.

    The obligations are a few rows per insats, created in one write; the
    reminders (one per förbund and year at most) are read, rendered outside,
    then inserted. A few rows per förbund: short enough not to need `stop`.
    """
    now = app.clock.now()
    years = years_swept(now)
    created, skipped = write(app, lambda uow: obligations_in(uow, now, years))
    for skip in skipped:
        ctx.log("obligations-skipped", "warning", **skip)
    for o in created:
        ctx.log("obligation", **o)
    with read(app) as uow:
        drafts = cycle_drafts(uow.session, now, years)
    failed: list[notify.Failed] = []
    log_failure = _failure_logger(ctx)

    def fail(f: notify.Failed) -> None:
        failed.append(f)
        log_failure(f)

    reminded = notify.queue(app, drafts, now, on_failed=fail)
    for q in reminded:
        ctx.log("cycle-missing", forbund=q.forbund_key, item=q.ref)
    return {
        "obligations": len(created),
        "cycle_reminders": len(reminded),
        **notify.failure_detail(failed),
    }


# ---------------------------------------------------------------- notify


def _notify(app: App, ctx: Context) -> dict[str, Any]:
    """Reminders and kallelser: read, rendered outside, inserted in short batches;
    `stop` ends it after the batch in hand, what was inserted stands. A message
    that cannot be made is logged and counted, and the others go on."""

    def logged(q: notify.Queued) -> None:
        ctx.log("queued", forbund=q.forbund_key, item=f"outbox:{q.id}", kind=q.kind, ref=q.ref)

    return notify.sweep(app, stop=ctx.stop, on_queued=logged, on_failed=_failure_logger(ctx))


# ---------------------------------------------------------------- outbox


def _outbox(app: App, ctx: Context) -> dict[str, Any]:
    return dict(outbox.send(app, stop=ctx.stop, log=ctx.log, worker=ctx.worker))


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Sweep:
    name: str
    run: Callable[[App, Context], dict[str, Any]]  # counts; "failed" and "problems" if any
    every: int  # seconds, the default; FINSAM_SCHEDULER_<NAME>_SECONDS overrides
    exclusive: bool  # on PostgreSQL one node at a time (an advisory lock); else all share
    doc: str


SWEEPS: tuple[Sweep, ...] = (
    Sweep(
        "year",
        _year,
        3600,
        True,
        "create the year's report obligations; remind the förbundschef of missing meetings",
    ),
    Sweep(
        "notify",
        _notify,
        300,
        True,
        "queue the reminders and kallelser that have fallen due",
    ),
    Sweep("outbox", _outbox, 60, False, "deliver what is queued (rows claimed with leases)"),
)
BY_NAME = {s.name: s for s in SWEEPS}


def dry_run(app: App) -> dict[str, Any]:
    """What a tick would create, queue and send now, changing nothing.

    The year's obligations are created in a transaction that is never
    committed, so the reminders they would make due are counted too; that
    transaction also reads the drafts and what is queued already, and is rolled
    back before anything is rendered (on SQLite it holds the write lock only if
    it created obligations, and only until then). The drafts are then rendered
    and counted, never inserted: a message not queued yet has no id (None).
    """
    now = app.clock.now()
    years = years_swept(now)
    t = OutboxMessage

    def attempt(
        deadline: float,
    ) -> tuple[int, list[notify.Draft], list[notify.Draft], Any, list[notify.Failed]]:
        with UnitOfWork(app, deadline=deadline) as uow:  # never committed
            s = uow.session
            created, _ = obligations_in(uow, now, years)
            cycle = cycle_drafts(s, now, years)
            failed: list[notify.Failed] = []
            drafts = notify.due_in(s, now, failed.append)
            due = s.scalars(
                sa.select(t)
                .where(
                    t.state == "queued",
                    t.not_before <= now,
                    sa.or_(t.next_attempt_at.is_(None), t.next_attempt_at <= now),
                )
                .order_by(t.id)
            ).all()
            waiting = [
                {
                    "id": m.id,
                    "forbund": m.forbund_key,
                    "kind": m.kind,
                    "to": list(m.recipients),
                    "subject": m.subject,
                }
                for m in due
            ]
            return len(created), cycle, drafts, waiting, failed

    obligations, cycle, drafts, send, failed = retrying(app, attempt)
    for f in failed:  # a förbund whose messages cannot be drafted at all
        entry = {"id": None, "forbund": f.forbund_key, "kind": f.kind, "to": []}
        send.append({**entry, "subject": None, "error": f.reason})
    for d in [*cycle, *drafts]:
        entry = {"id": None, "forbund": d.forbund_key, "kind": d.kind}
        try:
            values = notify.render_draft(d, now).values
        except Exception as exc:  # one message fails, never the dry run
            failure = d.failed(exc)
            send.append({**entry, "to": d.emails(), "subject": None, "error": failure.reason})
            continue
        send.append({**entry, "to": list(values["recipients"]), "subject": values["subject"]})
    return {
        "now": now.isoformat(),
        "year": {"obligations": obligations, "cycle_reminders": len(cycle)},
        "notify": notify.counts(d.kind for d in drafts),
        "would_send": send,
    }
