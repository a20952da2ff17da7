"""The report life cycle and report periods: pure rules, no database."""

from __future__ import annotations

from datetime import date

import pytest

from states.reports import period, step


@pytest.mark.parametrize(
    ("year", "months", "previous", "expected"),
    [
        (2027, (1, 4), False, (date(2027, 1, 1), date(2027, 4, 30))),  # tertial 1
        (2027, (1, 8), False, (date(2027, 1, 1), date(2027, 8, 31))),  # tertial 2
        (2027, (1, 12), True, (date(2026, 1, 1), date(2026, 12, 31))),  # årsberättelse
        (2028, (1, 2), False, (date(2028, 1, 1), date(2028, 2, 29))),  # a leap year
    ],
)
def test_period(year: int, months: tuple[int, int], previous: bool, expected: object) -> None:
    assert period(year, *months, previous) == expected


def test_steps_follow_the_table_and_the_roles() -> None:
    project = frozenset({"project"})
    chef = frozenset({"förbundschef"})
    assert step("pending", "submit", project).to_state == "submitted"
    assert step("returned", "submit", project).to_state == "submitted"
    assert step("submitted", "approve", chef).to_state == "approved"
    assert step("submitted", "return", chef).to_state == "returned"
    refused = step("submitted", "approve", project)
    assert not refused.ok and "förbundschef" in refused.reason
    assert "submitted already" in step("submitted", "submit", project).reason
    assert "cancelled" in step("cancelled", "submit", project).reason
    assert not step("pending", "bogus", chef).ok
