"""Running the sweeps: once (`tick`, for cron) or as a daemon on APScheduler 3 (`run`).

APScheduler only says *when*; the database says *what*. Each node keeps its
jobs in memory (a job store must never be shared between schedulers), and
every job is an idempotent sweep, so a run that comes late or twice does no
harm. That is why `misfire_grace_time` is None (a late run still runs: the
default of one second would silently drop it) and `coalesce` is True (after
a long pause one run does what the missed ones would have done).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workflow.core.app import App
from workflow.core.clock import FixedClock, RunningClock
from workflow.core.logs import EventLog, forward_library_logs
from workflow.core.settings import from_env
from workflow.mail import delivery as outbox
from workflow.scheduler import nodes
from workflow.scheduler.sweeps import SWEEPS, Context, Sweep
from workflow.scheduler.views import SweepError, SweepRun


class SchedulerSettings(BaseSettings):
    """FINSAM_SCHEDULER_*: how often each sweep runs, and when a node counts as gone."""

    model_config = SettingsConfigDict(env_prefix="FINSAM_SCHEDULER_", extra="ignore")

    year_seconds: float = Field(3600, gt=0)
    notify_seconds: float = Field(300, gt=0)
    outbox_seconds: float = Field(60, gt=0)
    heartbeat_seconds: float = Field(15, gt=0)
    stale_seconds: float = Field(300, gt=0)

    @model_validator(mode="after")
    def _beats_before_stale(self) -> SchedulerSettings:
        if self.stale_seconds < 2 * self.heartbeat_seconds:
            raise ValueError(
                f"FINSAM_SCHEDULER_STALE_SECONDS ({self.stale_seconds:g}) must be at least twice "
                f"FINSAM_SCHEDULER_HEARTBEAT_SECONDS ({self.heartbeat_seconds:g}), "
                "or a live node would be reported gone"
            )
        return self

    def every(self, sweep: Sweep) -> float:
        return float(getattr(self, f"{sweep.name}_seconds"))


def settings() -> SchedulerSettings:

    return from_env(SchedulerSettings, "FINSAM_SCHEDULER_")  # type: ignore[no-any-return]


def check_mail() -> None:
    """Refuse to start on mail settings that cannot work, rather than fail every sweep."""

    outbox.transport(outbox.settings())


def run_sweep(app: App, sweep: Sweep, ctx: Context) -> SweepRun:
    """One sweep, recorded in sweep_state; an error is logged and recorded, never raised."""
    with nodes.exclusive(app, sweep.name, sweep.exclusive) as mine:
        if not mine:
            ctx.log("sweep-skipped", sweep=sweep.name, why="another node is running it")
            return {"sweep": sweep.name, "outcome": "skipped"}
        started = app.clock.now()
        ctx.log("sweep-start", sweep=sweep.name)
        try:
            counts = sweep.run(app, ctx)
        except Exception as exc:  # one sweep fails, the daemon goes on
            detail: SweepError = {"error": f"{type(exc).__name__}: {exc}"}
            ctx.log("sweep-failed", "error", sweep=sweep.name, **detail)
            _record(app, sweep, ctx, started, "error", detail)
            return {"sweep": sweep.name, "outcome": "error", **detail}
        ctx.log("sweep-done", sweep=sweep.name, **counts)
        _record(app, sweep, ctx, started, "ok", counts)
        return {"sweep": sweep.name, "outcome": "ok", "counts": counts}


def _record(
    app: App, sweep: Sweep, ctx: Context, started: Any, outcome: str, detail: Mapping[str, object]
) -> None:
    try:
        nodes.record(app, sweep.name, ctx.worker, started, app.clock.now(), outcome, detail)
    except Exception as exc:  # the database is away: say so, the next run will write it
        ctx.log("record-failed", "error", sweep=sweep.name, error=f"{type(exc).__name__}: {exc}")


def tick(app: App, log: Callable[..., None] | None = None) -> list[SweepRun]:
    """Every sweep once, in order (obligations, then what falls due, then delivery)."""
    import socket

    check_mail()
    name = f"tick@{socket.gethostname()}"
    log = log or EventLog(app.clock, name)
    with nodes.single_daemon(app, name):
        nodes.register(app, name, kind="tick")
        ctx = Context(worker=name, log=log)
        return [run_sweep(app, sweep, ctx) for sweep in SWEEPS]


@dataclass
class Daemon:
    """`finsam scheduler run`: catch up, then run each sweep on its interval until a signal."""

    app: App
    config: SchedulerSettings

    def run(self) -> int:
        check_mail()
        app = self.app
        if isinstance(app.clock, FixedClock):  # FINSAM_NOW: start there, then let time run
            app.clock = RunningClock(app.clock.instant)
        name = nodes.node_name()
        log = EventLog(app.clock, name)
        forward_library_logs(log, "apscheduler")
        stop = threading.Event()
        ctx = Context(worker=name, log=log, stop=stop)
        received: list[str] = []

        def on_signal(signum: int, _frame: Any) -> None:
            # only note it: the handler may interrupt the main thread inside the log's
            # lock (writing a line), so logging here could wait on itself for ever
            received.append(signal.Signals(signum).name)
            stop.set()

        with nodes.single_daemon(app, name):
            nodes.register(app, name)
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
            log(
                "started",
                database=app.engine.dialect.name,
                **{f"{s.name}_seconds": self.config.every(s) for s in SWEEPS},
            )
            scheduler = self._scheduler(name, log)
            scheduler.start()  # beating from now on, through a long catch-up too
            try:
                for sweep in SWEEPS:  # catch up on what fell due while no node ran
                    if stop.is_set():
                        break
                    run_sweep(app, sweep, ctx)
                for sweep in SWEEPS:
                    scheduler.add_job(
                        run_sweep,
                        "interval",
                        seconds=self.config.every(sweep),
                        args=(app, sweep, ctx),
                        id=sweep.name,
                        name=sweep.doc,
                    )
                while not stop.wait(1.0):
                    pass
            finally:
                log("stopping", signal=received[0] if received else None)
                scheduler.shutdown(wait=True)  # the sweeps in hand finish their message
                nodes.stopped(app, name)
                log("stopped")
        return 0

    def _scheduler(self, name: str, log: EventLog) -> Any:
        """APScheduler with this node's jobs in memory; the heartbeat is the first job."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(len(SWEEPS) + 1)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone="UTC",
        )
        scheduler.add_job(
            self._beat,
            "interval",
            seconds=self.config.heartbeat_seconds,
            args=(name, log),
            id="heartbeat",
        )
        return scheduler

    def _beat(self, name: str, log: EventLog) -> None:
        try:
            nodes.beat(self.app, name)
        except Exception as exc:
            log("heartbeat-failed", "error", error=f"{type(exc).__name__}: {exc}")


def stale_after(config: SchedulerSettings) -> timedelta:
    return timedelta(seconds=config.stale_seconds)
