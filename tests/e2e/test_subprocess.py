"""finsam as a real program: the console script, the demo, and two processes racing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
    # 10 rows for the plan, 11 obligations created, 5 report steps, the förbund's
    # registration, the cycle and its 18 meetings, 3 insatser, the minutes and 2 justeringar
    assert "audit chain intact: 52 rows" in result.stdout
    assert "revision 2 opened" in result.stdout
    # the scheduler's year, month by month, ends with the board's decision notices
    assert "november 2027" in result.stdout and "7 protokollsutdrag" in result.stdout
    assert not (old / "mail" / "0001-left-over.eml").exists()
    listed = run("plan", "list", "--json", env=environment(), cwd=tmp_path / "examples").stdout
    assert '"state": "adopted"' in listed
    assert (old / "finsam.db").read_bytes().startswith(b"SQLite format 3")


def test_shell_completion_completes_commands() -> None:
    env = environment(_FINSAM_COMPLETE="complete_bash", COMP_WORDS="finsam pl", COMP_CWORD="1")
    result = subprocess.run([FINSAM], env=env, capture_output=True, text=True, timeout=60)
    assert "plan" in result.stdout.split()
