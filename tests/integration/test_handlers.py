"""What follows from what: each handler of workflow/handlers.py, through the services
that record its event, and the rule that a handler's work commits with the change.

tests/unit/test_handler_table.py checks that every event has a handler and that
each handler has a test here named after it.
"""

from __future__ import annotations

from datetime import date
from email import message_from_string, policy
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    CHEF,
    LEADER,
    RenderSpy,
    add_maria,
    adopt_in_september,
    advance_to,
    begin_2027,
    dump,
    store_plan_file,
)

from states.events import MeetingMoved
from workflow.core import audit
from workflow.cycle import meetings, papers, protokoll
from workflow.mail import compose, delivery
from workflow.plans import services as plans
from workflow.reports import obligations


@pytest.fixture
def year(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """2027 with its meetings and Mariamottagningen's reports."""
    begin_2027(app, clock, tmp_path, monkeypatch)
    add_maria(app, end=date(2028, 12, 31))
    obligations.generate(app, None, 2027, actor_email=CHEF)
    return {m["key"]: m for m in meetings.list_meetings(app, None, 2027)}


def _messages(app: Any, kind: str) -> list[dict[str, Any]]:
    return [m for m in delivery.list_messages(app, limit=None)["messages"] if m["kind"] == kind]


def test_tell_next_body_queues_an_arrival_with_the_move(app: Any, clock: Any, year: Any) -> None:
    advance_to(clock, "2027-08-20T09:00")
    pid = store_plan_file(app)
    moved = plans.move(app, pid, "submit", actor_email=CHEF)
    arrivals = _messages(app, "arrival")
    assert moved["placed_on"]["meeting"] == year["presidium-styrelse-2027-09"]["id"]
    assert [m["key"] for m in arrivals] == [f"arrival:{moved['audit_seq']}"]
    assert "presidiets möte 6 september 2027" in arrivals[0]["subject"]


def test_move_due_dates_follows_a_moved_meeting(app: Any, year: Any) -> None:
    board = year["styrelse-2027-05"]
    moved = meetings.move(app, board["id"], date(2027, 5, 25), actor_email=CHEF)
    tertial = [o for o in obligations.status(app, None, 2027) if o["kind"] == "tertial-1"]
    assert [(d["obligation"], d["new_due"]) for d in moved["due_moved"]] == [
        (tertial[0]["id"], tertial[0]["due"])
    ]
    assert moved["due_moved"][0]["old_due"] < tertial[0]["due"]
    rows = [r for r in audit.log(app) if r["action"] == "due-moved"]
    assert len(rows) == 1 and "moved" in rows[0]["comment"]


def test_move_reports_of_cancelled_meeting_to_the_bodys_next(app: Any, year: Any) -> None:
    """Cancelling the May board meeting: the tertial report it was to handle goes to the
    board's next meeting, its due date with it, audited, as a waiting plan would."""
    may = year["styrelse-2027-05"]
    before = next(o for o in obligations.status(app, None, 2027) if o["kind"] == "tertial-1")
    assert before["meeting"] == may["id"]
    cancelled = meetings.cancel(app, may["id"], actor_email=CHEF)
    after = next(o for o in obligations.status(app, None, 2027) if o["kind"] == "tertial-1")
    following = min(
        (m for m in year.values() if m["body"] == "styrelse" and m["date"] > may["date"]),
        key=lambda m: m["date"],
    )
    assert after["meeting"] == following["id"]
    assert after["due"] > before["due"]
    assert {(d["obligation"], d["old_due"], d["new_due"]) for d in cancelled["due_moved"]} == {
        (after["id"], before["due"], after["due"])
    }
    rows = [r for r in audit.log(app) if r["action"] == "due-moved"]
    assert [r["subject"] for r in rows] == [f"obligation:{after['id']}"]
    assert (
        f"meeting {may['id']} cancelled: handled at meeting {following['id']}"
        in (rows[0]["comment"])
    )
    # the report is now expected at the meeting it moved to
    agenda = papers.agenda(app, following["id"])
    assert any(r["id"] == after["id"] for r in agenda["reports"]["missing"])


def test_send_decisions_after_the_minutes_are_approved(app: Any, clock: Any, year: Any) -> None:
    adopt_in_september(app, clock)
    board = year["styrelse-2027-09"]
    vice, member = "lars.berg@skane.example", "eva.lind@simrishamn.example"
    protokoll.record_minutes(app, board["id"], [CHEF, vice, member], [vice], actor_email=CHEF)
    assert not _messages(app, "decision")
    protokoll.justera(app, board["id"], vice)
    assert len(_messages(app, "decision")) == 7  # one per member organisation's registry


def test_send_to_justerare_mails_each_justerare_of_the_draft_sent(
    app: Any, clock: Any, year: Any
) -> None:
    adopt_in_september(app, clock)
    board = year["styrelse-2027-09"]
    vice, member = "lars.berg@skane.example", "eva.lind@simrishamn.example"
    protokoll.record_minutes(app, board["id"], [CHEF, vice, member], [vice], actor_email=CHEF)
    assert not _messages(app, "justering")  # recorded, not sent
    protokoll.record_minutes(
        app, board["id"], [CHEF, vice, member], [vice, member], actor_email=CHEF, send=True
    )
    sent = _messages(app, "justering")
    assert sorted(r for m in sent for r in m["recipients"]) == sorted([vice, member])


def test_tell_chef_of_change_mails_the_forbundschef_the_comment(
    app: Any, clock: Any, year: Any
) -> None:
    adopt_in_september(app, clock)
    board = year["styrelse-2027-09"]
    vice = "lars.berg@skane.example"
    protokoll.record_minutes(app, board["id"], [CHEF, vice], [vice], actor_email=CHEF, send=True)
    assert not _messages(app, "minutes_change")
    protokoll.request_change(app, board["id"], vice, "Rätta stavningen av mitt namn i § 3.")
    (change,) = _messages(app, "minutes_change")
    assert change["recipients"] == [CHEF]


def test_tell_project_owed_mails_the_leader_the_new_reports_with_a_link(
    app: Any, year: Any
) -> None:
    owed = _messages(app, "owed")
    assert [m["recipients"] for m in owed] == [[LEADER]]
    body = _body(app, owed[0]["id"])
    assert "Tertialrapport 1 2027" in body and "Årsberättelse 2027" in body
    assert "[inloggningslänken visas inte]" in body  # the link is a secret while it waits


def test_tell_project_returned_mails_the_comment_and_a_link_back(
    app: Any, clock: Any, year: Any, tmp_path: Path
) -> None:
    t1 = next(o for o in obligations.status(app, None, 2027) if o["kind"] == "tertial-1")
    doc = tmp_path / "t1.pdf"
    doc.write_bytes(b"%PDF-1.4 rapport")
    obligations.submit(app, t1["id"], doc, LEADER)
    assert not _messages(app, "returned")
    obligations.decide(app, t1["id"], "return", CHEF, "Siffrorna för män saknas.")
    returned = _messages(app, "returned")
    assert [m["recipients"] for m in returned] == [[LEADER]]
    body = _body(app, returned[0]["id"])
    assert "Siffrorna för män saknas." in body and "behöver kompletteras" in returned[0]["subject"]


def test_a_failing_handler_undoes_the_change_that_caused_it(app: Any, year: Any) -> None:
    """Handlers run in the service's transaction: if one fails, nothing of the change stays."""

    def broken(event: MeetingMoved, uow: Any) -> None:
        raise RuntimeError("the handler failed")

    board = year["styrelse-2027-05"]
    before = dump(app.url)
    app.handlers = {**app.handlers, MeetingMoved: [*app.handlers[MeetingMoved], broken]}
    with pytest.raises(RuntimeError):
        meetings.move(app, board["id"], date(2027, 5, 25), actor_email=CHEF)
    assert dump(app.url) == before


def test_messages_a_change_causes_are_rendered_after_its_transaction(
    app: Any, clock: Any, year: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan's arrival and the decision notices are drafted in the change's transaction
    and rendered after it commits: no write lock is held while templates render."""
    spy = RenderSpy(monkeypatch)
    adopt_in_september(app, clock)
    board = year["styrelse-2027-09"]
    vice, member = "lars.berg@skane.example", "eva.lind@simrishamn.example"
    protokoll.record_minutes(app, board["id"], [CHEF, vice, member], [vice], actor_email=CHEF)
    protokoll.justera(app, board["id"], vice)
    assert spy.rendered.count("arrival") == 3 and spy.rendered.count("decision") == 7
    assert spy.inside == []
    assert not _messages_in(app, "draft")


def test_a_draft_left_behind_is_rendered_by_the_notify_sweep(
    app: Any, clock: Any, year: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If rendering after the commit fails (or the process dies there), the change
    stands with its messages drafted, and the next notify sweep renders them."""

    def broken(app: Any, now: Any = None) -> int:
        raise RuntimeError("the renderer died")

    monkeypatch.setattr(compose, "render_drafts", broken)
    advance_to(clock, "2027-08-20T09:00")
    pid = store_plan_file(app)
    moved = plans.move(app, pid, "submit", actor_email=CHEF)
    assert moved["to"] == "presidium"
    drafted = _messages_in(app, "draft")
    assert [m["key"] for m in drafted] == [f"arrival:{moved['audit_seq']}"]
    monkeypatch.undo()
    compose.sweep(app)
    arrival = _messages(app, "arrival")
    assert [m["state"] for m in arrival] == ["queued"]
    assert "presidiets möte 6 september 2027" in arrival[0]["subject"]


def _body(app: Any, message_id: int) -> str:
    """The plain text of a queued message, as `outbox show` gives it (secrets hidden)."""
    raw = delivery.show(app, message_id)["raw"]
    message = message_from_string(raw, policy=policy.default)
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def _messages_in(app: Any, state: str) -> list[dict[str, Any]]:
    return delivery.list_messages(app, state, limit=None)["messages"]
