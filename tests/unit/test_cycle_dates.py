"""Rules to dates: weekends, Swedish holidays, klämdagar, and the real 2020 calendar."""

from __future__ import annotations

from datetime import date

import pytest
from helpers import ALE_FILE, SOS_FILE

from workflow.cycle.dates import RuleError, blocked, nearest_allowed, nth_weekday, propose
from workflow.forbund.cycle_rules import BoardMeeting, CycleRules, PrepRule
from workflow.forbund.file import load_forbund


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2020, 2, 15), "lördag"),
        (date(2020, 5, 21), "Kristi himmelsfärdsdag"),
        (date(2020, 5, 22), "klämdag efter Kristi himmelsfärdsdag"),
        (date(2020, 6, 19), "Midsommarafton"),
        (date(2026, 12, 24), "Julafton"),
        (date(2026, 12, 31), "Nyårsafton"),
        (date(2026, 1, 5), "klämdag före Trettondedag jul"),
        (date(2020, 2, 11), None),
    ],
)
def test_blocked_days(day: date, reason: str | None) -> None:
    assert blocked(day) == reason


def test_nth_and_last_weekday() -> None:
    assert nth_weekday(2020, 11, 4, "tuesday") == date(2020, 11, 24)
    assert nth_weekday(2020, 3, -1, "monday") == date(2020, 3, 30)
    with pytest.raises(RuleError, match="there is no fifth tuesday in February 2020"):
        nth_weekday(2020, 2, 5, "tuesday")


def test_nearest_allowed_day_and_not_after_the_board() -> None:
    assert nearest_allowed(date(2020, 5, 21)) == date(2020, 5, 20)
    assert nearest_allowed(date(2020, 6, 19)) == date(2020, 6, 18)
    assert nearest_allowed(date(2020, 5, 12), before=date(2020, 5, 12)) == date(2020, 5, 11)


def test_a_rule_on_a_holiday_moves_and_says_so() -> None:
    rules = CycleRules(
        board=[BoardMeeting(month=5, week=1, weekday="thursday", theme="T1")],
        prep=[PrepRule(body="presidium", weekday="friday", weeks_before=0)],
    )
    board, prep = propose(rules, 2027, "styrelse")
    assert (board.day, board.note) == (
        date(2027, 5, 5),
        "moved from 2027-05-06: Kristi himmelsfärdsdag",
    )
    # the friday of that week is the klämdag after Ascension, and after the board anyway
    assert prep.day < board.day and prep.note.startswith("moved from 2027-05-07")


# The real 2020 calendar of Sydöstra Skåne (DOMAIN.md, seed 002).
REAL_2020 = {
    "styrelse": [
        "2020-02-11",
        "2020-03-17",
        "2020-05-12",
        "2020-09-15",
        "2020-10-13",
        "2020-11-24",
    ],
    "presidium": ["2020-01-27", "2020-03-02", "2020-05-04", "2020-09-07", "2020-11-09"],
    "beredningsgrupp": ["2020-01-27", "2020-03-02", "2020-05-04", "2020-09-07", "2020-11-09"],
    "medlemssamrad": ["2020-03-23"],
}


def test_sydostra_skane_rules_against_the_real_2020_calendar() -> None:
    cfg = load_forbund(SOS_FILE)
    assert cfg.cycle is not None
    proposed: dict[str, list[str]] = {}
    for p in propose(cfg.cycle, 2020, "styrelse"):
        proposed.setdefault(p.body, []).append(p.day.isoformat())
    matched, differ = 0, []
    for body, real in REAL_2020.items():
        ours = (
            sorted(proposed[body])[: len(real)]
            if body == "medlemssamrad"
            else sorted(proposed[body])
        )
        for want, got in zip(real, ours, strict=True):
            if want == got:
                matched += 1
            else:
                differ.append((body, want, got))
    assert matched == 13
    # the rule says "the Monday two weeks before"; in May and September 2020 the
    # presidium and the beredningsgrupp met one week before instead
    assert differ == [
        ("presidium", "2020-05-04", "2020-04-27"),
        ("presidium", "2020-09-07", "2020-08-31"),
        ("beredningsgrupp", "2020-05-04", "2020-04-27"),
        ("beredningsgrupp", "2020-09-07", "2020-08-31"),
    ]
    # the October half day is a joint meeting: no separate beredningsgrupp, no presidium
    october = [
        p
        for p in propose(cfg.cycle, 2020, "styrelse")
        if p.key == "styrelse-2020-10" or p.prepares == "styrelse-2020-10"
    ]
    assert [(p.body, p.joint_with, p.time) for p in october] == [
        ("styrelse", ["beredningsgrupp"], "08:30")
    ]


def test_ale_2013_board_meetings_as_the_seed_proposes() -> None:
    cfg = load_forbund(ALE_FILE)
    assert cfg.cycle is not None
    board = [
        (p.day.isoformat(), p.time, p.place)
        for p in propose(cfg.cycle, 2013, "styrelse")
        if p.kind == "board"
    ]
    assert board == [
        ("2013-02-22", "13:00", "ale"),
        ("2013-03-20", "09:00", "kungalv"),
        ("2013-05-20", "09:00", "tjorn"),
        ("2013-06-14", "09:00", "stenungsund"),
        ("2013-09-20", "13:00", "ale"),
        ("2013-10-18", "13:00", "kungalv"),
        ("2013-11-28", "09:00", "tjorn"),
    ]


def test_a_rule_date_stays_within_its_year() -> None:
    # the first Friday of January 2027 is nyårsdagen; the day before is nyårsafton and
    # the closest free day (30 December 2026) lies in another year's calendar
    rules = CycleRules(board=[BoardMeeting(month=1, week=1, weekday="friday", theme="T")])
    [board] = propose(rules, 2027, "styrelse")
    assert (board.day, board.note) == (date(2027, 1, 4), "moved from 2027-01-01: Nyårsdagen")
    assert nearest_allowed(date(2027, 1, 1)) == date(2026, 12, 30)  # a free move may cross
    assert nearest_allowed(date(2027, 1, 1), year=2027) == date(2027, 1, 4)


def test_a_december_rule_date_stays_in_december() -> None:
    # the last Friday of December 2027 is nyårsafton: it moves back, not into 2028
    rules = CycleRules(board=[BoardMeeting(month=12, week=-1, weekday="friday", theme="T")])
    [board] = propose(rules, 2027, "styrelse")
    assert board.day == date(2027, 12, 30)
    assert nearest_allowed(date(2027, 12, 31), year=2027) == date(2027, 12, 30)


@pytest.mark.parametrize("year", range(2000, 2101))
def test_no_rule_of_the_year_leaves_it(year: int) -> None:
    rules = CycleRules(
        board=[
            BoardMeeting(month=1, week=1, weekday=day, theme="T")
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
        ]
        + [
            BoardMeeting(month=12, week=-1, weekday=day, theme="T")
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
        ]
    )
    assert {p.day.year for p in propose(rules, year, "styrelse")} == {year}
