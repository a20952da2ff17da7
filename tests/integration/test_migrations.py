"""The schema comes from alembic, matches the models, and upgrades are safe to repeat."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from helpers import draft_plan
from workflow import plans
from workflow.db import current_revision, head_revision, upgrade
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
