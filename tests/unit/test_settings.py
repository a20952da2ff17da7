"""How every command finds the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.core.settings import database_location, normalise_url


def test_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "finsam.toml").write_text('[database]\nurl = "sqlite:///x.db"\n')
    monkeypatch.setenv("FINSAM_DATABASE_URL", "postgresql://u@h/db")
    loc = database_location(tmp_path)
    assert loc.url == "postgresql+psycopg://u@h/db" and loc.source == "FINSAM_DATABASE_URL"


def test_project_file_in_a_parent_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINSAM_DATABASE_URL", raising=False)
    (tmp_path / "finsam.toml").write_text('[database]\nurl = "sqlite:///demo-out/finsam.db"\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    loc = database_location(sub)
    assert loc.url == f"sqlite:///{tmp_path.resolve() / 'demo-out' / 'finsam.db'}"
    assert loc.source.endswith("finsam.toml")


def test_default_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINSAM_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    loc = database_location(tmp_path)
    assert loc.url == f"sqlite:///{tmp_path / 'data' / 'finsam' / 'finsam.db'}"


def test_absolute_sqlite_urls_stay() -> None:
    assert normalise_url("sqlite:////var/lib/finsam.db") == "sqlite:////var/lib/finsam.db"
