"""The audit chain notices edits, deletions and reordering, even by the database's owner."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CHEF, draft_plan

from workflow.core import audit
from workflow.plans import services as plans


def tamper(app: Any, *statements: str) -> None:
    """Play the attacker: lift the append-only trigger, then rewrite rows."""
    with app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        for s in statements:
            conn.exec_driver_sql(s)


@pytest.fixture
def trail(app: Any) -> Any:
    pid = draft_plan(app)
    plans.edit(app, pid, actor_email=CHEF, title="Ny titel")
    plans.move(app, pid, "submit", actor_email=CHEF)
    plans.move(app, pid, "revise", actor_email=CHEF, comment="Tillbaka")
    assert audit.verify_database(app).rows == 4
    return app


def test_intact_chain(trail: Any) -> None:
    result = audit.verify_database(trail)
    assert result.ok and result.rows == 4
    assert result.head == audit.head_of(trail)["hash"]


def test_rows_cannot_be_updated_or_deleted(trail: Any) -> None:
    for statement in ("UPDATE audit_event SET comment = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), trail.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert audit.verify_database(trail).ok


def test_edited_row(trail: Any) -> None:
    tamper(trail, "UPDATE audit_event SET comment = 'Annat skäl' WHERE seq = 4")
    result = audit.verify_database(trail)
    assert not result.ok and result.first_bad_seq == 4
    assert "was edited after it was written" in result.problem


def test_deleted_row(trail: Any) -> None:
    tamper(trail, "DELETE FROM audit_event WHERE seq = 2")
    result = audit.verify_database(trail)
    assert not result.ok and result.first_bad_seq == 3
    assert "a row is missing before it" in result.problem


def test_reordered_rows(trail: Any) -> None:
    tamper(
        trail,
        "UPDATE audit_event SET seq = 100 WHERE seq = 2",
        "UPDATE audit_event SET seq = 2 WHERE seq = 3",
        "UPDATE audit_event SET seq = 3 WHERE seq = 100",
    )
    result = audit.verify_database(trail)
    assert not result.ok and result.first_bad_seq == 2


def test_removed_tail_is_caught_by_the_head_in_the_minutes(trail: Any) -> None:
    head = audit.head_of(trail)["short"]
    assert audit.verify_database(trail, head).ok
    tamper(trail, "DELETE FROM audit_event WHERE seq = 4")
    assert audit.verify_database(trail).ok  # the chain alone cannot see a cut tail
    result = audit.verify_database(trail, head)
    assert not result.ok and "is not in the chain" in result.problem
