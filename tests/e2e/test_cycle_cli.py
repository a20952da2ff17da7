"""`finsam cycle|meeting|calendar` through the CLI: output, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import EXAMPLES, SOS_FILE, dump, run_cli

finsam = run_cli


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'finsam.db'}"
    monkeypatch.setenv("FINSAM_DATABASE_URL", url)
    monkeypatch.setenv("FINSAM_NOW", "2026-11-26T10:00")
    finsam("init", "--forbund", str(SOS_FILE))
    return url


def test_generate_show_move_export(db: str, tmp_path: Path) -> None:
    dry = finsam("cycle", "generate", "--year", "2027", "--dry-run").stdout
    assert "Förslag 2027 (inget sparat)" in dry and "9 feb. 2027 (tis)" in dry
    finsam("cycle", "generate", "--year", "2027")
    rows = json.loads(finsam("cycle", "show", "--year", "2027", "--json").stdout)
    assert len(rows) == 18 and rows[0]["date"] == "2027-01-25"
    board = next(r for r in rows if r["key"] == "styrelse-2027-09")
    out = finsam("meeting", "move", str(board["id"]), "--to", "2027-09-28").stdout
    assert "now 28 sep. 2027 14:00, sequence 1" in out
    assert out.count("moved with it") == 2
    ics = tmp_path / "k.ics"
    assert "Wrote" in finsam("calendar", "export", "--year", "2027", "--ics", str(ics)).stdout
    assert ics.read_text(encoding="utf-8").count("BEGIN:VEVENT") == 18


BAD = [
    (["meeting", "move", "99", "--to", "2027-02-16"], "error: unknown meeting 99"),
    (["meeting", "move", "1", "--to", "2027-02-30"], "error: --to '2027-02-30' is not a real date"),
    (
        ["meeting", "move", "1", "--to", "2027-06-25"],
        "error: 2027-06-25 is not a meeting day: Midsommarafton",
    ),
    (["meeting", "cancel", "99"], "error: unknown meeting 99"),
    (["cycle", "generate", "--year", "1066"], "error: year 1066 is out of range"),
    (["cycle", "show", "--year", "2027", "--body", "kansli"], "error: unknown body 'kansli'"),
    (
        ["calendar", "export", "--year", "2031", "--ics", "x.ics"],
        "error: no meetings stored for 2031",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a[:2]) + a[2] for a, _ in BAD])
def test_bad_input_changes_nothing(db: str, args: list[str], message: str) -> None:
    finsam("cycle", "generate", "--year", "2027")
    before = dump(db)
    assert finsam(*args, code=2).stderr.startswith(message)
    assert dump(db) == before


def test_rules_that_cannot_be_met_and_a_forbund_without_rules(db: str, tmp_path: Path) -> None:
    text = SOS_FILE.read_text(encoding="utf-8").replace(
        "month = 2\nweek = 2\n", "month = 2\nweek = 5\n"
    )
    bad = tmp_path / "sos.toml"
    bad.write_text(text, encoding="utf-8")
    finsam("init", "--forbund", str(bad))
    before = dump(db)
    result = finsam("cycle", "generate", "--year", "2027", code=2)
    assert result.stderr == (
        "error: there is no fifth tuesday in February 2027\n"
        "hint: February 2027 has 4 tuesdays; use week = -1 for the last one\n"
    )
    assert dump(db) == before
    finsam("init", "--forbund", str(EXAMPLES / "forbund" / "lund.toml"))
    result = finsam("cycle", "generate", "--year", "2027", "--forbund", "lund", code=2)
    assert result.stderr.startswith("error: Lunds samordningsförbund has no cycle rules")


def test_a_malformed_cycle_rule_names_the_key(tmp_path: Path) -> None:
    text = SOS_FILE.read_text(encoding="utf-8").replace(
        'weekday = "tuesday"', 'weekday = "sunday"', 1
    )
    bad = tmp_path / "sos.toml"
    bad.write_text(text, encoding="utf-8")
    result = finsam("workflow", "show", "--file", str(bad), code=2)
    assert "cycle.board[0].weekday: Input should be 'monday', 'tuesday'" in result.stderr


def test_agenda_notice_minutes_justera_wheel(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chef = "annika.rasmusson@sydostraskane.example"
    vice = "lars.berg@skane.example"
    finsam("cycle", "generate", "--year", "2027")
    board = next(
        m
        for m in json.loads(finsam("cycle", "show", "--year", "2027", "--json").stdout)
        if m["key"] == "styrelse-2027-02"
    )
    mid = str(board["id"])
    agenda = finsam("meeting", "agenda", mid).stdout
    assert "1. Mötets öppnande" in agenda and "Uppstart av året" in agenda
    notice = tmp_path / "kallelse.html"
    finsam("meeting", "notice", mid, "--format", "html", "-o", str(notice))
    assert "Kallelse till styrelsens sammanträde" in notice.read_text(encoding="utf-8")
    assert finsam("meeting", "minutes", mid, code=2).stderr.startswith(
        f"error: meeting {mid} has no minutes yet"
    )
    monkeypatch.setenv("FINSAM_NOW", "2027-02-09T17:00")
    minutes = finsam(
        "meeting", "minutes", mid, "--present", chef, "--present", vice, "--justerare", vice
    ).stdout
    assert minutes.startswith("# Protokoll – Styrelsen") and "§ 1 Mötets öppnande" in minutes
    out = finsam("meeting", "justera", mid, "--as", vice).stdout
    assert "approved. Notice up by 11 feb. 2027; appeals until 4 mars 2027." in out
    assert finsam("meeting", "justera", mid, "--as", chef, code=2).stderr.startswith(
        f"error: {chef} is not a justerare of meeting {mid}"
    )
    wheel = tmp_path / "hjul.svg"
    finsam("cycle", "wheel", "--year", "2027", "-o", str(wheel))
    assert wheel.read_text(encoding="utf-8").startswith("<svg")
