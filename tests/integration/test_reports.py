"""Insatser and their reports: obligations from the cycle, submissions, the late list."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import CHEF, LEADER, MEMBER, add_maria, advance_to, begin_2027, dump, store_plan_file

from workflow.core import audit
from workflow.core.exceptions import NotAllowed, NotFound, UsageError
from workflow.cycle import meetings
from workflow.cycle import papers as meeting_docs
from workflow.plans import decided
from workflow.reports import insatser
from workflow.reports import obligations as reports


@pytest.fixture
def year(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    begin_2027(app, clock, tmp_path, monkeypatch)
    add_maria(app, end=date(2027, 12, 31), budget={2027: 3000}, sus=True)
    insatser.add(
        app,
        None,
        actor_email=CHEF,
        name="Unga vuxna i arbete",
        owner="ystad",
        start=date(2027, 3, 1),
        leader_name="Nora Al",
        leader_email="nora.al@ystad.example",
    )
    insatser.add(
        app,
        None,
        actor_email=CHEF,
        name="Möjligheternas hus",
        owner="tomelilla",
        start=date(2018, 8, 1),
        leader_name="Kim Ros",
        leader_email="kim.ros@tomelilla.example",
    )
    return {
        (r["insats_name"], r["kind"]): r
        for r in reports.generate(app, None, 2027, actor_email=CHEF)
    }


def test_obligations_follow_the_rules(app: Any, year: Any) -> None:
    kinds = sorted(year)
    # a mid-year start owes nothing for the year before, and its tertial starts in March
    assert ("Unga vuxna i arbete", "arsberattelse") not in year
    assert year[("Unga vuxna i arbete", "tertial-1")]["period"] == "2027-03-01–2027-04-30"
    t1 = year[("Mariamottagningen", "tertial-1")]
    board = next(
        m for m in meetings.list_meetings(app, None, 2027) if m["key"] == "styrelse-2027-05"
    )
    assert t1["meeting"] == board["id"]
    # due seven days before the beredningsgrupp meeting of 26 April
    assert t1["due"] == "2027-04-19"
    assert year[("Mariamottagningen", "slutrapport")]["period_end"] == "2027-12-31"
    assert len(kinds) == 9
    assert reports.generate(app, None, 2027, actor_email=CHEF) == []  # safe to repeat


def test_ending_an_insats_drops_later_tertials_and_owes_a_final_report(
    app: Any, clock: Any, year: Any
) -> None:
    insats_id = year[("Möjligheternas hus", "tertial-1")]["insats"]
    advance_to(clock, "2027-06-10T09:00")
    result = reports.end_insats(app, insats_id, date(2027, 6, 30), actor_email=CHEF)
    assert [o["kind"] for o in result["cancelled"]] == ["tertial-2"]
    # the first board meeting 30 days after the end is September's
    assert (result["final"]["kind"], result["final"]["due"]) == ("slutrapport", "2027-08-30")
    rows = reports.status(app, None, 2027, insats_id=insats_id)
    assert "tertial-2" not in [r["kind"] for r in rows]
    with pytest.raises(UsageError, match="has ended already"):
        reports.end_insats(app, insats_id, date(2027, 7, 1), actor_email=CHEF)
    dropped = result["cancelled"][0]["id"]
    with pytest.raises(NotAllowed, match="cannot submit: the obligation is cancelled"):
        reports.submit(app, dropped, Path(__file__), "kim.ros@tomelilla.example")


def test_submit_approve_return_and_the_stored_copy(
    app: Any, clock: Any, year: Any, tmp_path: Path
) -> None:
    t1 = year[("Mariamottagningen", "tertial-1")]["id"]
    doc = tmp_path / "Tertialrapport 1.pdf"
    doc.write_bytes(b"%PDF-1.4 rapport")
    advance_to(clock, "2027-04-15T10:00")
    done = reports.submit(app, t1, doc, LEADER)
    sha = hashlib.sha256(b"%PDF-1.4 rapport").hexdigest()
    assert (done["state"], done["file_sha256"], done["file_name"], done["file_size"]) == (
        "submitted",
        sha,
        "Tertialrapport 1.pdf",
        16,
    )
    assert (tmp_path / "files" / sha[:2] / sha).read_bytes() == b"%PDF-1.4 rapport"
    with pytest.raises(NotAllowed, match="only the förbundschef may return a report"):
        reports.decide(app, t1, "return", LEADER, "Saknar SUS-siffror")
    returned = reports.decide(app, t1, "return", CHEF, "Saknar SUS-siffror")
    assert (returned["state"], returned["comment"]) == ("returned", "Saknar SUS-siffror")
    again = reports.submit(app, t1, doc, LEADER)
    assert again["state"] == "submitted"
    assert reports.decide(app, t1, "approve", CHEF)["state"] == "approved"
    with pytest.raises(NotAllowed, match="cannot return: it is approved already"):
        reports.decide(app, t1, "return", CHEF, "x")
    trail = [r for r in audit.log(app) if r["subject"] == f"obligation:{t1}"]
    assert [r["action"] for r in trail] == ["create", "submit", "return", "submit", "approve"]
    assert trail[1]["role"] == "project" and trail[2]["role"] == "förbundschef"
    assert audit.verify_database(app).ok


def test_refusals_change_nothing_not_even_the_data_folder(
    app: Any, year: Any, tmp_path: Path
) -> None:
    t1 = year[("Mariamottagningen", "tertial-1")]["id"]
    doc = tmp_path / "r.pdf"
    doc.write_bytes(b"rapport")
    before = dump(app.url)
    cases = [
        (
            lambda: reports.decide(app, t1, "approve", CHEF),
            NotAllowed,
            "cannot approve: it was never submitted",
        ),
        (lambda: reports.submit(app, 999, doc, LEADER), NotFound, "unknown report obligation 999"),
        (
            lambda: reports.submit(app, t1, tmp_path / "none.pdf", LEADER),
            UsageError,
            "none.pdf: no such file",
        ),
        (
            lambda: reports.submit(app, t1, doc, "stranger@x.example"),
            NotFound,
            "stranger@x.example is neither a contact of insats",
        ),
        (
            lambda: reports.submit(app, t1, doc, MEMBER),
            NotAllowed,
            "only the insats's project leader or contact or the förbundschef may submit",
        ),
        (
            lambda: reports.decide(app, t1, "return", CHEF, None),
            UsageError,
            "a returned report needs a comment",
        ),
        (lambda: reports.status(app, None, 2027, insats_id=99), NotFound, "unknown insats 99"),
    ]
    for call, error, text in cases:
        with pytest.raises(error) as exc:
            call()
        assert text in str(exc.value) and exc.value.exit_code == 2
    assert dump(app.url) == before
    assert not (tmp_path / "files").exists()


def test_late_list_and_due_dates_that_follow_a_moved_meeting(
    app: Any, clock: Any, year: Any
) -> None:
    advance_to(clock, "2027-04-25T09:00")
    late = reports.status(app, None, 2027, late_only=True)
    assert {(r["insats_name"], r["kind"], r["days_late"]) for r in late} == {
        ("Mariamottagningen", "arsberattelse", 62),
        ("Möjligheternas hus", "arsberattelse", 62),
        ("Mariamottagningen", "tertial-1", 6),
        ("Unga vuxna i arbete", "tertial-1", 6),
        ("Möjligheternas hus", "tertial-1", 6),
    }
    board = next(
        m for m in meetings.list_meetings(app, None, 2027) if m["key"] == "styrelse-2027-09"
    )
    moved = meetings.move(app, board["id"], date(2027, 9, 28), actor_email=CHEF)
    assert {(o["old_due"], o["new_due"]) for o in moved["due_moved"]} == {
        ("2027-08-30", "2027-09-06")
    }
    assert len(moved["due_moved"]) == 3
    trail = [r for r in audit.log(app) if r["action"] == "due-moved"]
    assert len(trail) == 3 and trail[0]["comment"].startswith("due 2027-08-30 → 2027-09-06")


def test_the_agenda_knows_what_came_in_and_what_is_missing(
    app: Any, clock: Any, year: Any, tmp_path: Path
) -> None:
    doc = tmp_path / "r.pdf"
    doc.write_bytes(b"rapport")
    advance_to(clock, "2027-04-15T10:00")
    reports.submit(app, year[("Mariamottagningen", "tertial-1")]["id"], doc, LEADER)
    board = next(
        m for m in meetings.list_meetings(app, None, 2027) if m["key"] == "styrelse-2027-05"
    )
    agenda = meeting_docs.agenda(app, board["id"])
    assert [i["title"] for i in agenda["items"] if i["kind"] == "report"] == [
        "Tertialrapport 1 2027: Mariamottagningen"
    ]
    assert [r["insats_name"] for r in agenda["reports"]["received"]] == ["Mariamottagningen"]
    assert sorted(r["insats_name"] for r in agenda["reports"]["missing"]) == [
        "Möjligheternas hus",
        "Unga vuxna i arbete",
    ]


def test_insatser_from_the_plans_decided_list(app: Any, clock: Any) -> None:

    pid = store_plan_file(app)
    added = decided.insatser_from_plan(app, pid, actor_email=CHEF)
    assert [(i["name"], i["owner"], i["end"], i["source"]) for i in added] == [
        ("Mariamottagningen", "region-skane", "2028-12-31", f"plan {pid}"),
        ("Unga vuxna i arbete", "ystad", "2029-02-28", f"plan {pid}"),
    ]
    with pytest.raises(UsageError, match="already has an insats named 'Mariamottagningen'"):
        decided.insatser_from_plan(app, pid, actor_email=CHEF)
    with pytest.raises(NotFound, match="unknown projektägare 'malmo'"):
        insatser.add(app, None, actor_email=CHEF, name="X", owner="malmo", start=date(2027, 1, 1))
    with pytest.raises(UsageError, match="--leader-email 'nora' is not an e-mail address"):
        insatser.add(
            app,
            None,
            actor_email=CHEF,
            name="Y",
            owner="ystad",
            start=date(2027, 1, 1),
            leader_email="nora",
        )
