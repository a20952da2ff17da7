"""Insatser as a register with an actor and an audit row for every change: who may add,
edit and end one and generate the reports, what `insats edit` corrects, and how a new
period carries the insats's reports along."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import CHAIR, CHEF, LEADER, MEMBER, SOS_FILE, add_maria, begin_2027, dump

from workflow.core import audit
from workflow.core.exceptions import NotAllowed, NotFound, UsageError
from workflow.forbund import registry as forbunds
from workflow.forbund.file import load_forbund
from workflow.reports import insatser
from workflow.reports import obligations as reports
from workflow.reports.insatser import InsatsChanges


def _rows(app: Any, subject: str) -> list[dict[str, Any]]:
    return [dict(r) for r in audit.log(app) if r["subject"] == subject]


def _with(tmp_path: Path, extra: str) -> Path:
    """The example förbund file with `extra` TOML after it."""
    path = tmp_path / "forbund.toml"
    path.write_text(SOS_FILE.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return path


@pytest.fixture
def year(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """2027's meetings; Mariamottagningen (to 31 December 2027) and its reports."""
    begin_2027(app, clock, tmp_path, monkeypatch)
    add_maria(app, end=date(2027, 12, 31), budget={2027: 3000})
    return {r["kind"]: r for r in reports.generate(app, None, 2027, actor_email=CHEF)}


def test_every_change_needs_a_person_who_may_make_it(app: Any, year: dict[str, Any]) -> None:
    insats = year["tertial-1"]["insats"]
    before = dump(app.url)
    add = {"name": "Ny", "owner": "ystad", "start": date(2027, 3, 1)}
    cases = [
        (lambda: insatser.add(app, None, actor_email=None, **add), UsageError, "who is acting?"),
        (
            lambda: insatser.add(app, None, actor_email="nobody@x.example", **add),
            NotFound,
            "no person with e-mail 'nobody@x.example'",
        ),
        (
            lambda: insatser.add(app, None, actor_email=MEMBER, **add),
            NotAllowed,
            "only the förbundschef may add, edit and end insatser",
        ),
        (
            lambda: insatser.edit(app, insats, InsatsChanges(name="X"), actor_email=MEMBER),
            NotAllowed,
            "only the förbundschef may add, edit and end insatser",
        ),
        (
            lambda: reports.end_insats(app, insats, date(2027, 6, 30), actor_email=LEADER),
            NotFound,
            "no person with e-mail",
        ),
        (
            lambda: reports.generate(app, None, 2028, actor_email=None),
            UsageError,
            "who is acting?",
        ),
        (
            lambda: reports.generate(app, None, 2027, actor_email=CHAIR),
            NotAllowed,
            "only the förbundschef may create the report obligations",
        ),
    ]
    for call, error, text in cases:
        with pytest.raises(error) as exc:
            call()
        assert text in str(exc.value) and exc.value.exit_code == 2
    assert dump(app.url) == before


def test_who_may_is_the_forbund_files_permissions(
    app: Any, year: dict[str, Any], tmp_path: Path
) -> None:
    forbunds.register(
        app,
        load_forbund(
            _with(tmp_path, '[permissions]\ninsatser = ["ordförande@styrelse"]\nreports = []\n')
        ),
        CHEF,
    )
    added = insatser.add(
        app, None, actor_email=CHAIR, name="Ny", owner="ystad", start=date(2027, 3, 1)
    )
    (row,) = _rows(app, f"insats:{added['id']}")
    assert (row["actor"], row["role"], row["action"]) == (CHAIR, "ordförande@styrelse", "add")
    with pytest.raises(NotAllowed, match="only the ordförande"):
        insatser.add(
            app, None, actor_email=CHEF, name="Nyare", owner="ystad", start=date(2027, 3, 1)
        )
    with pytest.raises(NotAllowed) as exc:
        reports.generate(app, None, 2027, actor_email=CHEF)
    assert exc.value.message.startswith("only nobody may create the report obligations")
    assert "change [permissions] reports in the förbund file" in exc.value.hint


def test_audit_rows_follow_an_insats_and_its_reports(
    app: Any, clock: Any, year: dict[str, Any]
) -> None:
    insats = year["tertial-1"]["insats"]
    (added,) = _rows(app, f"insats:{insats}")
    assert (added["action"], added["actor"], added["role"], added["to"]) == (
        "add",
        CHEF,
        "förbundschef",
        "active",
    )
    assert "owner region-skane" in added["comment"] and "2027: 3000 tkr" in added["comment"]
    t2 = year["tertial-2"]["id"]
    assert [(r["action"], r["actor"]) for r in _rows(app, f"obligation:{t2}")] == [("create", CHEF)]
    ended = reports.end_insats(
        app, insats, date(2027, 6, 30), actor_email=CHEF, reason="Medlen tog slut\ni juni"
    )
    assert [o["id"] for o in ended["cancelled"]] == [t2]
    # the planned final report (to 31 December) now covers the insats to 30 June
    final = ended["final"]
    assert final["id"] == year["slutrapport"]["id"] and final["period_end"] == "2027-06-30"
    end_row = _rows(app, f"insats:{insats}")[-1]
    assert (end_row["action"], end_row["from"], end_row["to"], end_row["actor"]) == (
        "end",
        "active",
        "ended",
        CHEF,
    )
    assert end_row["comment"] == (
        "ended 2027-06-30 (planned end 2027-12-31): Medlen tog slut\ni juni"
    )
    assert [(r["action"], r["actor"]) for r in _rows(app, f"obligation:{t2}")] == [
        ("create", CHEF),
        ("cancel", CHEF),
    ]
    assert [r["action"] for r in _rows(app, f"obligation:{final['id']}")] == ["create", "period"]
    assert audit.verify_database(app).ok


def test_edit_corrects_each_field_with_before_and_after(app: Any, year: dict[str, Any]) -> None:
    insats = year["tertial-1"]["insats"]
    changed = insatser.edit(
        app,
        insats,
        InsatsChanges(
            name="Mariamottagningen Ystad",
            owner="ystad",
            leader_name="Sofia Eklund",
            leader_email="Sofia.Eklund@Skane.example",
            contact_name="Per Öhman",
            contact_email="per.ohman@ystad.example",
            budget={2027: 3200, 2028: 1000},
            sus=True,
        ),
        actor_email=CHEF,
    )
    assert changed["changed"] == [
        "name: Mariamottagningen → Mariamottagningen Ystad",
        "owner: region-skane → ystad",
        "leader name: Sofia Ek → Sofia Eklund",
        f"leader e-mail: {LEADER} → Sofia.Eklund@skane.example",
        "contact name: (none) → Per Öhman",
        "contact e-mail: (none) → per.ohman@ystad.example",
        "budget 2027: 3000 tkr → 3200 tkr",
        "budget 2028: (none) → 1000 tkr",
        "SUS: no → yes",
    ]
    shown = insatser.show(app, insats)
    assert {k: v for k, v in changed.items() if k != "changed"} == shown
    assert shown["owner_name"] == "Ystads kommun" and len(shown["obligations"]) == 4
    rows = _rows(app, f"insats:{insats}")[1:]
    assert [r["comment"] for r in rows] == changed["changed"]
    assert {(r["action"], r["actor"], r["role"]) for r in rows} == {("edit", CHEF, "förbundschef")}
    # the same values again: nothing changes, nothing is written
    before = dump(app.url)
    again = insatser.edit(app, insats, InsatsChanges(sus=True, owner="ystad"), actor_email=CHEF)
    assert again["changed"] == [] and dump(app.url) == before
    removed = insatser.edit(
        app, insats, InsatsChanges(budget={2028: None}, leader_email=""), actor_email=CHEF
    )
    assert removed["changed"] == [
        "leader e-mail: Sofia.Eklund@skane.example → (none)",
        "budget 2028: 1000 tkr → (none)",
    ]
    assert removed["budget"] == {"2027": 3200}


def test_a_new_period_carries_the_pending_reports_along(app: Any, year: dict[str, Any]) -> None:
    insats = year["tertial-1"]["insats"]
    # starting in March: the annual report for 2026 falls away, tertial 1 covers March-April
    later = insatser.edit(app, insats, InsatsChanges(start=date(2027, 3, 1)), actor_email=CHEF)
    states = {o["kind"]: (o["state"], o["period"]) for o in later["obligations"]}
    assert states["arsberattelse"][0] == "cancelled"
    assert states["tertial-1"] == ("pending", "2027-03-01–2027-04-30")
    assert states["slutrapport"] == ("pending", "2027-03-01–2027-12-31")
    # ending in June: tertial 2 falls away, the final report covers March to June
    shorter = insatser.edit(app, insats, InsatsChanges(end=date(2027, 6, 30)), actor_email=CHEF)
    states = {o["kind"]: (o["state"], o["period"]) for o in shorter["obligations"]}
    assert states["tertial-2"][0] == "cancelled"
    assert states["slutrapport"] == ("pending", "2027-03-01–2027-06-30")
    # and back: what fell away is owed again (reopened), each step audited with the actor
    back = insatser.edit(
        app,
        insats,
        InsatsChanges(start=date(2019, 5, 1), end=date(2027, 12, 31)),
        actor_email=CHEF,
    )
    assert {o["kind"]: o["state"] for o in back["obligations"]} == {
        k: "pending" for k in ("arsberattelse", "tertial-1", "tertial-2", "slutrapport")
    }
    assert {o["kind"]: o["due"] for o in back["obligations"]} == {
        k: o["due"] for k, o in year.items()
    }
    t2 = year["tertial-2"]["id"]
    assert [(r["action"], r["actor"]) for r in _rows(app, f"obligation:{t2}")] == [
        ("create", CHEF),
        ("period", CHEF),  # from March
        ("cancel", CHEF),  # ends in June
        ("reopen", CHEF),  # back to May 2019 - December 2027
    ]
    assert any(
        line.startswith(f"report {t2} (Tertialrapport 2 2027): owed again")
        for line in back["changed"]
    )
    # no end: the final report falls away
    open_ended = insatser.edit(app, insats, InsatsChanges(no_end=True), actor_email=CHEF)
    assert {o["kind"]: o["state"] for o in open_ended["obligations"]}["slutrapport"] == "cancelled"
    assert audit.verify_database(app).ok


def test_a_report_handed_in_keeps_its_period(
    app: Any, clock: Any, year: dict[str, Any], tmp_path: Path
) -> None:
    from helpers import advance_to

    insats = year["tertial-1"]["insats"]
    doc = tmp_path / "t1.txt"
    doc.write_text("Tertialrapport 1\n", encoding="utf-8")
    advance_to(clock, "2027-04-15T10:00")
    reports.submit(app, year["tertial-1"]["id"], doc, LEADER)
    before = dump(app.url)
    with pytest.raises(UsageError) as exc:
        # the name is set before the period is refused: the whole edit is undone
        insatser.edit(
            app, insats, InsatsChanges(name="Nytt", start=date(2027, 2, 1)), actor_email=CHEF
        )
    assert f"report {year['tertial-1']['id']} (Tertialrapport 1 2027" in exc.value.message
    assert "is submitted for 2027-01-01–2027-04-30" in exc.value.message
    assert "to cover 2027-02-01–2027-04-30" in exc.value.message
    with pytest.raises(UsageError, match="the new period would need it to fall away"):
        insatser.edit(app, insats, InsatsChanges(end=date(2027, 3, 31)), actor_email=CHEF)
    assert dump(app.url) == before
    # a change that leaves it as it was is fine
    kept = insatser.edit(app, insats, InsatsChanges(end=date(2027, 10, 31)), actor_email=CHEF)
    assert {o["kind"]: o["state"] for o in kept["obligations"]}["tertial-1"] == "submitted"


def test_edit_refuses_what_add_refuses_and_changes_nothing(app: Any, year: dict[str, Any]) -> None:
    insats = year["tertial-1"]["insats"]
    insatser.add(app, None, actor_email=CHEF, name="Annan", owner="ystad", start=date(2027, 3, 1))
    before = dump(app.url)
    cases = [
        (InsatsChanges(leader_name="Lea\r\nBcc: x@y"), "--leader-name contains a control"),
        (InsatsChanges(contact_name="Per\x1b[31m"), "--contact-name contains a control"),
        (InsatsChanges(name="x" * 201), "--name is 201 characters long; at most 200"),
        (InsatsChanges(name="  "), "--name is empty"),
        (InsatsChanges(name="Annan"), "already has an insats named 'Annan'"),
        (InsatsChanges(owner="malmo"), "unknown projektägare 'malmo'"),
        (InsatsChanges(leader_email="nora"), "--leader-email 'nora' is not an e-mail address"),
        (InsatsChanges(contact_email="a@b.example\nBcc: c@d"), "--contact-email contains"),
        (InsatsChanges(start=date(2028, 1, 1)), "the insats ends (2027-12-31) before it starts"),
        (InsatsChanges(end=date(2230, 1, 1)), "--end 2230-01-01 is out of range"),
        (InsatsChanges(end=date(2028, 1, 1), no_end=True), "--end and --no-end contradict"),
        (InsatsChanges(budget={2027: -5}), "--budget 2027: -5 is out of range"),
        (InsatsChanges(budget={20270: 5}), "--budget 20270: the year is out of range"),
        (InsatsChanges(), "nothing to change"),
    ]
    for changes, text in cases:
        with pytest.raises((UsageError, NotFound)) as exc:
            insatser.edit(app, insats, changes, actor_email=CHEF)
        assert text in str(exc.value) and exc.value.exit_code == 2, (changes, str(exc.value))
    for missing in (99, 2**70, 0):
        with pytest.raises(NotFound, match=f"unknown insats {missing}"):
            insatser.edit(app, missing, InsatsChanges(name="X"), actor_email=CHEF)
    assert dump(app.url) == before
    reports.end_insats(app, insats, date(2027, 6, 30), actor_email=CHEF)
    with pytest.raises(UsageError, match="its last day cannot be removed"):
        insatser.edit(app, insats, InsatsChanges(no_end=True), actor_email=CHEF)
    with pytest.raises(UsageError, match="--leader-name contains a control character"):
        insatser.add(
            app,
            None,
            actor_email=CHEF,
            name="Ny",
            owner="ystad",
            start=date(2027, 3, 1),
            leader_name="Lea\r\nBcc: x@y",
        )
    with pytest.raises(UsageError, match="--reason contains a control character, ESC"):
        reports.end_insats(app, insats, date(2027, 6, 30), actor_email=CHEF, reason="\x1b[2J")
    with pytest.raises(UsageError, match="--comment contains a control character, NUL"):
        reports.decide(app, year["tertial-1"]["id"], "return", CHEF, "Saknas\x00")


def test_a_missing_board_meeting_names_the_reports_key(
    app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kinds = (
        '[[reports.kinds]]\nkey = "halvar"\nname = "Halvårsrapport"\n'
        "to_month = 6\nboard_month = 7\n"
    )
    forbunds.register(app, load_forbund(_with(tmp_path, kinds)), CHEF)
    add_maria(app)
    before = dump(app.url)
    # no cycle yet: generate it first, or change the key
    with pytest.raises(UsageError) as exc:
        reports.generate(app, None, 2027, actor_email=CHEF)
    assert exc.value.message == (
        "no styrelse meeting in month 7 of 2027 to handle Halvårsrapport (the förbund file's "
        '[[reports.kinds]] key = "halvar", board_month = 7); the 2027 cycle has no styrelse '
        "meetings yet"
    )
    assert "finsam cycle generate --year 2027" in exc.value.hint
    assert "board_month of that [[reports.kinds]] entry" in exc.value.hint
    assert dump(app.url) == before
    # a cycle without a July board meeting: the months the board does meet in
    begin_2027(app, clock, tmp_path, monkeypatch)
    before = dump(app.url)
    with pytest.raises(UsageError) as exc:
        reports.generate(app, None, 2027, actor_email=CHEF)
    assert '[[reports.kinds]] key = "halvar", board_month = 7' in exc.value.message
    assert "in 2027 the styrelse meets in month(s) 2, 3, 5, 9, 10, 11" in exc.value.message
    assert "[reports]" in exc.value.hint
    assert dump(app.url) == before
