"""Two people at once, through two real connections: exactly one wins, the other is told."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from helpers import CHEF, draft_plan, race

from workflow.bootstrap import bootstrap
from workflow.core import audit
from workflow.core.exceptions import ConflictError, FinsamError
from workflow.core.models import AuditEvent
from workflow.plans import services as plans


def second_client(app: Any) -> Any:
    """Another process's view of the same database: its own engine and connections."""
    return bootstrap(app.url, app.clock)


def test_same_plan_same_version_one_wins(app: Any) -> None:
    pid = draft_plan(app)
    other = second_client(app)
    version = plans.show(app, pid)["version"]
    for _ in range(5):
        results = race(
            [
                lambda v=version: plans.edit(
                    app, pid, actor_email=CHEF, title="A", expected_version=v
                ),
                lambda v=version: plans.edit(
                    other, pid, actor_email=CHEF, title="B", expected_version=v
                ),
            ]
        )
        wins = [r for r in results if isinstance(r, dict)]
        losses = [r for r in results if isinstance(r, ConflictError)]
        assert len(wins) == 1 and len(losses) == 1, results
        assert losses[0].exit_code == 3
        version += 1
        assert plans.show(app, pid)["version"] == version
    assert audit.verify_database(app).ok
    other.engine.dispose()


def test_same_plan_without_a_pinned_version(app: Any) -> None:
    """Both read the plan in draft and submit: one moves it, the other gets a conflict."""
    pid = draft_plan(app)
    other = second_client(app)
    results = race(
        [
            lambda: plans.move(app, pid, "submit", actor_email=CHEF),
            lambda: plans.move(other, pid, "submit", actor_email=CHEF),
        ]
    )
    wins = [r for r in results if isinstance(r, dict)]
    assert len(wins) == 1, results
    loser = next(r for r in results if not isinstance(r, dict))
    # the loser either lost the compare-and-set (3) or, having waited for the winner,
    # found submit no longer open (2); never a second submit
    assert isinstance(loser, FinsamError) and loser.exit_code in (2, 3), loser
    submits = [r for r in plans.history(app, pid) if r["action"] == "submit"]
    assert len(submits) == 1
    other.engine.dispose()


def test_different_plans_at_once_share_one_unforked_chain(app: Any) -> None:
    ids = [draft_plan(app, year) for year in (2027, 2028, 2029, 2030)]
    clients = [second_client(app) for _ in ids]
    results = race(
        [
            (lambda c=c, p=p: plans.move(c, p, "submit", actor_email=CHEF))
            for c, p in zip(clients, ids, strict=True)
        ]
    )
    assert all(isinstance(r, dict) for r in results), results
    check = audit.verify_database(app)
    assert check.ok and check.rows == 9  # the förbund's registration and 2 rows per plan
    for c in clients:
        c.engine.dispose()


def test_database_refuses_a_fork_of_the_chain(app: Any) -> None:
    pid = draft_plan(app)
    with app.engine.connect() as conn:
        plan_rows = sa.select(AuditEvent.__table__).where(AuditEvent.plan_id == pid)
        row = conn.execute(plan_rows).mappings().one()
        fork = dict(row)
        fork.pop("id")
        fork.update(seq=row["seq"] + 1, hash="f" * 64, action="edit")
        try:
            conn.execute(
                sa.insert(AuditEvent.__table__).values(**{**fork, "prev_hash": row["prev_hash"]})
            )
            conn.commit()
            raise AssertionError("a second row on the same previous hash was accepted")
        except sa.exc.IntegrityError:
            conn.rollback()
    assert plans.history(app, pid)[0]["action"] == "create"
