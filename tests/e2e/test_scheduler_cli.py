"""`finsam scheduler tick|status` and `finsam db copy` from the command line, bad input too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import dump, run_cli


def test_tick_dry_run_shows_what_would_go_and_changes_nothing(year_db: str) -> None:
    before = dump(year_db)
    out = run_cli("scheduler", "tick", "--now", "2027-04-05T08:00", "--dry-run", "--json").stdout
    data = json.loads(out)
    subjects = [m["subject"] for m in data["would_send"]]
    assert any("Tertialrapport 1" in s for s in subjects), subjects
    assert dump(year_db) == before
    human = run_cli("scheduler", "tick", "--now", "2027-04-05T08:00", "--dry-run").stdout
    assert "inget ändras" in human and "Tertialrapport 1" in human


def test_tick_then_status(year_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FINSAM_MAIL_URL", f"file://{tmp_path / 'mail'}")
    # no node has ever run: unhealthy
    assert "no node has beaten" in run_cli("scheduler", "status", code=1).stdout
    ticked = json.loads(run_cli("scheduler", "tick", "--now", "2027-04-05T08:00", "--json").stdout)
    assert [r["sweep"] for r in ticked] == ["year", "notify", "outbox"]
    assert ticked[2]["counts"]["sent"] >= 1
    quiet = run_cli("scheduler", "tick", "--now", "2027-04-05T08:01", "--quiet")
    assert quiet.stdout == ""
    events = [json.loads(line) for line in quiet.stderr.splitlines()]
    assert {e["event"] for e in events} >= {"sweep-start", "sweep-done"}
    monkeypatch.setenv("FINSAM_NOW", "2027-04-05T08:02")
    data = json.loads(run_cli("scheduler", "status", "--json").stdout)
    assert data["healthy"] and data["outbox"]["sent"] >= 1
    assert data["nodes"][0]["kind"] == "tick"
    assert len(list((tmp_path / "mail").glob("*.eml"))) == ticked[2]["counts"]["sent"]


def test_bad_input_is_refused_with_exit_2_and_changes_nothing(
    year_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dump(year_db)
    bad_now = run_cli("scheduler", "tick", "--now", "2027-02-30", code=2)
    assert "--now '2027-02-30' is not a date or instant" in bad_now.stderr
    monkeypatch.setenv("FINSAM_SCHEDULER_OUTBOX_SECONDS", "often")
    bad_env = run_cli("scheduler", "status", code=2)
    assert "FINSAM_SCHEDULER_OUTBOX_SECONDS" in bad_env.stderr
    monkeypatch.delenv("FINSAM_SCHEDULER_OUTBOX_SECONDS")
    monkeypatch.setenv("FINSAM_SCHEDULER_HEARTBEAT_SECONDS", "0")
    assert "greater than 0" in run_cli("scheduler", "status", code=2).stderr
    monkeypatch.setenv("FINSAM_SCHEDULER_HEARTBEAT_SECONDS", "200")
    assert (
        "STALE_SECONDS (300) must be at least twice"
        in run_cli("scheduler", "status", code=2).stderr
    )
    monkeypatch.delenv("FINSAM_SCHEDULER_HEARTBEAT_SECONDS")
    monkeypatch.setenv("FINSAM_MAIL_URL", "smtp//nowhere")  # refused before any sweep runs
    assert "FINSAM_MAIL_URL 'smtp//nowhere'" in run_cli("scheduler", "tick", code=2).stderr
    assert "FINSAM_MAIL_URL" in run_cli("scheduler", "run", code=2).stderr
    monkeypatch.setenv("FINSAM_MAIL_URL", "console:")
    monkeypatch.setenv("FINSAM_MAIL_CONCURRENCY", "many")
    assert "FINSAM_MAIL_CONCURRENCY='many'" in run_cli("outbox", "send", code=2).stderr
    monkeypatch.delenv("FINSAM_MAIL_CONCURRENCY")
    same = run_cli("db", "copy", "--to", year_db, code=2)
    assert "already uses" in same.stderr
    nowhere = run_cli("db", "copy", "--to", "postgresql://x:secret@127.0.0.1:1/none", code=2)
    assert "cannot open postgresql://x:***@127.0.0.1:1/none" in nowhere.stderr
    assert "secret" not in nowhere.stderr
    assert dump(year_db) == before
