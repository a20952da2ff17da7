"""The one source of "now" for the whole program.

Tests and the demo move time by handing in their own clock (or FINSAM_NOW for
the CLI); nothing in finsam calls datetime.now() directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Stockholm")
# The instants finsam works in (FINSAM_NOW, --now, dates given on the command line):
# wide enough for any plan, narrow enough that adding weeks or a time zone never
# overflows Python's dates (year 1 to 9999).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that stands still until told to move."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant

    def advance(self, delta: timedelta) -> None:
        self.instant = self.instant + delta

    def set(self, instant: datetime) -> None:
        self.instant = to_utc(instant)


class RunningClock:
    """Starts at a given instant and runs at real speed: FINSAM_NOW for a daemon.

    A clock that stands still would never let a lease expire.
    """

    def __init__(self, start: datetime) -> None:
        import time

        self._monotonic = time.monotonic
        self.start, self.t0 = start, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self._monotonic() - self.t0)


def to_utc(instant: datetime) -> datetime:
    """Aware UTC; a naive value is read as Europe/Stockholm local time."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=LOCAL_TZ)
    return instant.astimezone(UTC)


def local_today(clock: Clock) -> date:
    return clock.now().astimezone(LOCAL_TZ).date()


def parse_instant(text: str) -> datetime:
    """'2026-11-24', '2026-11-24T15:00' (local) or with an offset; raises ValueError."""
    text = text.strip()
    if len(text) == 10:
        return to_utc(
            datetime.combine(date.fromisoformat(text), datetime.min.time()).replace(hour=12)
        )
    return to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
