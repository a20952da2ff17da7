"""The report store against the rows, on SQLite and PostgreSQL: what `db check` finds,
what `--repair` settles, and what it never touches."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import owe_reports

from workflow.reports import files
from workflow.reports import obligations as reports


@pytest.fixture
def owed(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Two ended insatser owing their final reports: (obligation id, its leader)."""
    from workflow.core.models import Insats, Obligation

    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    owe_reports(app, 2, "2027-06-01", year=2026)
    with app.engine.connect() as conn:
        return [
            (oid, email)
            for oid, email in conn.execute(
                sa.select(Obligation.id, Insats.leader_email)
                .join(Insats, Insats.id == Obligation.insats_id)
                .order_by(Obligation.id)
            )
        ]


def test_a_resubmission_keeps_the_earlier_file_named_by_the_trail(
    app: Any, owed: list[tuple[int, str]], tmp_path: Path
) -> None:
    """A returned report submitted again names a new file; the first stays, since the
    audit trail's submit row names it, and neither is an orphan."""
    (report, leader), chef = owed[0], "annika.rasmusson@sydostraskane.example"
    first, second = tmp_path / "v1.txt", tmp_path / "v2.txt"
    first.write_text("Första versionen\n")
    second.write_text("Andra versionen\n")
    reports.submit(app, report, first, leader)
    reports.decide(app, report, "return", chef, "Komplettera")
    reports.submit(app, report, second, leader)
    found = files.check(app, repair=True)
    assert found["clean"] and found["repaired"] == []
    assert (found["stored_files"], found["referenced"]) == (2, 2)
    store = tmp_path / "files"
    for doc in (first, second):
        sha = hashlib.sha256(doc.read_bytes()).hexdigest()
        assert files.stored_path(store, sha).read_bytes() == doc.read_bytes()


def test_repair_leaves_a_live_submission_and_named_files_alone(
    app: Any, owed: list[tuple[int, str]], tmp_path: Path
) -> None:
    report, leader = owed[0]
    doc = tmp_path / "r.txt"
    doc.write_text("Rapport\n")
    kept = Path(reports.submit(app, report, doc, leader)["stored_at"])
    store = tmp_path / "files"
    live = store / files.STAGING / "live.part"
    live.write_bytes(b"being received")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as the process receiving it holds it
        stray = store / "notes.txt"
        stray.write_text("a copy by hand")
        found = files.check(app, repair=True)
        assert found["repaired"] == ["removed notes.txt (no row names it)"]
        assert found["in_progress"] == [".staging/live.part"] and found["clean"]
        assert live.exists() and kept.exists() and not stray.exists()
    finally:
        os.close(fd)
    kept.write_text("changed by hand\n")
    altered = files.check(app, repair=True)
    assert [d["problem"] for d in altered["dangling"]] == ["altered"]
    assert kept.exists() and not altered["clean"]
    assert altered["repaired"] == [  # its writer gone, it is settled like any other
        "removed .staging/live.part (no row names it: its submission never committed)"
    ]
