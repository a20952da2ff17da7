"""From cycle rules to dates: n-th weekdays, Swedish holidays, klämdagar, nearest free day.

Pure functions over dates; the `holidays` package knows Sweden's public and de
facto holidays (midsommarafton, julafton, nyårsafton). A klämdag is a working
day squeezed between a holiday and a weekend; nobody is at their desk then.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from workflow.core.exceptions import UsageError
from workflow.forbund.cycle_rules import WEEKDAYS, BoardMeeting, CycleRules, MonthRule

SV_WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}
SEARCH_DAYS = 14


class RuleError(UsageError):
    """A cycle rule that cannot give a date."""


@lru_cache(maxsize=16)
def _holidays(year: int) -> dict[date, str]:
    import holidays

    days = holidays.country_holidays(
        "SE", years=[year - 1, year, year + 1], categories=("public", "de_facto"), language="sv"
    )
    return dict(days.items())


def holiday(d: date) -> str | None:
    return _holidays(d.year).get(d)


def blocked(d: date) -> str | None:
    """Why nobody should meet on `d` (in Swedish, for people), or None."""
    if d.weekday() >= 5:
        return SV_WEEKDAYS[d.weekday()]
    name = holiday(d)
    if name:
        return name
    before, after = d - timedelta(days=1), d + timedelta(days=1)
    if holiday(before) and after.weekday() >= 5:
        return f"klämdag efter {holiday(before)}"
    if before.weekday() >= 5 and holiday(after):
        return f"klämdag före {holiday(after)}"
    return None


def nth_weekday(year: int, month: int, week: int, weekday: str) -> date:
    wd = WEEKDAYS.index(weekday)
    days = [
        d
        for d in calendar.Calendar().itermonthdates(year, month)
        if d.month == month and d.weekday() == wd
    ]
    index = week - 1 if week > 0 else week
    if week > len(days):
        raise RuleError(
            f"there is no {ORDINALS[week]} {weekday} in {calendar.month_name[month]} {year}",
            f"{calendar.month_name[month]} {year} has {len(days)} {weekday}s; use week = -1 "
            "for the last one",
        )
    return days[index]


def nearest_allowed(d: date, *, before: date | None = None, year: int | None = None) -> date:
    """The closest day that is not blocked (earlier first on a tie), strictly before `before`.

    With `year`, only days of that year count: a rule of the 2027 cycle whose day is
    nyårsdagen moves forward into January, not back to December 2026 (another
    year's calendar, which may be generated and decided already).
    """
    for step in range(SEARCH_DAYS + 1):
        for candidate in (d - timedelta(days=step), d + timedelta(days=step)):
            if before is not None and candidate >= before:
                continue
            if year is not None and candidate.year != year:
                continue
            if blocked(candidate) is None:
                return candidate
    raise RuleError(f"no free working day within {SEARCH_DAYS} days of {d.isoformat()}")


def monday_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


@dataclass
class Proposed:
    """A meeting the rules ask for, before it is stored."""

    key: str
    body: str
    kind: str  # board, prep, other
    day: date
    time: str
    duration_minutes: int
    theme: str = ""
    place: str | None = None
    prepares: str | None = None
    offset_days: int = 0
    joint_with: list[str] = field(default_factory=list)
    note: str = ""


def _placed(rule: MonthRule, year: int) -> tuple[date, str]:
    wanted = nth_weekday(year, rule.month, rule.week, rule.weekday)
    reason = blocked(wanted)
    if reason is None:
        return wanted, ""
    day = nearest_allowed(wanted, year=year)
    return day, f"moved from {wanted.isoformat()}: {reason}"


def propose(rules: CycleRules, year: int, board_body: str) -> list[Proposed]:
    """Every meeting of the year, board meetings first, each prep after the one it prepares."""
    out: list[Proposed] = []
    for i, rule in enumerate(sorted(rules.board, key=lambda r: r.month)):
        day, note = _placed(rule, year)
        place = rule.place or (rules.places[i % len(rules.places)] if rules.places else None)
        key = f"{board_body}-{year}-{rule.month:02d}"
        out.append(
            Proposed(
                key,
                board_body,
                "board",
                day,
                rule.time,
                rule.duration_minutes,
                rule.theme,
                place,
                joint_with=list(rule.joint_with),
                note=note,
            )
        )
        out += _preps(rules, rule, key, day)
    for rule in sorted(rules.other, key=lambda r: (r.month, r.body)):
        day, note = _placed(rule, year)
        out.append(
            Proposed(
                f"{rule.body}-{year}-{rule.month:02d}",
                rule.body,
                "other",
                day,
                rule.time,
                rule.duration_minutes,
                rule.theme,
                rule.place,
                note=note,
            )
        )
    return out


def _preps(rules: CycleRules, board: BoardMeeting, key: str, day: date) -> list[Proposed]:
    bodies = (
        board.prep
        if board.prep is not None
        else [p.body for p in rules.prep if p.body not in board.joint_with]
    )
    out = []
    for rule in rules.prep:
        if rule.body not in bodies:
            continue
        weeks = (
            board.prep_weeks_before if board.prep_weeks_before is not None else rule.weeks_before
        )
        wanted = (
            monday_of(day) - timedelta(weeks=weeks) + timedelta(days=WEEKDAYS.index(rule.weekday))
        )
        note = ""
        prep_day = wanted
        if wanted >= day or blocked(wanted):
            prep_day = nearest_allowed(wanted, before=day)
            reason = blocked(wanted) or "not before the board meeting"
            note = f"moved from {wanted.isoformat()}: {reason}"
        out.append(
            Proposed(
                f"{rule.body}-{key}",
                rule.body,
                "prep",
                prep_day,
                rule.time,
                rule.duration_minutes,
                f"Beredning inför styrelsens möte: {board.theme}"
                if board.theme
                else "Beredning inför styrelsens möte",
                None,
                prepares=key,
                offset_days=(prep_day - day).days,
                note=note,
            )
        )
    return out
