"""`finsam db copy --to URL`: a SQLite database moved to PostgreSQL, whole and still working."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import draft_plan, dump, make_app, queue_arrivals, run_cli

from workflow.core import audit
from workflow.plans import services as plans

pytestmark = pytest.mark.postgres


def test_copy_sqlite_to_postgres_keeps_every_row_and_the_chain(
    tmp_path: Path, pg_url: str, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"sqlite:///{tmp_path / 'f.db'}"
    app = make_app(source, clock)
    plan_id = draft_plan(app)
    queue_arrivals(app, 5)
    head = audit.head_of(app)["hash"]
    app.engine.dispose()

    monkeypatch.setenv("FINSAM_DATABASE_URL", source)
    result = run_cli("db", "copy", "--to", pg_url, "--json")
    assert json.loads(result.stdout)["rows"]["plan"] == 1
    assert rows(pg_url) == rows(source)

    # the copy works as a database of its own: the chain verifies, new ids follow the old
    target = make_app(pg_url, clock)
    assert audit.verify_database(target, head).ok
    second = draft_plan(target, year=2028)
    assert second > plan_id
    plans.show(target, second)
    target.engine.dispose()

    # a second copy into the now filled database is refused and changes nothing
    before = dump(pg_url)
    result = run_cli("db", "copy", "--to", pg_url, code=2)
    assert "already holds data" in result.stderr
    assert dump(pg_url) == before


def rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every finsam table as Python values, so two backends compare."""
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: [
                    tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))
                ]
                for t in SQLModel.metadata.sorted_tables
            }
    finally:
        engine.dispose()
