"""Each page issues as many SQL statements on a big database as on a small one.

The förbundschef of Sydöstra Skåne sees the same desk, plan list and plan page in
a database of one förbund and one year as in one of five förbund and three years
(`scale.build`); a `before_cursor_execute` listener counts the statements of
each request. The counts are equal, not just bounded: a statement per förbund,
per year or per plan of the history would make them differ. Each page is asked
once before counting, so a process's caches (the förbund files) are warm, as
they are in a server that has answered a request before.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CHEF, SOS_FILE, make_app
from scale import build

NOW = datetime(2027, 8, 20, 9, tzinfo=UTC)
PAGES = ("/", "/plans", "/plans/{plan}")


def _database(url: str, forbund: int, years: list[int]) -> tuple[Any, int]:
    """Its own clock, from the first year on: the trail's times never go backwards."""
    from workflow.core.clock import FixedClock

    clock = FixedClock(datetime(years[0], 1, 1, 9, tzinfo=UTC))
    app = make_app(url, clock, SOS_FILE)
    return app, build(app, clock, forbund, years, NOW)


def _counts(app: Any, plan_id: int) -> dict[str, int]:
    """The statements of one request to each page, signed in as the förbundschef."""
    from webtools import signed_in_client

    client = signed_in_client(app, CHEF)
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    counts = {}
    for path in PAGES:
        url = path.format(plan=plan_id)
        assert client.get(url).status_code == 200, url  # warm
        sa.event.listen(app.engine, "before_cursor_execute", count)
        try:
            answer = client.get(url)
        finally:
            sa.event.remove(app.engine, "before_cursor_execute", count)
        assert answer.status_code == 200, (url, answer.text)
        counts[path] = len(seen)
        seen.clear()
    return counts


@pytest.fixture
def small(
    db_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Any, int]]:
    """On the same kind of database as `big` (a dialect has counts of its own)."""
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'small.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    app, plan = _database(url, 1, [2027])
    yield app, plan
    app.engine.dispose()


@pytest.fixture
def big(app_url: str) -> Iterator[tuple[Any, int]]:
    app, plan = _database(app_url, 5, [2025, 2026, 2027])
    yield app, plan
    app.engine.dispose()


def test_every_page_issues_as_many_statements_on_a_big_database(
    small: tuple[Any, int], big: tuple[Any, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FINSAM_BASE_URL", raising=False)
    few = _counts(*small)
    many = _counts(*big)
    assert many == few
    assert all(0 < n < 40 for n in few.values()), few  # and a page's count stays small


def test_the_plan_list_shows_two_years_and_links_to_earlier_ones(
    big: tuple[Any, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from webtools import signed_in_client

    monkeypatch.delenv("FINSAM_BASE_URL", raising=False)
    client = signed_in_client(big[0], CHEF)
    now = client.get("/plans")
    assert now.status_code == 200
    assert "Verksamhetsplan 2027" in now.text and "Verksamhetsplan 2025" not in now.text
    assert 'href="/plans?year=2025"' in now.text
    earlier = client.get("/plans?year=2025")
    assert "Verksamhetsplan 2025" in earlier.text and "Verksamhetsplan 2027" not in earlier.text
    for bad in ("abc", "20270", "1999"):
        refused = client.get(f"/plans?year={bad}")
        assert refused.status_code == 400 and "is not a year" in refused.text, bad
