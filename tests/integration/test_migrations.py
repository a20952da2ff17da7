"""The schema comes from alembic, matches the models, and upgrades are safe to repeat."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from helpers import draft_plan

from workflow import plans
from workflow.db import SCHEMA_HEAD, current_revision, head_revision, upgrade
from workflow.models import SQLModel


def test_models_match_the_migrations(app: Any) -> None:
    with app.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_upgrade_again_keeps_the_data(app: Any) -> None:
    pid = draft_plan(app)
    assert current_revision(app.engine) == head_revision()
    assert upgrade(app.engine) == (head_revision(), head_revision())
    assert plans.show(app, pid)["id"] == pid


def test_schema_head_constant_is_alembics_head() -> None:
    assert head_revision() == SCHEMA_HEAD


def test_a_database_behind_this_version_is_refused(app: Any) -> None:
    import pytest

    from workflow.bootstrap import bootstrap
    from workflow.exceptions import UsageError

    with app.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0000'")
    with pytest.raises(UsageError, match="schema is at revision 0000") as exc:
        bootstrap(app.url, app.clock)
    assert exc.value.hint == "run 'finsam db upgrade' (it keeps all data)"
