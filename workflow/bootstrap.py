"""Wiring: one place builds the database engine and the clock for the CLI and the tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from workflow.clock import Clock, FixedClock, SystemClock, parse_instant
from workflow.exceptions import UsageError
from workflow.settings import database_location


@dataclass
class App:
    url: str
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)


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


def bootstrap(
    url: str | None = None,
    clock: Clock | None = None,
    *,
    must_exist: bool = True,
    check: bool = True,
) -> App:
    from workflow.db import check_schema, make_engine

    if url is None:
        url = database_location().url
    engine = make_engine(url, must_exist=must_exist)
    if check:
        check_schema(engine)
    return App(url=url, engine=engine, clock=clock or clock_from_env())
