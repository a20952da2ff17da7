"""Fixtures for the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CHEF, SOS_FILE, run_cli

LEADER = "sofia.ek@skane.example"


@pytest.fixture
def year_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite database with Sydöstra Skåne, its 2027 cycle, one insats and its reports."""
    url = f"sqlite:///{tmp_path / 'finsam.db'}"
    monkeypatch.setenv("FINSAM_DATABASE_URL", url)
    monkeypatch.setenv("FINSAM_NOW", "2027-01-10T09:00")
    run_cli("init", "--forbund", str(SOS_FILE))
    run_cli("cycle", "generate", "--year", "2027", "--as", CHEF)
    run_cli(
        "insats",
        "add",
        "--name",
        "Mariamottagningen",
        "--owner",
        "region-skane",
        "--start",
        "2019-05-01",
        "--leader-name",
        "Sofia Ek",
        "--leader-email",
        LEADER,
        "--budget",
        "2027=3000",
        "--sus",
        "--as",
        CHEF,
    )
    run_cli("reports", "generate", "--year", "2027", "--as", CHEF)
    return url
