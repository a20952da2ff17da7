"""Shared fixtures: a clock that stands still, real SQLite files, a real PostgreSQL.

The PostgreSQL server is a throwaway one started from the machine's PostgreSQL
programs (initdb, pg_ctl), as the `postgres` user when running as root, on a
free port; FINSAM_TEST_DATABASE_URL points at an existing server instead. When
the programs are missing the PostgreSQL tests skip, saying so, unless
FINSAM_REQUIRE_POSTGRES is set (CI), where they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import make_app


def pytest_configure(config: pytest.Config) -> None:
    os.environ.pop("FINSAM_DATABASE_URL", None)
    os.environ.pop("FINSAM_USER", None)
    os.environ.pop("FINSAM_NOW", None)


# ---------------------------------------------------------------- PostgreSQL


def _pg_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _no_postgres(reason: str) -> None:
    if os.environ.get("FINSAM_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL is required here (FINSAM_REQUIRE_POSTGRES) but {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    from workflow.settings import normalise_url

    given = os.environ.get("FINSAM_TEST_DATABASE_URL")
    if given:
        yield normalise_url(given)
        return
    initdb, pg_ctl = _pg_program("initdb"), _pg_program("pg_ctl")
    if not (initdb and pg_ctl):
        _no_postgres("no PostgreSQL programs (initdb, pg_ctl) on this machine")
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="finsam-pg-"))
    data = base / "data"
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    port = _free_port()
    try:
        subprocess.run(
            [
                *prefix,
                initdb,
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                str(data),
                "-l",
                str(base / "log"),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60",
                "start",
            ],
            check=True,
            capture_output=True,
        )
    except subprocess.CalledProcessError as exc:
        log = (base / "log").read_text() if (base / "log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        _no_postgres(f"the throwaway server did not start: {exc.stderr!r} {log}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL server for one test."""
    name = f"finsam_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# ---------------------------------------------------------------- databases


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'finsam.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'finsam.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def clock() -> Any:
    from workflow.clock import FixedClock

    return FixedClock(datetime(2026, 10, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def app(db_url: str, clock: Any) -> Iterator[Any]:
    application = make_app(db_url, clock)
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
