"""Engines, schema upgrades and the unit of work.

A URL or file finsam cannot use is refused before anything connects (an unknown
scheme, a directory, a file that is not SQLite, another program's database), and
a database failure is told in words (db_errors.py), never as a traceback.

SQLite gets WAL, a busy timeout, foreign keys and real transactions (pysqlite's
own BEGIN handling is switched off and we begin explicitly), so two processes on
one file behave like two clients of PostgreSQL: a stale writer fails and is told.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from workflow.core.db_errors import SUPPORTED_URLS, database_error
from workflow.core.exceptions import DatabaseMissing, UsageError
from workflow.core.files import kind_of, open_regular
from workflow.core.settings import mask_secrets, shown_url, sqlite_path

# How long a statement waits for SQLite's lock when no deadline is given (a reader
# during a checkpoint, say); writers wait until their unit of work's deadline.
BUSY_MS = 5000
# The newest migration. Kept here so that everyday commands check the schema with
# one SELECT instead of loading alembic; a test keeps it equal to alembic's head.
SCHEMA_HEAD = "0021"
# Execution options: on SQLite, take the write lock at BEGIN (every writer does, so
# a writer waits its turn instead of failing on a stale read), waiting for it at
# most this many milliseconds.
IMMEDIATE = "finsam_immediate"
BUSY_OPTION = "finsam_busy_ms"
# Seconds to wait for a PostgreSQL server to answer a connection.
CONNECT_SECONDS = 10
# The first 16 bytes of every SQLite database file (an empty file is a new database).
SQLITE_HEADER = b"SQLite format 3\x00"


def make_engine(url: str, *, must_exist: bool = True, source: str = "the database URL") -> Engine:
    """An engine for `url`, refusing (exit 2) a URL finsam cannot use before anything
    connects: an unknown scheme, or a SQLite path that is a directory, a device or a
    file of another kind. `source` names where the URL came from, for the messages."""
    check_url(url, source)
    path = sqlite_path(url)
    if path is not None:
        _check_sqlite_file(path, must_exist=must_exist, source=source)
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_MS / 1000})
        _make_sqlite_transactional(engine)
        return engine
    # a server that drops packets would keep a command waiting for minutes: give up
    # after CONNECT_SECONDS unless the URL says otherwise (?connect_timeout=N)
    timeout = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_SECONDS}
    return sa.create_engine(url, pool_pre_ping=True, connect_args=timeout)


def check_url(url: str, source: str = "the database URL") -> None:
    """Refuse a URL that is not SQLite on a file or PostgreSQL through psycopg."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise UsageError(
            f"{source} {mask_secrets(url)!r} is not a database URL", f"give {SUPPORTED_URLS}"
        ) from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "sqlite" and driver == "pysqlite":
        if sqlite_path(url) is None:
            raise UsageError(
                f"{source} {shown_url(url)!r} names no database file "
                "(a database in memory is gone when the command ends)",
                f"give {SUPPORTED_URLS}",
            )
        return
    if backend == "postgresql" and driver == "psycopg":
        return
    raise UsageError(
        f"{source} {shown_url(url)!r}: the scheme {parsed.drivername!r} is not supported; "
        "finsam works with SQLite (sqlite:///) and PostgreSQL through psycopg (postgresql://)",
        f"give {SUPPORTED_URLS}",
    )


def _check_sqlite_file(path: Path, *, must_exist: bool, source: str) -> None:
    """The path must be an SQLite file (or empty, or absent when it may be created)."""
    hint = f"point {source} at a finsam database or a new file ({SUPPORTED_URLS})"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:  # a file where a folder should be, a name too long, no access
        raise UsageError(f"cannot reach the database at {path}: {exc.strerror}", hint) from None
    if mode is None:
        if must_exist:
            raise DatabaseMissing(
                f"no finsam database at {path}",
                "create it with 'finsam init --forbund FILE' "
                "(or point FINSAM_DATABASE_URL at an existing one)",
            )
        _create_private(path, hint)
        return
    if not stat.S_ISREG(mode):
        raise UsageError(f"{path} is {kind_of(mode)}, not a database file", hint)
    fd = open_regular(path, "a finsam database")
    try:
        header = os.read(fd, len(SQLITE_HEADER))
    except OSError as exc:
        raise UsageError(f"cannot read the database at {path}: {exc.strerror}", hint) from None
    finally:
        os.close(fd)
    if header and header != SQLITE_HEADER:
        raise UsageError(f"{path} is not a finsam database: it is not an SQLite file", hint)


def _create_private(path: Path, hint: str) -> None:
    """Create the database file readable and writable by its owner only: it holds
    personal data. SQLite gives its -wal and -shm files the database file's mode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise UsageError(
            f"cannot create the database at {path}: {exc.strerror}",
            "give a path in a folder you may write to: " + hint,
        ) from None


@contextmanager
def database_errors(engine: Engine) -> Iterator[None]:
    """Database failures inside become the messages of `database_error`."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        raise database_error(exc, engine.url.render_as_string(hide_password=False)) from None


def _make_sqlite_transactional(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not _foreign(cursor):  # WAL is written into the file: only into finsam's own
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


def _foreign(cursor: Any) -> bool:
    """Whether an SQLite file holds tables but not finsam's (another program's database:
    finsam refuses it, and must not switch it to WAL on the way)."""
    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    tables = {row[0] for row in cursor.fetchall()}
    return bool(tables) and "alembic_version" not in tables


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

    with database_errors(engine), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision (or `target`); returns (before, after).

    A database that holds tables but no finsam schema, or a schema revision this
    finsam does not know, is refused: it belongs to another program (or a newer
    finsam), and finsam's tables are not to be mixed into it."""
    from alembic import command
    from alembic.util import CommandError

    before = current_revision(engine)
    with database_errors(engine):
        _refuse_foreign(engine, before)
        try:
            with engine.begin() as conn:
                command.upgrade(_alembic_config(conn), target)
        except CommandError as exc:
            raise UsageError(
                f"the database {shown_url(str(engine.url))} is at schema revision {before!r}, "
                f"which this finsam does not know ({exc})",
                "use the finsam that made it (a newer version?), or a new database",
            ) from None
    return before, current_revision(engine)


def _refuse_foreign(engine: Engine, revision: str | None) -> None:
    if revision is not None:
        return
    with engine.connect() as conn:
        tables = sorted(sa.inspect(conn).get_table_names())
    if tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise UsageError(
            f"the database {shown_url(str(engine.url))} is not a finsam database: "
            f"it holds other tables ({shown}) and no finsam schema",
            "give finsam a database of its own (a new file or an empty PostgreSQL database)",
        )


def _stored_revision(engine: Engine) -> str | None:
    with database_errors(engine), engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def check_schema(engine: Engine) -> None:
    """Refuse to work on a database that is missing its schema or is behind this version."""
    current = _stored_revision(engine)
    head = SCHEMA_HEAD
    if current is None:
        with database_errors(engine):
            _refuse_foreign(engine, current)
        raise DatabaseMissing(
            "the database has no finsam schema yet",
            "run 'finsam init --forbund FILE' (or 'finsam db upgrade')",
        )
    if current == head:
        return
    if not (len(current) == len(head) and current.isdigit()):
        raise UsageError(
            f"the database is not a finsam database: its schema revision {current!r} is not "
            "finsam's",
            "point FINSAM_DATABASE_URL at a finsam database",
        )
    if current > head:
        raise UsageError(
            f"the database schema is at revision {current}, newer than this finsam ({head})",
            "use the newer finsam that upgraded it",
        )
    raise UsageError(
        f"the database schema is at revision {current}, this finsam needs {head}",
        "run 'finsam db upgrade' (it keeps all data)",
    )
