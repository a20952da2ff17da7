"""`reports submit --figures FILE.toml --set key=value`: figures from a file and the command
line, `--set` winning; refusals exit 2 naming the figure and change nothing; `reports status`
and `insats show` show what was stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CHEF, LEADER, dump, run_cli

FIGURES = """\
participants_women = 12
participants_men = 9
participants_new = 4
ended_work_or_studies = 3
sus_up_to_date = true
costs_tkr = 512.5
goal_fulfilment = \"\"\"
Målen nås.\"\"\"
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    doc = tmp_path / "T1.txt"
    doc.write_text("Tertialrapport 1\n")
    figures = tmp_path / "t1.toml"
    figures.write_text(FIGURES, encoding="utf-8")
    return doc, figures


def _tertial_1() -> int:
    page = json.loads(run_cli("reports", "status", "--year", "2027", "--json").stdout)
    return next(r["id"] for r in page["obligations"] if r["kind"] == "tertial-1")


def _submit(report: int, doc: Path, *extra: str, code: int = 0) -> dict:
    out = run_cli(
        "reports", "submit", str(report), "--file", str(doc), *extra, "--as", LEADER, "--json",
        code=code,
    )  # fmt: skip
    return json.loads(out.stdout) if code == 0 else {"stderr": out.stderr}


def test_figures_from_a_file_with_set_winning_are_shown_everywhere(
    year_db: str, files: tuple[Path, Path]
) -> None:
    doc, figures = files
    t1 = _tertial_1()
    data = _submit(
        t1, doc, "--figures", str(figures), "--set", "participants_men=10",
        "--set", "sus_up_to_date=nej", "--set", "costs_tkr=600,5",
    )  # fmt: skip
    expected = {
        "participants_women": 12,
        "participants_men": 10,
        "participants_new": 4,
        "ended_work_or_studies": 3,
        "sus_up_to_date": False,
        "costs_tkr": 600.5,
        "goal_fulfilment": "Målen nås.",
    }
    assert (data["state"], data["figures"]) == ("submitted", expected)
    page = json.loads(run_cli("reports", "status", "--year", "2027", "--json").stdout)
    assert next(r for r in page["obligations"] if r["id"] == t1)["figures"] == expected
    shown = json.loads(run_cli("insats", "show", str(data["insats"]), "--json").stdout)
    assert next(o for o in shown["obligations"] if o["id"] == t1)["figures"] == expected
    trail = json.loads(run_cli("audit", "log", "--subject", f"obligation:{t1}", "--json").stdout)
    assert "figures: participants_women=12, participants_men=10," in trail["rows"][0]["comment"]
    run_cli("reports", "return", str(t1), "--comment", "Mer", "--as", CHEF)
    again = run_cli(
        "reports", "submit", str(t1), "--file", str(doc), "--set", "participants_women=13",
        "--figures", str(figures), "--as", LEADER,
    )  # fmt: skip
    assert "; 7 figures" in again.stdout


def _refusals(tmp_path: Path, figures: Path) -> list[tuple[list[str], str]]:
    nested = tmp_path / "nested.toml"
    nested.write_text("participants_women = [1, 2]\n")
    broken = tmp_path / "broken.toml"
    broken.write_text("participants_women = \n")
    return [
        (
            ["--figures", str(figures), "--set", "participants_women=tolv"],
            "participants_women (Deltagare under perioden, kvinnor): 'tolv' is not a whole "
            "number; give a whole number from 0 to 1000000000",
        ),
        (
            ["--figures", str(figures), "--set", "antal=3"],
            "'antal': Tertialrapport 1 (tertial-1) has no such figure; it asks for "
            "participants_women, participants_men,",
        ),
        (
            ["--set", "participants_women=12"],
            "participants_men (Deltagare under perioden, män): missing; Tertialrapport 1",
        ),
        (["--set", "participants_women"], "--set 'participants_women' is not key=value"),
        (["--figures", str(nested)], "nested.toml: participants_women is an array"),
        (["--figures", str(broken)], "broken.toml: not valid TOML"),
        (["--figures", str(tmp_path)], "is a directory"),
    ]


def test_refusals_name_the_figure_and_change_nothing(
    year_db: str, files: tuple[Path, Path], tmp_path: Path
) -> None:
    doc, figures = files
    t1 = _tertial_1()
    before = dump(year_db)
    for extra, message in _refusals(tmp_path, figures):
        err = _submit(t1, doc, *extra, code=2)["stderr"]
        assert message in err, (extra, err)
        assert "Traceback" not in err
    assert dump(year_db) == before
