"""Shared fixtures: a clock that stands still, real SQLite files, a real PostgreSQL.

The PostgreSQL server is a throwaway one started from the machine's PostgreSQL
programs (initdb, pg_ctl), as the `postgres` user when running as root, on a
free port; FINSAM_TEST_DATABASE_URL points at an existing server instead. When
the programs are missing the PostgreSQL tests skip, saying so, unless
FINSAM_REQUIRE_POSTGRES is set (CI), where they fail.

The suite runs in parallel (pytest-xdist): each worker starts a server of its
own, with its files in memory (/dev/shm) where the machine has it. Every test
gets a database of its own, dropped afterwards; a test's app database is a copy
of one migrated once per worker, so tests share nothing but the server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import make_app
from throwaway_pg import NoPostgres, Server


def pytest_configure(config: pytest.Config) -> None:
    os.environ.pop("FINSAM_DATABASE_URL", None)
    os.environ.pop("FINSAM_USER", None)
    os.environ.pop("FINSAM_NOW", None)
    # The CLI's tables and messages are as wide as COLUMNS says, else wide; pytest-xdist
    # workers get COLUMNS=80 and a shell may export it: every run sees the same width.
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)


# ---------------------------------------------------------------- PostgreSQL


def _no_postgres(reason: str) -> None:
    if os.environ.get("FINSAM_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL is required here (FINSAM_REQUIRE_POSTGRES) but {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    from workflow.core.settings import normalise_url

    given = os.environ.get("FINSAM_TEST_DATABASE_URL")
    if given:
        yield normalise_url(given)
        return
    try:
        server = Server()
    except NoPostgres as exc:
        _no_postgres(str(exc))
    try:
        yield server.admin
    finally:
        server.stop()


@contextmanager
def _database(admin_url: str, template: str | None = None) -> Iterator[str]:
    """A new database on the server (a copy of `template` if given), dropped afterwards."""
    name = f"finsam_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
        try:
            yield admin_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL server for one test."""
    with _database(pg_admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def pg_schema_template(pg_admin_url: str) -> Iterator[str]:
    """The name of a database at the newest schema and with no rows, made once per session.

    Copying it is cheaper than migrating a new database for every test that wants an app.
    """
    from workflow.bootstrap import bootstrap
    from workflow.core.clock import FixedClock
    from workflow.core.db import upgrade

    with _database(pg_admin_url) as url:
        app = bootstrap(
            url, FixedClock(datetime(2026, 10, 1, 8, 0, tzinfo=UTC)), must_exist=False, check=False
        )
        upgrade(app.engine)
        app.engine.dispose()
        yield url.rsplit("/", 1)[1]


# ---------------------------------------------------------------- databases


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'finsam.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, SQLite or PostgreSQL."""
    if db_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'finsam.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def app_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The app's database: empty on SQLite, a copy of the schema template on PostgreSQL."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'finsam.db'}"
        return
    admin_url = request.getfixturevalue("pg_admin_url")
    with _database(admin_url, request.getfixturevalue("pg_schema_template")) as url:
        yield url


@pytest.fixture
def clock() -> Any:
    from workflow.core.clock import FixedClock

    return FixedClock(datetime(2026, 10, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def app(app_url: str, clock: Any) -> Iterator[Any]:
    application = make_app(app_url, clock)
    yield application
    application.engine.dispose()


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real SMTP server on loopback, with FINSAM_MAIL_URL pointing at it."""
    from smtp_sink import Sink

    with Sink() as server:
        monkeypatch.setenv("FINSAM_MAIL_URL", server.url)
        monkeypatch.setenv("FINSAM_MAIL_CONCURRENCY", "2")
        yield server


# ---------------------------------------------------------------- the order of the run


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the cores, at most four. Many tests wait on
    processes of their own (finsam, PostgreSQL, Chromium, an SMTP server), and a worker
    more keeps the cores busy meanwhile (on 2 cores: 4 min 36 s instead of 4 min 52 s)."""
    return min(4, (os.cpu_count() or 1) + 1)


# The slowest tests, slowest first. pytest-xdist's worksteal (pyproject's addopts)
# hands each worker a contiguous share of the collection and lets an idle worker take
# the tail of another's: a slow test left in the middle of a share may start late and
# keep the whole run waiting for it. Each of these starts at the head of a share.
SLOW_FIRST = (
    "tests/e2e/test_subprocess.py::test_demo_runs_from_a_copy_over_a_previous_runs_leftovers",
    "tests/e2e/test_concurrent_writers.py::test_eight_writers_keep_the_data_consistent[sqlite]",
    "tests/e2e/test_concurrent_writers.py::test_eight_writers_keep_the_data_consistent[postgres]",
    # the browser stories, each on a site of its own (no fixture shared with a neighbour)
    "tests/browser/test_board_browser.py::test_the_board_from_the_kallelse_to_the_anslagstavla",
    "tests/browser/test_plan_path_browser.py::test_a_plan_from_draft_to_adoption_as_three_people",
    "tests/browser/test_reports_browser.py::test_a_report_from_the_reminder_to_the_boards_overview",
    "tests/browser/test_plan_path_browser.py::test_the_path_with_the_keyboard_alone",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    by_id = {item.nodeid: item for item in items}
    slow = [by_id[name] for name in SLOW_FIRST if name in by_id]
    if workers < 2 or not slow:
        return
    rest = [item for item in items if item not in slow]
    # the shares as the scheduler cuts them: len // workers, then the rest likewise
    sizes, left = [], len(items)
    for remaining in range(workers, 0, -1):
        sizes.append(left // remaining)
        left -= sizes[-1]
    heads: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for i, item in enumerate(slow):
        heads[i % workers].append(item)
    ordered: list[pytest.Item] = []
    for head, size in zip(heads, sizes, strict=True):
        take = max(size - len(head), 0)
        ordered += head + rest[:take]
        rest = rest[take:]
    items[:] = ordered + rest
