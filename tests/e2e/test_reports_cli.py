"""`finsam insats ...` and `finsam reports ...` through the CLI."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import dump, run_cli

finsam = run_cli
CHEF = "annika.rasmusson@sydostraskane.example"
LEADER = "sofia.ek@skane.example"
MEMBER = "eva.lind@simrishamn.example"


@pytest.fixture
def db(year_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    return year_db


def test_status_json_csv_and_the_workflow(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = json.loads(finsam("reports", "status", "--year", "2027", "--json").stdout)
    assert page["next"] is None
    rows = page["obligations"]
    assert [(r["kind"], r["state"]) for r in rows] == [  # the latest due first
        ("tertial-2", "pending"),
        ("tertial-1", "pending"),
        ("arsberattelse", "pending"),
    ]
    t1 = str(rows[1]["id"])
    doc = tmp_path / "T1.pdf"
    doc.write_bytes(b"rapport")
    monkeypatch.setenv("FINSAM_NOW", "2027-04-22T09:00")
    out = finsam("reports", "submit", t1, "--file", str(doc), "--as", LEADER).stdout
    assert "submitted: T1.pdf, 7 bytes" in out
    finsam("reports", "return", t1, "--as", CHEF, "--comment", "Komplettera med SUS-data")
    states = {
        r["id"]: r["state"]
        for r in json.loads(finsam("reports", "status", "--year", "2027", "--json").stdout)[
            "obligations"
        ]
    }
    assert states[int(t1)] == "returned"
    late = json.loads(finsam("reports", "status", "--year", "2027", "--late", "--json").stdout)
    assert [(r["kind"], r["days_late"]) for r in late["obligations"]] == [
        ("tertial-1", 3),
        ("arsberattelse", 59),
    ]
    raw = subprocess.run(
        [
            str(Path(sys.executable).with_name("finsam")),
            "reports",
            "status",
            "--year",
            "2027",
            "--csv",
        ],
        capture_output=True,
        check=True,
    ).stdout
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == [
        "id",
        "insats",
        "rapport",
        "period",
        "senast",
        "tillstånd",
        "inlämnad",
        "dagar sen",
    ]
    assert table[2][5] == "åter för komplettering"
    show = json.loads(finsam("insats", "show", "1", "--json").stdout)
    assert show["budget"] == {"2027": 3000} and len(show["obligations"]) == 3


def test_bad_input(db: str, tmp_path: Path) -> None:
    before = dump(db)
    cases = [
        (["reports", "approve", "2", "--as", CHEF], "cannot approve: it was never submitted"),
        (
            ["reports", "submit", "77", "--file", "x.pdf", "--as", LEADER],
            "error: x.pdf: no such file",
        ),
        (["reports", "approve", "77", "--as", CHEF], "error: unknown report obligation 77"),
        (["insats", "show", "9"], "error: unknown insats 9"),
        (["insats", "add", "--name", "X"], "error: an insats needs --name, --owner and --start"),
        (
            ["insats", "add", "--name", "X", "--owner", "ystad", "--start", "2027-13-01"],
            "error: --start '2027-13-01' is not a real date",
        ),
        (
            [
                "insats",
                "add",
                "--name",
                "X",
                "--owner",
                "ystad",
                "--start",
                "2027-01-01",
                "--budget",
                "2027:100",
            ],
            "error: --budget '2027:100' is not YEAR=TKR",
        ),
        (
            ["insats", "end", "1", "--date", "2010-01-01", "--as", CHEF],
            "is before the insats started",
        ),
    ]
    for args, message in cases:
        assert message in finsam(*args, code=2).stderr
    assert dump(db) == before


def test_changes_to_insatser_name_the_person_and_refusals_change_nothing(db: str) -> None:
    before = dump(db)
    add = ["insats", "add", "--name", "Ny", "--owner", "ystad", "--start", "2027-03-01"]
    cases = [
        (add, "error: who is acting? nobody was named"),
        (
            [*add, "--as", MEMBER],
            "error: only the förbundschef may add, edit and end insatser (insats add|edit|end); "
            "Eva Lind may not",
        ),
        (
            [*add, "--leader-name", "Lea\r\nBcc: x@y", "--as", CHEF],
            "error: --leader-name contains a control character, a carriage return (CR)",
        ),
        (
            [*add, "--leader-email", "lea@x.example\nBcc: y@z.example", "--as", CHEF],
            "error: --leader-email contains a control character, a line break (LF)",
        ),
        (["insats", "edit", "1", "--name", "Y"], "error: who is acting?"),
        (["insats", "edit", "1", "--as", CHEF], "error: nothing to change"),
        (
            ["insats", "edit", "1", "--contact-name", "Per\x1b[2J", "--as", CHEF],
            "error: --contact-name contains a control character, ESC",
        ),
        (
            ["insats", "edit", "1", "--end", "2027-02-30", "--as", CHEF],
            "error: --end '2027-02-30' is not a real date",
        ),
        (
            ["insats", "edit", "1", "--start", "2028-01-01", "--end", "2027-12-31", "--as", CHEF],
            "error: the insats ends (2027-12-31) before it starts (2028-01-01)",
        ),
        (
            ["insats", "edit", "1", "--budget", "2027", "--as", CHEF],
            "error: --budget '2027' is not YEAR=TKR",
        ),
        (
            ["insats", "edit", "1180591620717411303424", "--name", "Y", "--as", CHEF],
            "1180591620717411303424",  # out of range, or unknown: exit 2 either way
        ),
        (["insats", "end", "1", "--date", "2027-06-30"], "error: who is acting?"),
        (
            ["insats", "end", "1", "--date", "2027-06-30", "--as", LEADER],
            "error: no person with e-mail 'sofia.ek@skane.example'",
        ),
        (["reports", "generate", "--year", "2027"], "error: who is acting?"),
        (
            ["reports", "generate", "--year", "99999", "--as", CHEF],
            "error: --year 99999 is out of range",
        ),
        (
            ["reports", "return", "2", "--comment", "Saknas\x00", "--as", CHEF],
            "error: --comment contains a control character, NUL",
        ),
    ]
    for args, message in cases:
        assert message in finsam(*args, code=2).stderr, args
    assert dump(db) == before


def test_edit_fixes_a_mistyped_address_and_the_trail_says_so(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_USER", CHEF)
    fixed = json.loads(
        finsam(
            "insats", "edit", "1", "--leader-email", "sofia.eklund@skane.example", "--json"
        ).stdout
    )
    shown = json.loads(finsam("insats", "show", "1", "--json").stdout)
    assert fixed["leader_email"] == "sofia.eklund@skane.example"
    assert {k: v for k, v in fixed.items() if k != "changed"} == shown
    out = finsam("insats", "edit", "1", "--end", "2027-06-30", "--budget", "2027=", "--no-sus")
    assert out.stdout.splitlines()[:4] == [
        "Insats 1 changed: Mariamottagningen",
        "  end: (none) → 2027-06-30",
        "  budget 2027: 3000 tkr → (none)",
        "  SUS: yes → no",
    ]
    assert "  report 3 (Tertialrapport 2 2027): no longer owed" in out.stdout
    assert "slutrapport" in [
        o["kind"] for o in json.loads(finsam("insats", "show", "1", "--json").stdout)["obligations"]
    ]
    page = json.loads(finsam("audit", "log", "--subject", "insats:1", "--json").stdout)
    trail = page["rows"][::-1]  # oldest first
    assert [(r["action"], r["actor"], r["role"]) for r in trail] == [
        ("add", CHEF, "förbundschef"),
        *[("edit", CHEF, "förbundschef")] * 4,
    ]
    assert trail[1]["comment"] == (
        "leader e-mail: sofia.ek@skane.example → sofia.eklund@skane.example"
    )
    dropped = json.loads(finsam("audit", "log", "--subject", "obligation:3", "--json").stdout)
    assert [(r["action"], r["actor"]) for r in dropped["rows"]] == [
        ("cancel", CHEF),
        ("create", CHEF),
    ]
