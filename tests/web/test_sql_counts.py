"""Each page issues as many SQL statements on a big database as on a small one.

The förbundschef of Sydöstra Skåne sees the same desk, plan list, plan page, reports,
report and tertial overview, a meeting's page and its minutes' form, its project leader
the same reports and report, and a justerare the same justering page, in
a database of one förbund and one year as in one of five förbund and three years
(`scale.build`); a `before_cursor_execute` listener counts the statements of
each request. The counts are equal, not just bounded: a statement per förbund,
per year or per plan of the history would make them differ. Each page is asked
once before counting, so a process's caches (the förbund files) are warm, as
they are in a server that has answered a request before.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import CHEF, SOS_FILE, make_app, statements
from scale import SOS, build, leader_of

NOW = datetime(2027, 8, 20, 9, tzinfo=UTC)
VICE = "lars.berg@skane.example"  # vice ordförande, the May minutes' justerare
# each page, and who asks for it: the förbundschef, or the project leader
PAGES = (
    ("/", CHEF),
    ("/plans", CHEF),
    ("/plans/{plan}", CHEF),
    ("/rapporter", CHEF),
    ("/rapporter/{report}", CHEF),
    ("/sydostra-skane/oversikt/2027/tertial-1", CHEF),
    ("/rapporter", leader_of(SOS)),
    ("/rapporter/{report}", leader_of(SOS)),
    ("/moten/{meeting}", CHEF),
    ("/moten/{meeting}/protokoll", CHEF),
    ("/moten/{meeting}/justering", VICE),
)


def _database(
    url: str, forbund: int, years: list[int], reports: bool = True
) -> tuple[Any, dict[str, int]]:
    """Its own clock, from the first year on: the trail's times never go backwards. The
    ids of Sydöstra Skåne's plan of the last year and of its first insats's tertial 1
    report that year, handed in with its figures."""
    from workflow.core.clock import FixedClock

    clock = FixedClock(datetime(years[0], 1, 1, 9, tzinfo=UTC))
    app = make_app(url, clock, SOS_FILE)
    plan = build(app, clock, forbund, years, NOW, reports)
    ids = {"plan": plan, "report": _handed_in(app, years[-1]) if reports else 0}
    return app, {**ids, "meeting": _minutes_sent(app, years[-1])}


def _minutes_sent(app: Any, year: int) -> int:
    """The board's May minutes of `year`, recorded and sent to one justerare; its id."""
    from workflow.cycle import meetings, protokoll

    may = next(
        m for m in meetings.list_meetings(app, SOS, year) if m["key"] == f"styrelse-{year}-05"
    )
    present = [CHEF, VICE, "karin.holm@ystad.example"]
    protokoll.record_minutes(app, may["id"], present, [VICE], actor_email=CHEF, send=True)
    return int(may["id"])


FIGURES = {
    "participants_women": "3",
    "participants_men": "2",
    "participants_other": "0",
    "participants_new": "1",
    "ended_work_or_studies": "1",
    "sus_up_to_date": "ja",
    "costs_tkr": "100",
    "goal_fulfilment": "Ja.",
}


def _handed_in(app: Any, year: int) -> int:
    from workflow.reports import obligations

    report = next(
        o
        for o in obligations.status(app, SOS, year)
        if o["kind"] == "tertial-1" and o["insats_name"] == "Mariamottagningen"
    )
    with tempfile.TemporaryDirectory() as folder:
        doc = Path(folder) / "t1.pdf"
        doc.write_bytes(b"%PDF-1.4 rapport")
        obligations.submit(app, report["id"], doc, leader_of(SOS), FIGURES)
    return int(report["id"])


def _counts(app: Any, ids: dict[str, int]) -> dict[tuple[str, str], int]:
    """The statements of one request to each page, by each visitor."""
    from webtools import signed_in_client

    clients = {who: signed_in_client(app, who) for who in {w for _, w in PAGES}}
    counts = {}
    for path, who in PAGES:
        client = clients[who]
        url = path.format(**ids)
        assert client.get(url).status_code == 200, url  # warm
        with statements(app) as seen:
            answer = client.get(url)
        assert answer.status_code == 200, (url, answer.text)
        counts[(path, who)] = len(seen)
    return counts


Built = tuple[Any, dict[str, int]]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the report files go (PostgreSQL has no folder of its own to put them by)."""
    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))


@pytest.fixture
def small(
    db_backend: str, request: pytest.FixtureRequest, tmp_path: Path, files: None
) -> Iterator[Built]:
    """On the same kind of database as `big` (a dialect has counts of its own)."""
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'small.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    app, ids = _database(url, 1, [2027])
    yield app, ids
    app.engine.dispose()


@pytest.fixture
def big(app_url: str, files: None) -> Iterator[Built]:
    app, ids = _database(app_url, 5, [2025, 2026, 2027])
    yield app, ids
    app.engine.dispose()


def test_every_page_issues_as_many_statements_on_a_big_database(
    small: Built, big: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FINSAM_BASE_URL", raising=False)
    few = _counts(*small)
    many = _counts(*big)
    assert many == few
    assert all(0 < n < 40 for n in few.values()), few  # and a page's count stays small


@pytest.fixture
def big_plans(app_url: str) -> Iterator[Built]:
    """`big` without the insatser and their reports."""
    app, ids = _database(app_url, 5, [2025, 2026, 2027], reports=False)
    yield app, ids
    app.engine.dispose()


def test_the_plan_list_shows_the_newest_first_and_refuses_a_broken_link(
    big_plans: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webtools import signed_in_client

    monkeypatch.delenv("FINSAM_BASE_URL", raising=False)
    client = signed_in_client(big_plans[0], CHEF)
    now = client.get("/plans")
    assert now.status_code == 200
    assert now.text.index("Verksamhetsplan 2027") < now.text.index("Verksamhetsplan 2025")
    assert "Äldre planer" not in now.text  # three plans: one page (tests/web/test_web_paging.py)
    for bad in ("abc", "2027", "2027:0"):
        refused = client.get(f"/plans?fore={bad}")
        assert refused.status_code == 400 and "Länken till äldre planer" in refused.text, bad
