"""finsam as a real program: the console script, the demo, and two processes racing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from helpers import CHEF, EXAMPLES, ROOT, SOS_FILE

FINSAM = str(Path(sys.executable).with_name("finsam"))


def run(
    *args: str, env: dict[str, str], code: int = 0, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [FINSAM, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    return result


def environment(url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINSAM_")}
    if url:
        env["FINSAM_DATABASE_URL"] = url
    env.update(extra)
    return env


def test_help_lists_the_commands() -> None:
    out = run("--help", env=environment()).stdout
    for name in ("init", "plan", "audit", "workflow", "db"):
        assert name in out


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_plan_moves_and_conflict_exit_code(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'f.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    env = environment(url, FINSAM_USER=CHEF, FINSAM_NOW="2026-11-24T15:00")
    run("init", "--forbund", str(SOS_FILE), env=env)
    (tmp_path / "p.md").write_text("# Plan\n")
    run("plan", "new", "--year", "2027", "--file", str(tmp_path / "p.md"), env=env)
    run("plan", "move", "1", "submit", "--if-version", "1", env=env)
    stale = run(
        "plan", "move", "1", "revise", "--comment", "x", "--if-version", "1", env=env, code=3
    )
    assert "you acted on version 1, it is now version 2" in stale.stderr
    run("audit", "verify", env=env)


def test_two_processes_race_for_one_plan(tmp_path: Path) -> None:
    env = environment(f"sqlite:///{tmp_path / 'f.db'}", FINSAM_USER=CHEF)
    run("init", "--forbund", str(SOS_FILE), env=env)
    run("plan", "new", "--year", "2027", "--title", "T", env=env)
    procs = [
        subprocess.Popen(
            [FINSAM, "plan", "edit", "1", "--title", f"Titel {i}", "--if-version", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    codes = sorted(p.wait(timeout=120) for p in procs)
    assert codes == [0, 3]
    run("audit", "verify", env=env)


def test_demo_runs_from_a_copy_over_a_previous_runs_leftovers(tmp_path: Path) -> None:
    """`make demo` on a fresh tree: the same script, in a copy so the real demo-out is left.

    The demo runs once here (it is the suite's slowest test). Running it again must
    start afresh, so demo-out is seeded with what a previous run leaves and would
    break this one if kept: a database (here not even a database), the scheduler's
    last tick at the end of the year, and a mail already received.
    """
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    shutil.copy(ROOT / "finsam.toml", tmp_path / "finsam.toml")
    old = tmp_path / "demo-out"
    (old / "mail").mkdir(parents=True)
    (old / "finsam.db").write_text("left by a previous run\n")
    (old / "last-tick").write_text("2027-12-31T07:00:00+00:00\n")
    (old / "mail" / "0001-left-over.eml").write_text("Subject: left over\n\nx\n")
    result = subprocess.run(
        ["bash", str(tmp_path / "examples" / "demo.sh")],
        env=environment(FINSAM=FINSAM),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # 10 rows for the plan, 11 obligations created, 10 report steps, the förbund's
    # registration, the cycle and its 18 meetings, 3 insatser, the minutes recorded twice,
    # a change asked for between, and 2 justeringar
    assert "audit chain intact: 59 rows" in result.stdout
    # the November minutes went through the browser's pages: attendance as recorded, the
    # förbundschef's revised §, and both justeringar made after signing in by mailed link
    assert "Greta Öhman (ersättare, tjänstgör för Johan Ek)" in result.stdout
    assert "Eva Lind (ledamot, på distans)" in result.stdout
    assert "och ansökningarna om medel för 2028." in result.stdout
    assert "Protokollets innehåll är låst sedan justeringen" in result.stdout
    assert result.stdout.count("inloggad med personlig e-postlänk") == 2
    assert "revision 2 opened" in result.stdout
    # the scheduler's year, month by month, ends with the board's decision notices
    assert "november 2027" in result.stdout and "7 protokollsutdrag" in result.stdout
    assert not (old / "mail" / "0001-left-over.eml").exists()
    listed = run("plan", "list", "--json", env=environment(), cwd=tmp_path / "examples").stdout
    assert '"state": "adopted"' in listed
    assert (old / "finsam.db").read_bytes().startswith(b"SQLite format 3")
    for kind, sums in DEMO_SUMS.items():
        _demo_overview_adds_up(tmp_path, result.stdout, kind, sums)


# The sums of the figures the demo's project leaders hand in: tertial 1 counts
# Mariamottagningen and ESF IRIS (its returned report as corrected with --set) while
# Möjligheternas hus's report never arrives; tertial 2 counts all three insatser.
DEMO_SUMS: dict[str, dict[str, int | float]] = {
    "tertial-1": {
        "participants_women": 54,
        "participants_men": 43,
        "participants_other": 1,
        "participants_new": 28,
        "ended_work_or_studies": 10,
        "costs_tkr": 1395,
        "budget_tkr": 5000,
        "share_used": 31.0,
    },
    "tertial-2": {
        "participants_women": 82,
        "participants_men": 69,
        "participants_other": 1,
        "participants_new": 52,
        "ended_work_or_studies": 22,
        "costs_tkr": 3250,
        "budget_tkr": 5000,
        "share_used": 65.0,
    },
}
DEMO_MISSING = {"tertial-1": ["Möjligheternas hus"], "tertial-2": []}
# the sum row as the demo prints it: the same sums in Swedish (the yes-no column is empty)
DEMO_PRINTED = {
    "tertial-1": ["Summa", "54", "43", "1", "28", "10", "1 395", "5 000", "31,0"],
    "tertial-2": ["Summa", "82", "69", "1", "52", "22", "3 250", "5 000", "65,0"],
}


def _demo_overview_adds_up(
    root: Path, stdout: str, kind: str, sums: dict[str, int | float]
) -> None:
    """The overview the demo printed, the one its database gives and the XLSX it wrote
    carry the same sums; the XLSX opens and its sum row sits under its headers."""
    env = environment(FINSAM_NOW="2027-12-31T12:00")
    args = ("reports", "overview", "--year", "2027", "--kind", kind, "--json")
    view = json.loads(run(*args, env=env, cwd=root).stdout)
    assert view["sums"] == sums
    assert [m["insats_name"] for m in view["missing"]] == DEMO_MISSING[kind]

    printed = _summa_cells(stdout, f"Tertialrapport {kind[-1]} 2027")
    assert [c for c in printed if c] == DEMO_PRINTED[kind]

    name = f"tertialrapport-{kind[-1]}-2027.xlsx"
    assert f"Wrote demo-out/{name}" in stdout
    sheet = openpyxl.load_workbook(root / "demo-out" / name).active
    rows = list(sheet.iter_rows(values_only=True))
    total = dict(zip(rows[0], next(r for r in rows if r[0] == "Summa"), strict=True))
    labels = {c["key"]: c["label"] for c in view["columns"]}
    labels |= {"budget_tkr": "Budget 2027 (tkr)", "share_used": "Andel av budgeten använd (%)"}
    assert {k: total[labels[k]] for k in sums} == sums


def _summa_cells(stdout: str, title: str) -> list[str]:
    """The cells of the sum row of the table the demo printed under `title`."""
    table = stdout[stdout.index(f"\n{title}") :]
    line = next(x for x in table.splitlines() if x.startswith("│ Summa"))
    return [c.strip().replace("\u00a0", " ") for c in line.split("│")[1:-1]]


def test_shell_completion_completes_commands() -> None:
    env = environment(_FINSAM_COMPLETE="complete_bash", COMP_WORDS="finsam pl", COMP_CWORD="1")
    result = subprocess.run([FINSAM], env=env, capture_output=True, text=True, timeout=60)
    assert "plan" in result.stdout.split()
