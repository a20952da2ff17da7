"""Wiring: one place builds the app (database engine, clock, busy deadline and the
event handler table) for the CLI, the daemon and the tests."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence

from workflow.core.app import DEFAULT_BUSY_SECONDS, App, Handler
from workflow.core.clock import EARLIEST, LATEST, Clock, FixedClock, SystemClock, parse_instant
from workflow.core.db import check_schema, make_engine
from workflow.core.exceptions import UsageError
from workflow.core.settings import database_location


class Handlers(Mapping[type, Sequence[Handler]]):
    """The handler table (`workflow.handlers.HANDLERS`), imported when an event is
    first handled. The table imports every capability (the mails, the meetings,
    the reports); a command that only reads records no event and need not load
    them, which is most of its start-up (`bench/startup.py`)."""

    def _table(self) -> Mapping[type, Sequence[Handler]]:
        # start-up: the handlers import every capability; a read never needs them
        from workflow.handlers import HANDLERS

        return HANDLERS

    def __getitem__(self, event: type) -> Sequence[Handler]:
        return self._table()[event]

    def __iter__(self) -> Iterator[type]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


HANDLERS = Handlers()


def clock_from_env() -> Clock:
    """FINSAM_NOW pins "now" for the demo and for replaying a day; unset means real time."""
    text = os.environ.get("FINSAM_NOW")
    return clock_at(text, "FINSAM_NOW=") if text else SystemClock()


def clock_at(text: str, source: str) -> FixedClock:
    """A clock standing at `text`; `source` names where the text came from in the error.
    Only instants within finsam's years are taken: dates far outside them overflow
    the calendar arithmetic (a meeting's time zone, a due date some weeks on)."""
    what = "is out of range"
    try:
        instant = parse_instant(text)
    except OverflowError:  # 0001-01-01T00:00 local is before year 1 in UTC
        instant = None
    except ValueError:
        instant, what = None, "is not a date or instant"
    if instant is None or not EARLIEST <= instant < LATEST:
        raise UsageError(
            f"{source}{text!r} {what}: finsam takes instants from "
            f"{EARLIEST.year}-01-01 to {LATEST.year - 1}-12-31",
            "use e.g. 2026-11-24 or 2026-11-24T15:00 (Europe/Stockholm) or an ISO instant",
        )
    return FixedClock(instant)


def busy_seconds_from_env() -> float:
    """FINSAM_BUSY_SECONDS: how long a write waits for a busy database before exit 3."""
    text = os.environ.get("FINSAM_BUSY_SECONDS")
    if not text:
        return DEFAULT_BUSY_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise UsageError(
            f"FINSAM_BUSY_SECONDS={text!r} is not a number of seconds between 0 and 3600",
            f"leave it unset for {DEFAULT_BUSY_SECONDS:g} s, or give e.g. FINSAM_BUSY_SECONDS=30",
        )
    return value


def bootstrap(
    url: str | None = None,
    clock: Clock | None = None,
    *,
    must_exist: bool = True,
    check: bool = True,
    busy_seconds: float | None = None,
) -> App:
    source = "the database URL"
    if url is None:
        location = database_location()
        url, source = location.url, location.source
    engine = make_engine(url, must_exist=must_exist, source=source)
    if check:
        check_schema(engine)
    return App(
        url=url,
        engine=engine,
        clock=clock or clock_from_env(),
        busy_seconds=busy_seconds if busy_seconds is not None else busy_seconds_from_env(),
        handlers=HANDLERS,
    )
