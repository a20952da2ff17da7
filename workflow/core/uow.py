"""The one write path: a unit of work per transaction and one rule for retrying it.

Every service that changes something runs its work through `write()`. The work
gets a `UnitOfWork` whose session is always there, records domain events on it,
and returns plain data; before the commit the unit of work runs the handlers the
app's table names for each event (outbox rows, moved due dates), so what follows
from a change commits with it or not at all.

The retry rule (`retrying`): a failure that a fresh attempt can win is retried
with backoff and jitter until the app's busy deadline; past it the command ends
with `Busy` (exit 3, nothing changed). Such failures are a lost compare-and-set
(`Retry`), a taken audit-chain head (the unique seq/prev_hash refused our row),
a key another writer inserted first (PostgreSQL's unique violation: the work
checked that the key was free, and a fresh attempt sees the other row; a few
times per write at most, so a real duplicate still fails), SQLite's busy/locked,
and PostgreSQL's serialization failure, deadlock and lock timeout. On SQLite a
write transaction takes the write lock at BEGIN and waits for it at most until
the deadline; on PostgreSQL `lock_timeout` does the same. Which failures those
are (`transient()`) is decided in db_errors.py, where the CLI's last net reads it too.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.app import App
from workflow.core.db import BUSY_MS, BUSY_OPTION, IMMEDIATE
from workflow.core.db_errors import Retry, duplicate, transient
from workflow.core.exceptions import Busy

# the retry rule's test and the lost race, kept with the database's errors; used here
__all__ = ["Retry", "UnitOfWork", "duplicate", "read", "retrying", "transient", "write"]

T = TypeVar("T")
Outcome = TypeVar("Outcome")
# how many such losses one write may retry: a key still taken after a fresh look is a bug
_DUPLICATE_RETRIES = 3


def backoff(attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1`: 10 ms doubling to 0.5 s, ±50 %."""
    return min(0.01 * 2**attempt, 0.5) * random.uniform(0.5, 1.5)


def retrying(app: App, attempt: Callable[[float], T]) -> T:
    """Call `attempt(deadline)` until it succeeds, fails for good, or the deadline passes.

    `deadline` is a `time.monotonic()` instant the attempt may wait for locks until.
    Used by `write()` and by the outbox's raw-SQL marks: one rule for every writer.
    """
    deadline = time.monotonic() + app.busy_seconds
    tries = duplicates = 0
    while True:
        try:
            return attempt(deadline)
        except Exception as exc:
            if not transient(exc):
                raise
            if duplicate(exc):
                duplicates += 1
                if duplicates > _DUPLICATE_RETRIES:
                    raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise Busy() from None
            time.sleep(min(backoff(tries), left))
            tries += 1


class UnitOfWork:
    """One transaction: commit explicitly (running the handlers first), roll back otherwise.

    `write=True` makes it a writer: on SQLite it takes the write lock at BEGIN,
    waiting for it until `deadline` at most; on PostgreSQL row locks are waited
    for as long. Readers never wait (WAL, MVCC).
    """

    def __init__(self, app: App, *, write: bool = False, deadline: float | None = None) -> None:
        self.app = app
        self.write = write
        self.deadline = deadline
        self.events: list[Any] = []
        self.outcomes: list[Any] = []
        self.after: dict[str, Callable[[], object]] = {}
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("a UnitOfWork's session is used inside its 'with' block only")
        return self._session

    def __enter__(self) -> UnitOfWork:
        engine = self.app.engine
        wait_ms = BUSY_MS
        if self.deadline is not None:
            wait_ms = max(1, int((self.deadline - time.monotonic()) * 1000))
        if self.write and engine.dialect.name == "sqlite":
            engine = engine.execution_options(**{IMMEDIATE: True, BUSY_OPTION: wait_ms})
        self._session = Session(engine, expire_on_commit=False)
        if self.write and engine.dialect.name == "postgresql":
            self._session.execute(sa.text(f"SET LOCAL lock_timeout = {wait_ms}"))
        return self

    def __exit__(self, *exc: object) -> None:
        session = self.session
        self._session = None
        self.events.clear()
        self.outcomes.clear()
        self.after.clear()
        session.rollback()
        session.close()

    def record(self, event: Any) -> None:
        """Note what happened; its handlers run before the commit."""
        self.events.append(event)

    def commit(self) -> None:
        self.dispatch()
        self.session.commit()

    def after_commit(self, name: str, step: Callable[[], object]) -> None:
        """Do `step` once `write()` has committed (once per name, however many handlers
        ask): work that must not hold the write lock, such as rendering the messages a
        change drafted. It runs outside the transaction and its retries, and a failure
        there does not undo the change: what it leaves, the next sweep finishes
        (drafts stay drafts until rendered)."""
        self.after.setdefault(name, step)

    def dispatch(self) -> None:
        """Run the handlers of every recorded event (and of the events they record).

        A service that wants to report what followed from its change (due dates
        that moved with a meeting) calls this before commit and reads `outcomes`.
        """
        while self.events:
            event = self.events.pop(0)
            for handler in self.app.handlers.get(type(event), ()):
                result = handler(event, self)
                if isinstance(result, list):
                    self.outcomes.extend(result)
                elif result is not None:
                    self.outcomes.append(result)

    def outcomes_of(self, kind: type[Outcome]) -> list[Outcome]:
        """What the handlers handed back of one kind, in the order they ran."""
        return [o for o in self.outcomes if isinstance(o, kind)]


def write(app: App, work: Callable[[UnitOfWork], T]) -> T:
    """Run `work` in a write transaction, commit, and return its result, under the retry rule.

    `work` may run more than once, so it must do nothing outside the database
    (no mail, no files kept) before it returns.
    """

    after: dict[str, Callable[[], object]] = {}

    def attempt(deadline: float) -> T:
        with UnitOfWork(app, write=True, deadline=deadline) as uow:
            result = work(uow)
            uow.commit()
            after.update(uow.after)  # only the attempt that committed asks
            return result

    result = retrying(app, attempt)
    for step in after.values():
        try:
            step()
        except Exception:  # the change stands; the next sweep finishes what is left
            continue
    return result


def read(app: App) -> UnitOfWork:
    """A unit of work for reading: `with read(app) as uow: ...`; it never commits."""
    return UnitOfWork(app)
