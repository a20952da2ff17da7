"""Moving to another database (SQLite to PostgreSQL as a förbund grows): every row, as it is.

Ids, hashes and timestamps are copied unchanged, so the audit chain verifies on
the target with the same head, and links between rows hold. The target must
be empty; it gets the schema first. The rows go in one transaction: a copy
that fails leaves the target's tables empty.
"""

from __future__ import annotations

import sqlalchemy as sa

from workflow.core.app import App
from workflow.core.db import make_engine, upgrade
from workflow.core.db_errors import SUPPORTED_URLS, database_error
from workflow.core.exceptions import UsageError
from workflow.core.models import SQLModel  # registers the tables on SQLModel's metadata
from workflow.core.settings import mask_secrets, normalise_url, shown_url
from workflow.core.views import DatabaseCopy

CHUNK = 1000


def copy(app: App, target_url: str) -> DatabaseCopy:
    shown = shown_url(target_url)
    target_url = normalise_url(target_url)
    if target_url == app.url:
        raise UsageError("--to is the database finsam already uses", "give another database's URL")
    target = make_engine(target_url, must_exist=False, source="--to")
    tables = list(SQLModel.metadata.sorted_tables)
    try:
        _reach(target, shown)
        upgrade(target)
        _refuse_filled(target, tables, shown)
        counts: dict[str, int] = {}
        with app.engine.connect() as src, target.begin() as dst:
            for t in tables:
                counts[t.name] = _copy_table(src, dst, t)
            if target.dialect.name == "postgresql":
                _advance_sequences(dst, tables)
    finally:
        target.dispose()
    return {"from": shown_url(app.url), "to": shown, "rows": counts}


def _refuse_filled(target: sa.Engine, tables: list[sa.Table], shown: str) -> None:
    with target.connect() as check:
        filled = [t.name for t in tables if check.scalar(sa.select(sa.func.count()).select_from(t))]
    if filled:
        raise UsageError(
            f"{shown} already holds data (in {', '.join(filled)})",
            "copy into an empty database: create a new one and run the copy again",
        )


def _reach(target: sa.Engine, shown: str) -> None:
    """Connect once, so that a server that is not there is named as the --to given."""
    try:
        with target.connect():
            pass
    except sa.exc.DBAPIError as exc:
        error = database_error(exc, None)
        if error.exit_code != 2:
            raise error from None
        detail = mask_secrets(str(exc.orig).strip().splitlines()[0])
        raise UsageError(
            f"cannot open {shown}: {detail}",
            f"is the server running, and is --to right? give {SUPPORTED_URLS}",
        ) from None


def _copy_table(src: sa.Connection, dst: sa.Connection, table: sa.Table) -> int:
    result = src.execute(sa.select(table).order_by(*table.primary_key.columns))
    n = 0
    while rows := result.fetchmany(CHUNK):
        dst.execute(sa.insert(table), [dict(r._mapping) for r in rows])
        n += len(rows)
    return n


def _advance_sequences(dst: sa.Connection, tables: list[sa.Table]) -> None:
    """Rows came with their ids: the next id PostgreSQL hands out must follow them."""
    for t in tables:
        pk = list(t.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, sa.Integer):
            continue
        dst.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{t.name}', '{pk[0].name}'), "
                f"COALESCE((SELECT MAX({pk[0].name}) FROM {t.name}), 0) + 1, false)"
            )
        )
