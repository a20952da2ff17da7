"""The scheduler's sweeps: each reads finsam's own tables for what is due now and does it.

The tables hold the truth (what is due, and when), so a sweep can run late,
twice, or on two nodes at once and still do each thing once: queued messages
have idempotency keys, obligations are unique per insats, kind and year, and
outbox rows are claimed with leases. A sweep's cost follows what is due, not
the years behind it (`bench/sweep.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.bootstrap import App
from workflow.clock import LOCAL_TZ

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


def year_in(
    s: Session,
    now: datetime,
    log: Callable[..., None] = quiet,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    """This year's (and from October the coming year's) obligations, or a cycle reminder.

    A few rows per förbund: short enough not to need `stop`, which it takes
    only to have the same shape as the other sweeps.
    """
    from workflow import forbunds, notify, reports
    from workflow.exceptions import UsageError
    from workflow.models import Forbund

    today = now.astimezone(LOCAL_TZ).date()
    years = [today.year]
    if (today.month, today.day) >= NEXT_YEAR_FROM:
        years.append(today.year + 1)
    counts = {"obligations": 0, "cycle_reminders": 0}
    for row in s.scalars(sa.select(Forbund).order_by(Forbund.key)):
        cfg = forbunds.config_of(row)
        for year in years:
            if not reports.has_board_meetings(s, row, cfg, year):
                if notify.cycle_missing(s, row, cfg, year, now):
                    counts["cycle_reminders"] += 1
                    log("cycle-missing", forbund=row.key, item=f"year:{year}")
                continue
            try:
                with s.begin_nested():
                    created = reports.generate_in(s, row, cfg, year, now)
            except UsageError as exc:
                log("obligations-skipped", "warning", forbund=row.key, year=year, why=exc.message)
                continue
            for o in created:
                log(
                    "obligation",
                    forbund=row.key,
                    item=f"obligation:{o.id}",
                    report=o.name,
                    due=o.due,
                )
            counts["obligations"] += len(created)
    return counts


def _committed(work: Callable[..., dict[str, int]]) -> Any:
    """A sweep that does `work` in one transaction of its own and commits it."""

    def run(app: App, ctx: Context) -> dict[str, int]:
        from workflow.db import UnitOfWork

        with UnitOfWork(app.engine) as uow:
            assert uow.session is not None
            counts = work(uow.session, app.clock.now(), ctx.log, ctx.stop)
            uow.commit()
        return counts

    return run


# ---------------------------------------------------------------- notify


def notify_in(
    s: Session,
    now: datetime,
    log: Callable[..., None] = quiet,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    from workflow import notify
    from workflow.models import OutboxMessage

    before = s.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
    counts = notify.sweep_in(s, now, stop)
    s.flush()
    for m in s.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.id > before).order_by(OutboxMessage.id)
    ):
        log("queued", forbund=m.forbund_key, item=f"outbox:{m.id}", kind=m.kind, ref=m.ref)
    return counts


# ---------------------------------------------------------------- outbox


def _outbox(app: App, ctx: Context) -> dict[str, int]:
    from workflow import outbox

    return outbox.send(app, stop=ctx.stop, log=ctx.log, worker=ctx.worker)


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Sweep:
    name: str
    run: Callable[[App, Context], dict[str, int]]
    every: int  # seconds, the default; FINSAM_SCHEDULER_<NAME>_SECONDS overrides
    exclusive: bool  # on PostgreSQL one node at a time (an advisory lock); else all share
    doc: str


SWEEPS: tuple[Sweep, ...] = (
    Sweep(
        "year",
        _committed(year_in),
        3600,
        True,
        "create the year's report obligations; remind the förbundschef of missing meetings",
    ),
    Sweep(
        "notify",
        _committed(notify_in),
        300,
        True,
        "queue the reminders and kallelser that have fallen due",
    ),
    Sweep("outbox", _outbox, 60, False, "deliver what is queued (rows claimed with leases)"),
)
BY_NAME = {s.name: s for s in SWEEPS}


def dry_run(app: App) -> dict[str, Any]:
    """What a tick would queue and send now, from a transaction that is rolled back."""
    from workflow.db import UnitOfWork
    from workflow.models import OutboxMessage

    now = app.clock.now()
    t = OutboxMessage
    with UnitOfWork(app.engine) as uow:
        s = uow.session
        assert s is not None
        year = year_in(s, now)
        notify = notify_in(s, now)
        s.flush()
        due = s.scalars(
            sa.select(t)
            .where(
                t.state == "queued",
                t.not_before <= now,
                sa.or_(t.next_attempt_at.is_(None), t.next_attempt_at <= now),
            )
            .order_by(t.id)
        ).all()
        send = [
            {
                "id": m.id,
                "forbund": m.forbund_key,
                "kind": m.kind,
                "to": list(m.recipients),
                "subject": m.subject,
            }
            for m in due
        ]
    return {"now": now.isoformat(), "year": year, "notify": notify, "would_send": send}
