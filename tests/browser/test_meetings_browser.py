"""The member's meetings in a real browser, at a desktop's width and a phone's: axe finds no
WCAG 2.1 A/AA violation on `/moten`, on the May board meeting's page with its papers,
or on the March meeting's with its protokoll, and on a phone nothing is wider than
the screen.

The site is the web app served by uvicorn in a thread of this process, on a database
of its own (`meeting_story.spring`): the pages are this module's routes, registered
before the app is made, and the board member is signed in by a session started
through the service (the sign-in by mail has browser tests of its own).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from browser_site import WAIT, violations, wait_until
from helpers import ALE_FILE, MEMBER, SOS_FILE, make_app
from meeting_story import PDF, Spring, spring
from smtp_sink import free_port

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 720}


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    """The web on `app` (with the meeting pages) at a free port of loopback, until the end."""
    # start-up: the web loads only when a browser is there to use it
    import uvicorn

    import web.meeting_routes  # noqa: F401  (its routes register on import)
    from web.server import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(app), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, "uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(WAIT)


@pytest.fixture
def spring_site(
    browser_present: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Any, Spring]]:
    from workflow.core.clock import FixedClock

    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    monkeypatch.delenv("FINSAM_BASE_URL", raising=False)
    clock = FixedClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    app = make_app(f"sqlite:///{tmp_path / 'finsam.db'}", clock, SOS_FILE, ALE_FILE)
    story = spring(app, clock, tmp_path)
    try:
        with _serving(app) as url:
            yield url, app, story
    finally:
        app.engine.dispose()


def _axe(page: Any) -> str:
    """axe at a desktop's width, then a phone's, where nothing may be wider than the screen."""
    page.set_viewport_size(DESKTOP)
    wide = violations(page)
    page.set_viewport_size(PHONE)
    narrow = violations(page)
    overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
    found = [f"{w}:\n{r}" for w, r in (("desktop", wide), ("phone", narrow)) if r]
    return "".join(found) + ("phone: wider than the screen\n" if overflow else "")


def test_the_meeting_pages_pass_axe_on_a_desktop_and_a_phone(
    browser: Any, spring_site: tuple[str, Any, Spring]
) -> None:
    from workflow.identity import sessions

    url, app, story = spring_site
    ctx = browser.new_context(base_url=url, locale="sv-SE", viewport=PHONE)
    ctx.set_default_timeout(WAIT * 1000)
    try:
        secret = sessions.start(app, MEMBER).secret
        ctx.add_cookies([{"name": "finsam_session", "value": secret, "url": url}])
        page = ctx.new_page()
        found: dict[str, str] = {}

        page.goto("/moten")
        page.get_by_role("heading", level=1, name="Mina möten").wait_for()
        found["/moten"] = _axe(page)
        may = page.get_by_role("article", name="tisdag 11 maj 2027 – Styrelsen")
        may.get_by_role("link", name="tisdag 11 maj 2027 – Styrelsen").click()
        page.wait_for_url(f"{url}/moten/{story.meetings['styrelse-2027-05']}")
        papers = page.get_by_role("region", name="Handlingar")
        report = papers.get_by_role("link", name="Tertialrapport 1 2027: Mariamottagningen")
        served = ctx.request.get(report.get_attribute("href"))
        assert served.status == 200 and served.body() == PDF
        found["the May board meeting"] = _axe(page)

        page.goto(f"/moten/{story.meetings['styrelse-2027-03']}")
        protokoll = page.get_by_role("region", name="Protokoll")
        assert "Protokollet är justerat." in protokoll.inner_text()
        found["the March board meeting's protokoll"] = _axe(page)
    finally:
        ctx.close()
    assert not any(found.values()), "\n".join(f"{k}:\n{v}" for k, v in found.items() if v)
