"""A malformed plan file is refused with the file, the key and the line."""

from __future__ import annotations

import pytest
from helpers import EXAMPLES

from workflow.core.toml_lines import line_of
from workflow.forbund.file import load_forbund
from workflow.plans.plan_file import PlanFileError, parse_plan

CFG = load_forbund(EXAMPLES / "forbund" / "lund.toml")
TEXT = (EXAMPLES / "plans" / "lund-2017.toml").read_text(encoding="utf-8")


def error(text: str) -> str:
    with pytest.raises(PlanFileError) as exc:
        parse_plan(text, "lund.toml", CFG)
    assert exc.value.exit_code == 2
    return str(exc.value)


def line_with(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def test_unknown_member_key() -> None:
    text = TEXT.replace('member = "lund"', 'member = "malmo"')
    msg = error(text)
    line = line_with(text, 'member = "malmo"')
    assert (
        f"line {line}: budget.lines[2].member: unknown member 'malmo'; members: fk, af, "
        "region-skane, lund, staten, kommuner" in msg
    )


def test_negative_amount() -> None:
    text = TEXT.replace("amounts = { 2016 = 720,", "amounts = { 2016 = -720,")
    msg = error(text)
    line = line_with(text, "2016 = -720")
    assert (
        f"line {line}: budget.lines[5].amounts.2016: Input should be greater than or equal "
        "to 0" in msg
    )


def test_non_integer_amount() -> None:
    text = TEXT.replace("2017 = 1650", "2017 = 1650.5")
    msg = error(text)
    assert "budget.lines[14].amounts.2017: Input should be a valid integer" in msg
    assert f"line {line_with(text, '1650.5')}:" in msg


def test_year_column_not_of_the_plan() -> None:
    text = TEXT.replace("columns = [2016, 2017, 2018, 2019]", "columns = [2016, 2017, 2018, 2020]")
    msg = error(text)
    assert (
        "budget.columns[3]: 2020 is not a year of this plan; columns may be 2016, 2017, "
        "2018, 2019 (the year before as a prognos)" in msg
    )
    assert "budget.lines[0].amounts.2019: 2019 is not a column of this budget" in msg


def test_unknown_key_and_wrong_group() -> None:
    text = TEXT.replace('group = "internal"', 'group = "intern"', 1)
    msg = error(text)
    assert (
        "budget.lines[16].group: Input should be 'members', 'other_income', 'savings', "
        "'insatser' or 'internal'" in msg
    )
    text = TEXT.replace("[plan]\n", "[plan]\ncolour = 1\n")
    assert error(text).endswith(f"line {line_with(text, 'colour')}: plan.colour: unknown key")


def test_not_toml() -> None:
    assert error("[plan\nyear = 1").startswith("lund.toml: not valid TOML: ")


def test_the_förbund_must_match() -> None:
    other = load_forbund(EXAMPLES / "forbund" / "insjoriket.toml")
    with pytest.raises(PlanFileError, match="the plan is for 'lund', the förbund is 'insjoriket'"):
        parse_plan(TEXT, "x", other)


def test_line_of_follows_tables_and_arrays() -> None:
    text = '[plan]\nyear = 1\n\n[[budget.lines]]\ngroup = "a"\n\n[[budget.lines]]\ngroup = "b"\n'
    assert line_of(text, ("plan", "year")) == 2
    assert line_of(text, ("budget", "lines", 1, "group")) == 8
    assert line_of(text, ("budget", "lines", 0)) == 4
    assert line_of(text, ("nowhere",)) is None
