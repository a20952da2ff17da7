"""The schema comes from alembic, matches the models, and upgrades are safe to repeat."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from helpers import draft_plan

from workflow.core.db import SCHEMA_HEAD, current_revision, head_revision, upgrade
from workflow.core.models import SQLModel, UTCDateTime
from workflow.plans import services as plans


# SQLite cannot reflect an expression index (the insatser's lower(e-mail) ones), so the
# comparison skips them there and says so; PostgreSQL compares them
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
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
    from workflow.core.exceptions import UsageError

    with app.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0000'")
    with pytest.raises(UsageError, match="schema is at revision 0000") as exc:
        bootstrap(app.url, app.clock)
    assert exc.value.hint == "run 'finsam db upgrade' (it keeps all data)"


def test_upgrading_from_the_first_schema_keeps_plans(db_url: str, clock: Any) -> None:
    """A database made by the first release gains revision formats without losing a row."""
    from helpers import SOS_FILE

    from workflow.bootstrap import bootstrap
    from workflow.forbund import registry as forbunds
    from workflow.forbund.file import load_forbund

    app = bootstrap(db_url, clock, must_exist=False, check=False)
    assert upgrade(app.engine, "0001") == (None, "0001")
    cfg = load_forbund(SOS_FILE)
    with app.engine.begin() as conn:
        now = clock.now()
        conn.execute(
            SQLModel.metadata.tables["forbund"]
            .insert()
            .values(
                id=1,
                key=cfg.forbund.key,
                name=cfg.forbund.name,
                config=cfg.model_dump(mode="json"),
                config_sha256=cfg.sha256(),
                created_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            SQLModel.metadata.tables["plan"]
            .insert()
            .values(
                id=1,
                forbund_id=1,
                year=2027,
                last_year=2027,
                title="Plan",
                state="draft",
                revision=1,
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        # the first schema's revision table, without the later content_format
        revision = sa.table(
            "plan_revision",
            *(
                sa.column(c)
                for c in ("id", "plan_id", "number", "title", "content", "content_sha256")
            ),
            sa.column("created_at", UTCDateTime()),
        )
        conn.execute(
            revision.insert().values(
                id=1,
                plan_id=1,
                number=1,
                title="Plan",
                content="# Gammal plan",
                content_sha256="0" * 64,
                created_at=now,
            )
        )
    assert upgrade(app.engine) == ("0001", head_revision())
    assert forbunds.register(app, cfg)["outcome"] == "unchanged"
    shown = plans.show(app, 1)
    assert shown["content"] == "# Gammal plan" and shown["revisions"][0]["number"] == 1
    app.engine.dispose()
