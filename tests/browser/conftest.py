"""Fixtures for the browser tests: `finsam web` as a real program, Chromium driving it.

One database for the whole run (Sydöstra Skåne, its 2027 cycle, the 2028 plan in
draft) and one `finsam web` subprocess on it, its clock pinned with FINSAM_NOW (a
standing clock: a sign-in link stays valid however long the run takes). Sign-in
mail goes where it goes in production: the web queues it in the outbox,
`finsam outbox send` (a subprocess) delivers it to a real SMTP server on loopback,
and the test reads the link from the message that server received.

The browser is Debian's Chromium (`/usr/bin/chromium`) driven by Playwright; no
browser is ever downloaded. Without Chromium or Playwright these tests skip,
saying why, unless FINSAM_REQUIRE_BROWSER is set (CI), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from browser_site import WAIT, Server, Site, sign_in
from helpers import CHEF, DEMO_PLAN, SOS_FILE, make_app, store_plan_file
from smtp_sink import Sink, free_port

CHROMIUM = Path(os.environ.get("FINSAM_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NOW = "2027-08-20T09:00"  # the plan for 2028 is in draft; the September meetings ahead


def _no_browser(reason: str) -> None:
    if os.environ.get("FINSAM_REQUIRE_BROWSER"):
        pytest.fail(f"the browser tests are required here (FINSAM_REQUIRE_BROWSER) but {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def browser_present() -> None:
    """Skip (or, with FINSAM_REQUIRE_BROWSER=1, fail) when Playwright or Chromium is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _no_browser("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.is_file():
        _no_browser(f"{CHROMIUM} is missing (apt-get install chromium)")


# Playwright's sync API keeps an event loop running in this thread while it is open, and
# the in-process CLI tests that share a worker call asyncio.run(): so it lives for one
# module of browser tests at a time, never for the whole session.
@pytest.fixture(scope="module")
def playwright(browser_present: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, with nothing that reaches outside the machine."""
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
    yield chromium
    chromium.close()


def _database(path: Path) -> tuple[str, int]:
    """Sydöstra Skåne, its 2027 meetings, and the 2028 plan drafted from the demo's file."""
    # start-up: finsam loads only when a browser is there to use the site
    from workflow.core.clock import FixedClock, parse_instant
    from workflow.cycle import meetings

    url = f"sqlite:///{path}"
    clock = FixedClock(datetime.fromisoformat("2027-01-11T09:00+01:00"))
    app = make_app(url, clock, SOS_FILE)
    try:
        meetings.generate(app, None, 2027, actor_email=CHEF)
        clock.set(parse_instant(NOW))
        return url, store_plan_file(app, DEMO_PLAN)
    finally:
        app.engine.dispose()


@contextmanager
def _running_site(folder: Path, **settings: str) -> Iterator[Site]:
    """A database built in `folder`, a real SMTP server, and `finsam web` serving both
    (with `settings`, more FINSAM_ variables, in its environment)."""
    database_url, plan_id = _database(folder / "finsam.db")
    with Sink() as sink:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FINSAM_")}
        env.update(
            FINSAM_DATABASE_URL=database_url,
            FINSAM_BASE_URL=url,
            FINSAM_MAIL_URL=sink.url,
            FINSAM_NOW=NOW,
            FINSAM_DATA_DIR=str(folder / "files"),
            **settings,
        )
        log = folder / "web.log"
        server = Server(env, port, log)
        try:
            server.start()
            yield Site(url, database_url, sink, env, plan_id, log, server)
        finally:
            server.stop()


@pytest.fixture(scope="session")
def site(browser_present: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """`finsam web` on a free port of loopback, serving the database built here; its
    clock stands still for the whole run (never moved: many modules share it)."""
    with _running_site(tmp_path_factory.mktemp("site")) as shared:
        yield replace(shared, server=None)  # so `move_clock` refuses here


@pytest.fixture
def own_site(browser_present: None, tmp_path: Path) -> Iterator[Site]:
    """A site of the test's own (its database, mail and `finsam web`), whose clock the
    test may move with `Site.move_clock`: the plan in draft, August 2027.

    Its sessions last a month (the longest idle time FINSAM_SESSION_IDLE_HOURS allows),
    so people signed in in August are still signed in at September's meetings: on
    SQLite a sign-in link asked for after the last link's purge is never mailed (see
    `test_plan_path_browser.py::test_a_person_signs_in_again_weeks_later`)."""
    with _running_site(
        tmp_path, FINSAM_SESSION_IDLE_HOURS=str(24 * 31), FINSAM_SESSION_MAX_DAYS="60"
    ) as mine:
        yield mine


@pytest.fixture
def context(browser: Any, site: Site) -> Iterator[Any]:
    """A fresh browser profile (no cookies) for one test, at the site's address."""
    ctx = browser.new_context(base_url=site.url, locale="sv-SE")
    ctx.set_default_timeout(WAIT * 1000)
    yield ctx
    ctx.close()


@pytest.fixture
def browsers(browser: Any) -> Iterator[list[Any]]:
    """Browser profiles a test opens (each test file's own helper adds them), all closed
    at its end."""
    opened: list[Any] = []
    yield opened
    for ctx in opened:
        ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture(scope="session")
def _signed_in_states() -> dict[str, Any]:
    """Each person's cookies after their one sign-in, kept across the browser modules."""
    return {}


@pytest.fixture(scope="module")
def signed_in(browser: Any, site: Site, _signed_in_states: dict[str, Any]) -> Callable[[str], Any]:
    """A new browser profile already signed in as `email` (the sign-in done once per
    person through the browser and the mail, its cookies then reused)."""
    states = _signed_in_states

    def profile(email: str) -> Any:
        if email not in states:
            first = browser.new_context(base_url=site.url)
            sign_in(first.new_page(), site, email)
            states[email] = first.storage_state()
            first.close()
        ctx = browser.new_context(base_url=site.url, storage_state=states[email])
        ctx.set_default_timeout(WAIT * 1000)
        return ctx

    return profile
