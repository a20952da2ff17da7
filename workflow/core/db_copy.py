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
from workflow.core.exceptions import UsageError
from workflow.core.models import SQLModel  # registers the tables on SQLModel's metadata
from workflow.core.settings import shown_url
from workflow.core.views import DatabaseCopy

CHUNK = 1000


def copy(app: App, target_url: str) -> DatabaseCopy:

    if target_url == app.url:
        raise UsageError("--to is the database finsam already uses", "give another database's URL")
    try:
        target = make_engine(target_url, must_exist=False)
        upgrade(target)
    except sa.exc.SQLAlchemyError as exc:
        raise UsageError(
            f"cannot open {shown_url(target_url)}: {exc.__class__.__name__}",
            "give a URL such as postgresql://user:password@host/finsam or sqlite:////path/f.db",
        ) from None
    tables = list(SQLModel.metadata.sorted_tables)
    counts: dict[str, int] = {}
    try:
        with target.connect() as check:
            filled = [
                t.name for t in tables if check.scalar(sa.select(sa.func.count()).select_from(t))
            ]
        if filled:
            raise UsageError(
                f"{shown_url(target_url)} already holds data (in {', '.join(filled)})",
                "copy into an empty database: create a new one and run the copy again",
            )
        with app.engine.connect() as src, target.begin() as dst:
            for t in tables:
                counts[t.name] = _copy_table(src, dst, t)
            if target.dialect.name == "postgresql":
                _advance_sequences(dst, tables)
    finally:
        target.dispose()
    return {"from": shown_url(app.url), "to": shown_url(target_url), "rows": counts}


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
