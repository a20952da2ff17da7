"""Engines, schema upgrades and the unit of work.

SQLite gets WAL, a busy timeout, foreign keys and real transactions (pysqlite's
own BEGIN handling is switched off and we begin explicitly), so two processes on
one file behave like two clients of PostgreSQL: a stale writer fails and is told.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from workflow.core.exceptions import DatabaseMissing, UsageError
from workflow.core.settings import sqlite_path

# How long a statement waits for SQLite's lock when no deadline is given (a reader
# during a checkpoint, say); writers wait until their unit of work's deadline.
BUSY_MS = 5000
# The newest migration. Kept here so that everyday commands check the schema with
# one SELECT instead of loading alembic; a test keeps it equal to alembic's head.
SCHEMA_HEAD = "0009"
# Execution options: on SQLite, take the write lock at BEGIN (every writer does, so
# a writer waits its turn instead of failing on a stale read), waiting for it at
# most this many milliseconds.
IMMEDIATE = "finsam_immediate"
BUSY_OPTION = "finsam_busy_ms"


def make_engine(url: str, *, must_exist: bool = True) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        if must_exist and not path.exists():
            raise DatabaseMissing(
                f"no finsam database at {path}",
                "create it with 'finsam init --forbund FILE' "
                "(or point FINSAM_DATABASE_URL at an existing one)",
            )
        if not must_exist:
            path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_MS / 1000})
        _make_sqlite_transactional(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _create_private(path: Path) -> None:
    """Create the database file readable and writable by its owner only: it holds
    personal data. SQLite gives its -wal and -shm files the database file's mode."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _make_sqlite_transactional(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL with synchronous=NORMAL stays consistent after a crash; a power cut may
        # lose the last commits (at worst a message is marked sent again and resent)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(IMMEDIATE):
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(options.get(BUSY_OPTION, BUSY_MS))}")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("workflow.core") / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)  # type: ignore[arg-type]
    return ScriptDirectory.from_config(cfg).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision (or `target`); returns (before, after)."""
    from alembic import command

    before = current_revision(engine)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), target)
    return before, current_revision(engine)


def _stored_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def check_schema(engine: Engine) -> None:
    """Refuse to work on a database that is missing its schema or is behind this version."""
    try:
        current = _stored_revision(engine)
    except sa.exc.OperationalError as exc:
        raise DatabaseMissing(f"cannot open the database: {exc.orig}") from None
    head = SCHEMA_HEAD
    if current is None:
        raise DatabaseMissing(
            "the database has no finsam schema yet",
            "run 'finsam init --forbund FILE' (or 'finsam db upgrade')",
        )
    if current != head:
        raise UsageError(
            f"the database schema is at revision {current}, this finsam needs {head}",
            "run 'finsam db upgrade' (it keeps all data)",
        )
