"""`finsam cycle|meeting|calendar` through the CLI: output, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import CHAIR, CHEF, EXAMPLES, SOS_FILE, dump, run_cli

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
    finsam("cycle", "generate", "--year", "2027", "--as", CHEF)
    rows = json.loads(finsam("cycle", "show", "--year", "2027", "--json").stdout)
    assert len(rows) == 18 and rows[0]["date"] == "2027-01-25"
    board = next(r for r in rows if r["key"] == "styrelse-2027-09")
    out = finsam("meeting", "move", str(board["id"]), "--to", "2027-09-28", "--as", CHEF).stdout
    assert "now 28 sep. 2027 14:00, sequence 1" in out
    assert out.count("moved with it") == 2
    ics = tmp_path / "k.ics"
    assert "Wrote" in finsam("calendar", "export", "--year", "2027", "--ics", str(ics)).stdout
    assert ics.read_text(encoding="utf-8").count("BEGIN:VEVENT") == 18


BAD = [
    (["meeting", "move", "99", "--to", "2027-02-16", "--as", CHEF], "error: unknown meeting 99"),
    (["meeting", "move", "1", "--to", "2027-02-30"], "error: --to '2027-02-30' is not a real date"),
    (
        ["meeting", "move", "1", "--to", "2027-06-25", "--as", CHEF],
        "error: 2027-06-25 is not a meeting day: Midsommarafton",
    ),
    (["meeting", "cancel", "99", "--as", CHEF], "error: unknown meeting 99"),
    (["cycle", "generate", "--year", "1066", "--as", CHEF], "error: --year 1066 is out of range"),
    (["cycle", "show", "--year", "2027", "--body", "kansli"], "error: unknown body 'kansli'"),
    (
        ["calendar", "export", "--year", "2031", "--ics", "x.ics"],
        "error: no meetings stored for 2031",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a[:2]) + a[2] for a, _ in BAD])
def test_bad_input_changes_nothing(db: str, args: list[str], message: str) -> None:
    finsam("cycle", "generate", "--year", "2027", "--as", CHEF)
    before = dump(db)
    assert finsam(*args, code=2).stderr.startswith(message)
    assert dump(db) == before


def test_rules_that_cannot_be_met_and_a_forbund_without_rules(db: str, tmp_path: Path) -> None:
    text = SOS_FILE.read_text(encoding="utf-8").replace(
        "month = 2\nweek = 2\n", "month = 2\nweek = 5\n"
    )
    bad = tmp_path / "sos.toml"
    bad.write_text(text, encoding="utf-8")
    finsam("init", "--forbund", str(bad), "--as", CHEF)
    before = dump(db)
    result = finsam("cycle", "generate", "--year", "2027", "--as", CHEF, code=2)
    assert result.stderr == (
        "error: there is no fifth tuesday in February 2027\n"
        "hint: February 2027 has 4 tuesdays; use week = -1 for the last one\n"
    )
    assert dump(db) == before
    finsam("init", "--forbund", str(EXAMPLES / "forbund" / "lund.toml"))
    lund_chef = "forbundschef@finsamlund.example"
    result = finsam(
        "cycle", "generate", "--year", "2027", "--forbund", "lund", "--as", lund_chef, code=2
    )
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
    finsam("cycle", "generate", "--year", "2027", "--as", CHEF)
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
        "meeting",
        "minutes",
        mid,
        "--present",
        chef,
        "--present",
        vice,
        "--justerare",
        vice,
        "--as",
        chef,
    ).stdout
    assert minutes.startswith("# Protokoll – Styrelsen") and "§ 1 Mötets öppnande" in minutes
    out = finsam("meeting", "justera", mid, "--as", vice).stdout
    notice = "Notice on the anslagstavla from 9 feb. 2027; appeals until 2 mars 2027."
    assert f"approved. {notice}" in out
    assert finsam("meeting", "justera", mid, "--as", chef, code=2).stderr.startswith(
        f"error: {chef} is not a justerare of meeting {mid}"
    )
    wheel = tmp_path / "hjul.svg"
    finsam("cycle", "wheel", "--year", "2027", "-o", str(wheel))
    assert wheel.read_text(encoding="utf-8").startswith("<svg")


# ---------------------------------------------------------------- actors, audit, ad hoc


def audit_rows(subject: str) -> list[dict[str, Any]]:
    """The trail's rows of one subject, oldest first, from `audit log --subject --json`."""
    shown = json.loads(finsam("audit", "log", "--subject", subject, "--json").stdout)
    assert shown["next"] is None
    return shown["rows"][::-1]


def meeting_id(key: str, year: int = 2027) -> str:
    rows = json.loads(finsam("cycle", "show", "--year", str(year), "--json").stdout)
    return str(next(m["id"] for m in rows if m["key"] == key))


CHANGES = {
    "cycle generate": ["cycle", "generate", "--year", "2028"],
    "meeting move": ["meeting", "move", "{board}", "--to", "2027-05-18"],
    "meeting cancel": ["meeting", "cancel", "{board}", "--reason", "Inställt"],
    "meeting add": ["meeting", "add", "--body", "presidium", "--date", "2027-06-14"],
    "meeting minutes": [
        *("meeting", "minutes", "{board}", "--present", CHEF, "--present", CHAIR),
        *("--justerare", CHAIR),
    ],
}


@pytest.mark.parametrize("command", list(CHANGES))
def test_a_calendar_change_needs_a_person_who_may_make_it(
    db: str, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FINSAM_USER", raising=False)
    finsam("cycle", "generate", "--year", "2027", "--as", CHEF)
    monkeypatch.setenv("FINSAM_NOW", "2027-05-12T09:00")
    args = [a.format(board=meeting_id("styrelse-2027-05")) for a in CHANGES[command]]
    before = dump(db)
    missing = finsam(*args, code=2).stderr
    assert missing.startswith("error: who is acting? nobody was named\n")
    assert "give --as EMAIL or set FINSAM_USER" in missing
    wrong = finsam(*args, "--as", CHAIR, code=2).stderr
    assert wrong.startswith("error: only the förbundschef may ") and "Karin Holm may not" in wrong
    assert dump(db) == before
    monkeypatch.setenv("FINSAM_USER", CHEF)  # the environment names the actor as well
    finsam(*args)
    assert dump(db) != before


def test_ad_hoc_meeting_and_a_move_into_another_year(db: str) -> None:
    finsam("cycle", "generate", "--year", "2027", "--as", CHEF)
    added = json.loads(
        finsam(
            "meeting", "add", "--body", "styrelse", "--date", "2027-06-15", "--time", "09:30",
            "--place", "ystad", "--title", "Lokalfrågan [extra]", "--as", CHEF, "--json",
        ).stdout
    )  # fmt: skip
    assert (added["time"], added["location"], added["theme"]) == (
        "09:30",
        "Ystads kommun",
        "Lokalfrågan [extra]",
    )
    shown = finsam("cycle", "show", "--year", "2027", "--body", "styrelse").stdout
    assert "Lokalfrågan [extra]" in shown and "extra sammanträde" in shown
    before = dump(db)
    refused = [
        (
            ["--date", "2027-06-15"],
            f"error: Styrelsen meets on 2027-06-15 already: meeting {added['id']} at 09:30",
        ),
        (["--date", "2027-06-16", "--place", "Ystad\nBcc: x@y"], "error: --place contains"),
        (["--date", "2027-06-16", "--title", "\x1b[31m"], "error: --title contains"),
    ]
    for extra, message in refused:
        args = ["meeting", "add", "--body", "styrelse", *extra, "--as", CHEF]
        assert finsam(*args, code=2).stderr.startswith(message)
    board = meeting_id("styrelse-2027-11")
    moving = ["meeting", "move", board, "--to", "2031-11-24", "--as", CHEF]
    for extra in ([], ["--force"], ["--reason", "Valår"]):
        stderr = finsam(*moving, *extra, code=2).stderr
        assert stderr == (
            f"error: meeting {board} is on 2027-11-23 (2027); 2031-11-24 is in another year "
            "(2031)\nhint: moving a meeting to another year needs both --force and --reason "
            "TEXT (why it moves); or choose a day in 2027\n"
        )
    assert dump(db) == before
    out = finsam(
        "meeting", "move", board, "--to", "2028-01-11", "--force", "--reason", "Budgeten dröjer",
        "--as", CHEF,
    ).stdout  # fmt: skip
    assert "now 11 jan. 2028 14:00, sequence 1" in out
    life = audit_rows(f"meeting:{board}")
    assert [(r["action"], r["actor"], r["role"]) for r in life] == [
        ("generate", CHEF, "förbundschef"),
        ("move", CHEF, "förbundschef"),
    ]
    assert life[-1]["comment"].endswith("; reason: Budgeten dröjer")
    [add_row] = audit_rows(f"meeting:{added['id']}")
    assert (add_row["action"], add_row["actor_name"]) == ("add", "Annika Rasmusson")


def test_who_may_change_the_calendar_comes_from_the_forbund_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = SOS_FILE.read_text(encoding="utf-8").replace(
        "[[members]]", '[permissions]\nmeetings = ["ordförande@styrelse"]\n\n[[members]]', 1
    )
    path = tmp_path / "sos.toml"
    path.write_text(text, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'perm.db'}"
    monkeypatch.setenv("FINSAM_DATABASE_URL", url)
    monkeypatch.setenv("FINSAM_NOW", "2026-11-26T10:00")
    finsam("init", "--forbund", str(path))
    finsam("cycle", "generate", "--year", "2027", "--as", CHEF)  # `cycle` keeps its default
    board = meeting_id("styrelse-2027-05")
    refused = finsam("meeting", "cancel", board, "--as", CHEF, code=2).stderr
    assert refused.startswith(
        "error: only the ordförande of styrelse may add, move and cancel meetings"
    )
    finsam("meeting", "cancel", board, "--as", CHAIR)
    assert audit_rows(f"meeting:{board}")[-1]["role"] == "ordförande@styrelse"
