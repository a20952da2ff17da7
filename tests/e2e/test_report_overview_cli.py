"""`finsam reports overview` through the CLI: the table, JSON, CSV and XLSX, and refusals."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from helpers import dump, run_cli

finsam = run_cli
LEADER = "sofia.ek@skane.example"
FIGURES = {"participants_women": 1200, "participants_men": 34, "costs_tkr": 750}


@pytest.fixture
def db(year_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Mariamottagningen's tertial 1 of 2027 handed in, with figures."""
    page = json.loads(finsam("reports", "status", "--year", "2027", "--json").stdout)
    t1 = next(r["id"] for r in page["obligations"] if r["kind"] == "tertial-1")
    doc = tmp_path / "T1.pdf"
    doc.write_bytes(b"rapport")
    monkeypatch.setenv("FINSAM_NOW", "2027-04-15T09:00")
    finsam("reports", "submit", str(t1), "--file", str(doc), "--as", LEADER)
    engine = sa.create_engine(year_db)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE obligation SET figures = :f WHERE id = :id"),
            {"f": json.dumps(FIGURES), "id": t1},
        )
    engine.dispose()
    return year_db


def test_table_json_csv_and_xlsx(db: str, tmp_path: Path) -> None:
    shown = finsam("reports", "overview", "--year", "2027", "--kind", "tertial-1").stdout
    assert "Tertialrapport 1 2027" in shown and "Summa" in shown
    assert "1\xa0200" in shown  # Swedish thousands separator
    assert "25,0" in shown  # 750 of 3000 tkr used
    assert "Alla rapporter är inlämnade." in shown
    data = json.loads(
        finsam("reports", "overview", "--year", "2027", "--kind", "tertial-1", "--json").stdout
    )
    assert set(data) >= {"year", "kind", "name", "columns", "rows", "sums", "missing"}
    assert data["columns"][0] == {
        "key": "participants_women",
        "label": "Deltagare under perioden, kvinnor",
        "type": "integer",
    }
    assert data["sums"]["participants_women"] == 1200 and data["rows"][0]["share_used"] == 25.0
    csv_path, xlsx_path = tmp_path / "t1.csv", tmp_path / "t1.xlsx"
    finsam("reports", "overview", "--year", "2027", "--kind", "tertial-1", "--csv", str(csv_path))
    table = list(csv.reader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert table[1][:3] == ["Mariamottagningen", "Region Skåne", "inlämnad"]
    assert table[1][3] == "1200"
    finsam("reports", "overview", "--year", "2027", "--kind", "tertial-1", "--xlsx", str(xlsx_path))
    ws = openpyxl.load_workbook(xlsx_path).active
    assert ws.title == "Tertialrapport 1"
    assert ws["A1"].value == "Insats" and ws["D1"].value == "Deltagare under perioden, kvinnor"
    assert ws["D2"].value == 1200 and ws["D3"].value == 1200  # the insats, then the sum


def test_missing_reports_are_listed(db: str) -> None:
    shown = finsam("reports", "overview", "--year", "2027", "--kind", "tertial-2").stdout
    assert "Rapporter som saknas:" in shown
    assert "Mariamottagningen (Region Skåne): väntar" in shown


def test_refusals_exit_2_and_change_nothing(db: str, tmp_path: Path) -> None:
    before = dump(db)
    bad_kind = finsam("reports", "overview", "--year", "2027", "--kind", "tertial-9", code=2)
    assert "unknown report kind 'tertial-9'" in bad_kind.stderr
    assert "arsberattelse, tertial-1, tertial-2, slutrapport" in bad_kind.stderr
    bad_year = finsam("reports", "overview", "--year", "99", "--kind", "tertial-1", code=2)
    assert "--year 99 is out of range" in bad_year.stderr
    both = finsam(
        *("reports", "overview", "--year", "2027", "--kind", "tertial-1"),
        *("--csv", str(tmp_path / "a.csv"), "--xlsx", str(tmp_path / "a.xlsx")),
        code=2,
    )
    assert "--csv and --xlsx cannot be given together" in both.stderr
    nowhere = tmp_path / "no-such-folder" / "a.xlsx"
    finsam(
        "reports",
        "overview",
        "--year",
        "2027",
        "--kind",
        "tertial-1",
        "--xlsx",
        str(nowhere),
        code=2,
    )
    assert not list(tmp_path.glob("a.*"))
    assert dump(db) == before
