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


@pytest.fixture
def db(year_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    return year_db


def test_status_json_csv_and_the_workflow(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = json.loads(finsam("reports", "status", "--year", "2027", "--json").stdout)
    assert [(r["kind"], r["state"]) for r in rows] == [
        ("arsberattelse", "pending"),
        ("tertial-1", "pending"),
        ("tertial-2", "pending"),
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
        for r in json.loads(finsam("reports", "status", "--year", "2027", "--json").stdout)
    }
    assert states[int(t1)] == "returned"
    late = json.loads(finsam("reports", "status", "--year", "2027", "--late", "--json").stdout)
    assert [(r["kind"], r["days_late"]) for r in late] == [("arsberattelse", 59), ("tertial-1", 3)]
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
        (["insats", "end", "1", "--date", "2010-01-01"], "is before the insats started"),
    ]
    for args, message in cases:
        assert message in finsam(*args, code=2).stderr
    assert dump(db) == before
