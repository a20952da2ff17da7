"""Fixtures for the web's tests: two förbund in a real database, a client per visitor.

Each visitor is its own TestClient (its own cookie jar), on one FastAPI app built
by `create_app` on an App whose clock stands still (`FixedClock`) until a test
moves it. Sign-in links are read from the outbox row the request queued (or, in
the end-to-end test, from the mail a real SMTP server received); the helpers for
that are in `webtools`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ALE_FILE, CHEF, SOS_FILE, make_app


@pytest.fixture
def web_app(app_url: str, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The finsam App with Sydöstra Skåne and Ale-Kungälv (SQLite and PostgreSQL)."""
    monkeypatch.delenv("FINSAM_BASE_URL", raising=False)
    monkeypatch.delenv("FINSAM_SESSION_IDLE_HOURS", raising=False)
    monkeypatch.delenv("FINSAM_SESSION_MAX_DAYS", raising=False)
    application = make_app(app_url, clock, SOS_FILE, ALE_FILE)
    yield application
    application.engine.dispose()


@pytest.fixture
def sqlite_web_app(tmp_path: Path, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The same on SQLite only, for tests whose point is not the database."""
    monkeypatch.delenv("FINSAM_BASE_URL", raising=False)
    monkeypatch.delenv("FINSAM_SESSION_IDLE_HOURS", raising=False)
    monkeypatch.delenv("FINSAM_SESSION_MAX_DAYS", raising=False)
    application = make_app(f"sqlite:///{tmp_path / 'finsam.db'}", clock, SOS_FILE, ALE_FILE)
    yield application
    application.engine.dispose()


@pytest.fixture
def year(web_app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sydöstra Skåne with its 2027 meetings (and Ale-Kungälv), late August 2027."""
    # start-up: the services the pages show, loaded with the fixture that uses them
    from helpers import advance_to

    from workflow.cycle import meetings

    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    advance_to(clock, "2027-01-10T09:00")
    meetings.generate(web_app, "sydostra-skane", 2027, actor_email=CHEF)
    advance_to(clock, "2027-08-20T09:00")
    return web_app
