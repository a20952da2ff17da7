"""Wiring: one place builds the app (database engine, clock, busy deadline and the
event handler table) for the CLI, the daemon and the tests."""

from __future__ import annotations

import os

from workflow.core.app import DEFAULT_BUSY_SECONDS, App
from workflow.core.clock import Clock, FixedClock, SystemClock, parse_instant
from workflow.core.db import check_schema, make_engine
from workflow.core.exceptions import UsageError
from workflow.core.settings import database_location
from workflow.handlers import HANDLERS


def clock_from_env() -> Clock:
    """FINSAM_NOW pins "now" for the demo and for replaying a day; unset means real time."""
    text = os.environ.get("FINSAM_NOW")
    return clock_at(text, "FINSAM_NOW=") if text else SystemClock()


def clock_at(text: str, source: str) -> FixedClock:
    """A clock standing at `text`; `source` names where the text came from in the error."""
    try:
        return FixedClock(parse_instant(text))
    except ValueError:
        raise UsageError(
            f"{source}{text!r} is not a date or instant",
            "use e.g. 2026-11-24 or 2026-11-24T15:00 (Europe/Stockholm) or an ISO instant",
        ) from None


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
    if url is None:
        url = database_location().url
    engine = make_engine(url, must_exist=must_exist)
    if check:
        check_schema(engine)
    return App(
        url=url,
        engine=engine,
        clock=clock or clock_from_env(),
        busy_seconds=busy_seconds if busy_seconds is not None else busy_seconds_from_env(),
        handlers=HANDLERS,
    )
