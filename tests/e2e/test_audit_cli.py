"""`finsam audit ...` and `finsam init` as people use them: no backdating, a trail that
checks itself against the plans, rows found by subject, and audited förbund files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ALE_FILE, CHEF, MEMBER, SOS_FILE, dump, run_cli

KEY = "sydostra-skane"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Sydöstra Skåne, registered by its förbundschef, and a 2027 plan submitted in November."""
    url = f"sqlite:///{tmp_path / 'finsam.db'}"
    monkeypatch.setenv("FINSAM_DATABASE_URL", url)
    monkeypatch.setenv("FINSAM_NOW", "2026-10-01T09:00")
    run_cli("init", "--forbund", str(SOS_FILE), "--as", CHEF)
    text = tmp_path / "plan.md"
    text.write_text("# Plan\n\nText.\n", encoding="utf-8")
    run_cli("plan", "new", "--year", "2027", "--from", str(text), "--as", CHEF)
    monkeypatch.setenv("FINSAM_NOW", "2026-11-02T10:00")
    run_cli("plan", "move", "1", "submit", "--as", CHEF)
    return url


def tamper(url: str, *statements: str) -> None:
    """Lift the trail's append-only triggers and change the database behind finsam's back."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
        for s in statements:
            conn.exec_driver_sql(s)
    engine.dispose()


def log(*args: str) -> list[dict]:
    """The rows `audit log --json` shows on its first page: the newest first."""
    return json.loads(run_cli("audit", "log", *args, "--json").stdout)["rows"]


def test_a_backdated_move_is_refused_naming_both_times(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dump(db)
    monkeypatch.setenv("FINSAM_NOW", "2001-01-01T12:00")
    refused = run_cli(
        "plan", "move", "1", "force", "--to", "draft", "--comment", "x", "--as", CHEF, code=2
    )
    assert "dated 2001-01-01T11:00:00+00:00" in refused.stderr
    assert "(seq 3, 2026-11-02T09:00:00+00:00)" in refused.stderr
    assert "FINSAM_NOW" in refused.stderr and "Traceback" not in refused.output
    assert dump(db) == before
    assert json.loads(run_cli("audit", "verify", "--json").stdout)["ok"] is True


def test_a_cut_tail_is_found_without_the_head(db: str) -> None:
    tamper(db, "DELETE FROM audit_event WHERE seq = 3")
    broken = run_cli("audit", "verify", code=1)
    assert "error: audit chain BROKEN: 2 problem(s) in 2 rows" in broken.stderr
    assert "plan 1 (2027) is in state 'presidium', but its last row in the trail (seq 2, " in (
        broken.stderr
    )
    assert "leaves it in 'draft'" in broken.stderr
    assert "plan 1 (2027) is at version 2, but the trail holds 1 changes of it" in broken.stderr
    data = json.loads(run_cli("audit", "verify", "--json", code=1).stdout)
    assert data["ok"] is False and len(data["problems"]) == 2
    assert data["problem"] == data["problems"][0]


def test_a_plan_whose_state_was_edited_is_named(db: str) -> None:
    tamper(db, "UPDATE plan SET state = 'adopted' WHERE id = 1")
    broken = run_cli("audit", "verify", code=1)
    assert "plan 1 (2027) is in state 'adopted'" in broken.stderr
    assert "leaves it in 'presidium'" in broken.stderr


def test_log_by_subject_and_forbund(db: str) -> None:
    assert [r["action"] for r in log("--subject", "plan:1")] == ["submit", "create"]
    assert [r["action"] for r in log("--subject", f"forbund:{KEY}")] == ["create"]
    assert [r["seq"] for r in log("--forbund", KEY)] == [3, 2, 1]
    assert log("--subject", "meeting:14") == []
    shown = run_cli("audit", "log", "--subject", f"forbund:{KEY}").stdout
    assert f"forbund:{KEY}" in shown and "Annika Rasmusson (förbundschef)" in shown
    wrong = run_cli("audit", "log", "--subject", "möte:14", code=2)
    assert "--subject 'möte:14' is not a subject" in wrong.stderr
    assert "meeting:14" in wrong.stderr
    unknown = run_cli("audit", "log", "--forbund", "lund", code=2)
    assert "unknown förbund 'lund'" in unknown.stderr


# ---------------------------------------------------------------- init over an existing förbund


@pytest.fixture
def changed(tmp_path: Path) -> Path:
    """The förbund file with Eva Lind made vice ordförande of the board."""
    text = SOS_FILE.read_text(encoding="utf-8")
    old = 'email = "eva.lind@simrishamn.example"\nrole = "ledamot"'
    assert old in text
    path = tmp_path / "sos.toml"
    path.write_text(text.replace(old, old.replace("ledamot", "vice ordförande")), "utf-8")
    return path


def test_init_over_a_forbund_names_who_changed_which_roles(db: str, changed: Path) -> None:
    created = log("--subject", f"forbund:{KEY}")[-1]
    assert (created["actor"], created["role"]) == (CHEF, "förbundschef")
    out = json.loads(run_cli("init", "--forbund", str(changed), "--as", CHEF, "--json").stdout)
    assert out["outcome"] == "updated"
    row = log("--subject", f"forbund:{KEY}")[0]
    assert (row["action"], row["actor_name"], row["role"]) == (
        "update",
        "Annika Rasmusson",
        "förbundschef",
    )
    assert row["comment"] == "Eva Lind: ledamot@styrelse → vice ordförande@styrelse"
    # the same file again: nothing changed, nothing written, nobody needed
    rows = len(log())
    run_cli("init", "--forbund", str(changed))
    assert len(log()) == rows
    run_cli("audit", "verify")


def test_init_over_a_forbund_needs_a_person(db: str, changed: Path) -> None:
    before = dump(db)
    refused = run_cli("init", "--forbund", str(changed), code=2)
    assert "who is changing it?" in refused.stderr
    assert "Eva Lind: ledamot@styrelse → vice ordförande@styrelse" in refused.stderr
    assert "--as EMAIL" in refused.stderr
    assert dump(db) == before


def test_init_over_a_forbund_by_somebody_the_stored_file_does_not_allow(
    db: str, changed: Path
) -> None:
    before = dump(db)
    refused = run_cli("init", "--forbund", str(changed), "--as", MEMBER, code=2)
    assert "only the förbundschef may change the förbund file" in refused.stderr
    assert dump(db) == before


def test_a_forbund_file_changed_in_the_database_is_named(db: str) -> None:
    tamper(db, "UPDATE forbund SET config_sha256 = 'feedface'")
    broken = run_cli("audit", "verify", code=1)
    assert f"förbund {KEY}: its stored file (sha256 feedface…)" in broken.stderr


def test_a_new_forbund_without_a_person_is_recorded_as_finsam_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    monkeypatch.setenv("FINSAM_NOW", "2026-10-01T09:00")
    run_cli("init", "--forbund", str(SOS_FILE))
    (row,) = log()
    assert (row["actor"], row["role"], row["action"]) == ("finsam", "system", "create")
    assert row["actor_name"].startswith("finsam init (OS user ")


# ---------------------------------------------------------------- one chain per förbund

ALE = "ale-kungalv"
ALE_CHEF = "per.liljeback@sofakst.example"


def test_each_forbund_has_its_own_head_and_verifies_alone(db: str) -> None:
    run_cli("init", "--forbund", str(ALE_FILE), "--as", ALE_CHEF)
    several = run_cli("audit", "head", code=2)
    assert "this database holds several förbund" in several.stderr
    assert f"--forbund KEY: {ALE}, {KEY}" in several.stderr
    sos = json.loads(run_cli("audit", "head", "--forbund", KEY, "--json").stdout)
    assert (sos["forbund"], sos["seq"], sos["short"]) == (KEY, 3, sos["hash"][:16])
    ale = json.loads(run_cli("audit", "head", "--forbund", ALE, "--json").stdout)
    shown = run_cli("audit", "head", "--forbund", ALE).stdout
    assert f"{ale['short']}  (row 1 of förbund {ALE}, {ale['hash']})" in shown
    alone = run_cli("audit", "verify", "--forbund", ALE).stdout
    assert f"audit chain of förbund {ALE} intact: 1 rows, head {ale['short']}" in alone
    whole = run_cli("audit", "verify").stdout
    assert "audit chain intact: 4 rows" in whole and f"förbund {KEY}: head {sos['short']}" in whole
    data = json.loads(run_cli("audit", "verify", "--json").stdout)
    assert data["heads"] == {ALE: ale["hash"], KEY: sos["hash"]} and data["forbund"] is None
    run_cli("audit", "verify", "--forbund", KEY, "--head", sos["short"])
    (row,) = log("--forbund", ALE)
    assert (row["seq"], row["prev_hash"], row["hash"], row["chain"]) == (
        1,
        "0" * 64,
        ale["hash"],
        "forbund",
    )
    unknown = run_cli("audit", "verify", "--forbund", "lund", code=2)
    assert "unknown förbund 'lund'" in unknown.stderr


def test_a_row_edited_in_one_forbund_leaves_the_other_intact(db: str) -> None:
    run_cli("init", "--forbund", str(ALE_FILE), "--as", ALE_CHEF)
    tamper(db, f"UPDATE audit_event SET comment = 'x' WHERE forbund_key = '{KEY}' AND seq = 2")
    run_cli("audit", "verify", "--forbund", ALE)
    broken = run_cli("audit", "verify", "--forbund", KEY, code=1)
    assert f"row seq 2 of förbund {KEY} (id 2) was edited after it was written" in broken.stderr
    assert "row seq 2 (id 2) was edited" in run_cli("audit", "verify", code=1).stderr
