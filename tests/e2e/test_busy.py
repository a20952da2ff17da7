"""A busy SQLite database: `finsam` waits for the write lock until its deadline.

Another connection (plain sqlite3 in the test process) holds the write lock
with BEGIN IMMEDIATE while real `finsam` processes try to write. Past the
deadline (FINSAM_BUSY_SECONDS) a command gives up with exit 3, one sentence and
nothing changed; when the lock is let go in time it goes ahead.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import CHEF, LEADER, run_cli
from writers import BUSY, FINSAM, environment, sqlite_dump

NOW = "2027-01-10T09:00"  # the year_db fixture's instant


@pytest.fixture
def db(year_db: str, tmp_path: Path) -> Path:
    """year_db (Sydöstra Skåne, its 2027 cycle, Mariamottagningen and its reports)
    with a draft plan for 2028 (plan 1) that has content, ready to submit."""
    (tmp_path / "plan.md").write_text("# Verksamhetsplan 2028\n\nText.\n")
    run_cli("plan", "new", "--year", "2028", "--file", str(tmp_path / "plan.md"), "--as", CHEF)
    return Path(year_db.removeprefix("sqlite:///"))


@pytest.fixture
def lock(db: Path) -> Iterator[sqlite3.Connection]:
    """A second connection to the file holding its write lock (BEGIN IMMEDIATE)."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


def env_for(db: Path, tmp_path: Path, busy: str | None) -> dict[str, str]:
    extra = {"FINSAM_NOW": NOW, "FINSAM_DATA_DIR": str(tmp_path / "files")}
    if busy is not None:
        extra["FINSAM_BUSY_SECONDS"] = busy
    return environment(f"sqlite:///{db}", **extra)


def first_pending_report() -> str:
    page = json.loads(run_cli("reports", "status", "--year", "2027", "--json").stdout)
    return str(next(r["id"] for r in reversed(page["obligations"]) if r["state"] == "pending"))


def commands(tmp_path: Path) -> dict[str, list[str]]:
    """The two writes the tests try: a plan move and a report submission."""
    doc = tmp_path / "T1.pdf"
    doc.write_bytes(b"rapport")
    return {
        "plan move": ["plan", "move", "1", "submit", "--as", CHEF],
        "reports submit": [
            "reports",
            "submit",
            first_pending_report(),
            "--file",
            str(doc),
            "--as",
            LEADER,
        ],
    }


def finsam(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FINSAM, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def plan_state() -> str:
    return json.loads(run_cli("plan", "show", "1", "--json").stdout)["state"]


def report_state(report_id: str) -> str:
    page = json.loads(run_cli("reports", "status", "--year", "2027", "--json").stdout)
    return next(r["state"] for r in page["obligations"] if str(r["id"]) == report_id)


@pytest.mark.parametrize("kind", ["plan move", "reports submit"])
def test_held_past_the_deadline_exits_3_and_changes_nothing(
    kind: str, db: Path, tmp_path: Path, lock: sqlite3.Connection
) -> None:
    """The lock is held for the whole life of the command, longer than its 1 s
    deadline: the command exits 3 with exactly the busy sentence on stderr (no
    traceback, nothing on stdout), and the database and the report store are as
    they were."""
    args = commands(tmp_path)[kind]
    before = sqlite_dump(db)
    started = time.monotonic()
    result = finsam(args, env_for(db, tmp_path, "1"))
    print(
        f"\n{kind} with the lock held throughout: exit {result.returncode} after "
        f"{time.monotonic() - started:.2f} s (deadline 1 s, plus start-up)"
    )
    lock.execute("ROLLBACK")
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert result.stderr == f"error: {BUSY}\n"
    assert result.stdout == ""
    assert sqlite_dump(db) == before
    assert not (tmp_path / "files").exists()


def opened(pid: int, db: Path) -> bool:
    """Whether process `pid` has the database file open (its start-up is over)."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.path.realpath(fd) == str(db.resolve()) for fd in fds.iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.parametrize("kind", ["plan move", "reports submit"])
def test_held_shorter_than_the_deadline_the_command_waits_and_succeeds(
    kind: str, db: Path, tmp_path: Path, lock: sqlite3.Connection
) -> None:
    """The lock is held while the command starts and opens the database, and let go
    (by a timer) about a second later, well within the command's 30 s deadline:
    the command, still running when the lock went, exits 0 and its change is there."""
    args = commands(tmp_path)[kind]
    proc = subprocess.Popen(
        [FINSAM, *args],
        env=env_for(db, tmp_path, "30"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = time.monotonic()
    still_running = []
    released: list[float] = []

    def release() -> None:
        still_running.append(proc.poll() is None)
        lock.execute("ROLLBACK")
        released.append(time.monotonic())

    timer = threading.Timer(1.0, release)
    try:
        # wait (without a time limit of our own) until the command reached the database
        while not opened(proc.pid, db) and proc.poll() is None:
            time.sleep(0.02)
        timer.start()
        out, err = proc.communicate(timeout=120)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
    timer.join()
    ended = time.monotonic()
    assert still_running == [True]
    print(
        f"\n{kind}: lock let go {released[0] - started:.2f} s after the start, "
        f"the command ended {ended - released[0]:.2f} s later with exit {proc.returncode}"
    )
    assert proc.returncode == 0, (out, err)
    assert "Traceback" not in err
    if kind == "plan move":
        assert plan_state() == "presidium"
    else:
        assert report_state(args[2]) == "submitted"
        assert any((tmp_path / "files").rglob("*"))


@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan", "7200"])
def test_a_bad_busy_deadline_exits_2_naming_the_variable(
    value: str, db: Path, tmp_path: Path
) -> None:
    """FINSAM_BUSY_SECONDS that is not a number of seconds in (0, 3600] is refused
    with exit 2, a message naming the variable and a hint, and changes nothing."""
    before = sqlite_dump(db)
    result = finsam(commands(tmp_path)["plan move"], env_for(db, tmp_path, value))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith(f"error: FINSAM_BUSY_SECONDS={value!r} ")
    assert "\nhint: " in result.stderr and "Traceback" not in result.stderr
    assert sqlite_dump(db) == before
