"""The database, its WAL and the report files hold personal data: readable by their
owner only, whatever the umask."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from helpers import LEADER, run_cli


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_wal_and_report_files_are_the_owners_only(year_db: str, tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which leaves new files world-readable
    try:
        db = Path(year_db.removeprefix("sqlite:///"))
        files = tmp_path / "finsam-files"
        report = tmp_path / "rapport.pdf"
        report.write_bytes(b"%PDF-1.4\n%report\n")
        due = json.loads(run_cli("reports", "status", "--year", "2027", "--json").stdout)
        first = due["obligations"][-1]["id"]  # the earliest due: the page is the latest first
        run_cli("reports", "submit", str(first), "--file", str(report), "--as", LEADER)
    finally:
        os.umask(old)
    assert _mode(db) == 0o600
    for side in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        if side.exists():
            assert _mode(side) == 0o600, side
    stored = [p for p in files.rglob("*") if p.is_file()]
    assert len(stored) == 1 and _mode(stored[0]) == 0o600
    assert all(_mode(d) == 0o700 for d in [files, *(p for p in files.rglob("*") if p.is_dir())])
