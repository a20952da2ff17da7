"""The plan services on a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from helpers import CHAIR, CHEF, MEMBER, advance_to, draft_plan, dump, to_board

from workflow.core import audit
from workflow.core.exceptions import ConflictError, NotAllowed, NotFound, UsageError
from workflow.plans import services as plans
from workflow.plans.content import Content


def md(text: str) -> Content:
    return Content(text, "markdown")


def test_full_path_with_aterremiss(app: Any, clock: Any) -> None:
    pid = draft_plan(app)
    advance_to(clock, "2026-11-10T10:00")
    to_board(app, pid)
    advance_to(clock, "2026-11-24T16:00")
    result = plans.move(
        app,
        pid,
        "send-back",
        actor_email=CHEF,
        meeting=date(2026, 11, 24),
        paragraph="45",
        comment="Se över budgeten",
    )
    assert result["new_revision"] == 2 and result["follows_recommendation"] is False
    plans.edit(app, pid, actor_email=CHEF, content=md("# Plan\n\nReviderad."))
    advance_to(clock, "2026-12-08T10:00")
    to_board(app, pid, "2026-12-07")
    advance_to(clock, "2026-12-15T16:00")
    result = plans.move(
        app, pid, "adopt", actor_email=CHAIR, meeting=date(2026, 12, 15), paragraph="52"
    )
    assert result["follows_recommendation"] is True

    shown = plans.show(app, pid)
    assert (shown["state"], shown["revision"]) == ("adopted", 2)
    assert [(r["number"], r["adopted"]) for r in shown["revisions"]] == [(1, False), (2, True)]
    assert shown["revisions"][0]["frozen_at"] is not None
    assert [a["action"] for a in shown["open_actions"]] == ["revise", "force"]
    decisions = [
        (d["action"], d["revision"], d["meeting"], d["paragraph"]) for d in shown["decisions"]
    ]
    assert decisions == [("send-back", 1, "2026-11-24", "45"), ("adopt", 2, "2026-12-15", "52")]

    rows = plans.history(app, pid)
    assert [r["action"] for r in rows] == [
        "create",
        "submit",
        "recommend-adopt",
        "recommend-adopt",
        "send-back",
        "edit",
        "submit",
        "recommend-adopt",
        "recommend-adopt",
        "adopt",
    ]
    assert rows[2]["role"] == "ordförande@presidium" and rows[2]["body"] == "presidium"
    assert rows[-1]["role"] == "ordförande@styrelse"
    assert rows[4]["content_sha256"] != rows[-1]["content_sha256"]
    assert all(r["at"].endswith("+00:00") for r in rows)
    assert audit.verify_database(app).ok


def test_adopted_plan_revised_and_adopted_again(app: Any, clock: Any) -> None:
    """Insjöriket: 'Antagen 2017-11-28, Redigerad 2019-11-28' - both stay in the history."""
    pid = draft_plan(app)
    advance_to(clock, "2026-11-25")
    to_board(app, pid, "2026-11-20")
    plans.move(app, pid, "adopt", actor_email=CHEF, meeting=date(2026, 11, 24), paragraph="1")
    with pytest.raises(NotAllowed):
        plans.edit(app, pid, actor_email=CHEF, content=md("ändrad"))
    plans.move(app, pid, "revise", actor_email=CHEF, comment="Redigering inför 2028")
    plans.edit(app, pid, actor_email=CHEF, content=md("# Plan\n\nRedigerad."))
    to_board(app, pid, "2026-11-25")
    plans.move(app, pid, "adopt", actor_email=CHEF, meeting=date(2026, 11, 25), paragraph="2")
    adopted = [
        (r["revision"], r["meeting"]) for r in plans.history(app, pid) if r["action"] == "adopt"
    ]
    assert adopted == [(1, "2026-11-24"), (2, "2026-11-25")]


def test_multi_year_plan(app: Any) -> None:
    data = plans.create(
        app, forbund_key=None, year=2017, last_year=2019, title=None, actor_email=CHEF
    )
    assert data["title"] == "Verksamhetsplan och budget 2017–2019"
    with pytest.raises(UsageError, match="a plan covers 2017 up to 2021 at most"):
        plans.create(app, forbund_key=None, year=2017, last_year=2030, title=None, actor_email=CHEF)


def test_refusals_change_nothing(app: Any, clock: Any) -> None:
    pid = draft_plan(app)
    before = dump(app.url)
    cases = [
        (lambda: plans.move(app, 999, "submit", actor_email=CHEF), NotFound, "unknown plan 999"),
        (
            lambda: plans.move(app, pid, "submit", actor_email="nobody@x.example"),
            NotFound,
            "no person with e-mail 'nobody@x.example'",
        ),
        (
            lambda: plans.move(app, pid, "submit", actor_email=MEMBER),
            NotAllowed,
            "only the förbundschef may take 'submit'",
        ),
        (
            lambda: plans.move(app, pid, "adopt", actor_email=CHEF),
            NotAllowed,
            "action 'adopt' is not allowed in state 'draft'",
        ),
        (lambda: plans.move(app, pid, "submit", actor_email=None), UsageError, "who is acting"),
        (
            lambda: plans.create(
                app, forbund_key=None, year=2027, last_year=None, title=None, actor_email=CHEF
            ),
            UsageError,
            "already has a plan for 2027",
        ),
        (
            lambda: plans.create(
                app, forbund_key="lund", year=2028, last_year=None, title=None, actor_email=CHEF
            ),
            NotFound,
            "unknown förbund 'lund'",
        ),
        (
            lambda: plans.edit(app, pid, actor_email=MEMBER, content=md("x")),
            NotAllowed,
            "may edit plans",
        ),
    ]
    for call, error, text in cases:
        with pytest.raises(error) as exc:
            call()
        assert text in str(exc.value)
        assert exc.value.exit_code == 2
    assert dump(app.url) == before


def test_stale_version_is_a_conflict(app: Any) -> None:
    pid = draft_plan(app)
    seen = plans.show(app, pid)["version"]
    plans.edit(app, pid, actor_email=CHEF, title="Ny titel")
    before = dump(app.url)
    with pytest.raises(ConflictError) as exc:
        plans.move(app, pid, "submit", actor_email=CHEF, expected_version=seen)
    assert exc.value.exit_code == 3
    assert "you acted on version 1, it is now version 2" in str(exc.value)
    assert dump(app.url) == before


def test_rejected_plan_is_final_but_for_force(app: Any, clock: Any) -> None:
    pid = draft_plan(app)
    to_board(app, pid, "2026-10-01")
    plans.move(
        app,
        pid,
        "reject",
        actor_email=CHEF,
        meeting=date(2026, 10, 1),
        paragraph="9",
        comment="Budgeten saknar täckning",
    )
    shown = plans.show(app, pid)
    assert [a["action"] for a in shown["open_actions"]] == ["force"]
    plans.move(
        app,
        pid,
        "force",
        actor_email=CHEF,
        target="styrelse",
        comment="Beslutet registrerades på fel plan",
    )
    last = plans.history(app, pid)[-1]
    assert (last["kind"], last["from"], last["to"]) == ("force", "rejected", "styrelse")
    assert last["comment"] == "Beslutet registrerades på fel plan"
