"""Two `finsam web` processes on one PostgreSQL, as behind a proxy that spreads the
requests: a session made on one is a session on the other, and ended on one it is
ended on both (sessions and sign-in links are rows, not memory)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import CHEF, SOS_FILE, make_app
from live_server import serving, wait_for
from webtools import csrf_of, outbox_rows, token_in

from workflow.core.clock import FixedClock, parse_instant

NOW = "2027-03-01T09:00"


@pytest.fixture
def two(pg_url: str, tmp_path: Path) -> Iterator[tuple[Any, str, str]]:
    """The database (as an App, to read the outbox) and the two processes' URLs."""
    app = make_app(pg_url, FixedClock(parse_instant(NOW)), SOS_FILE)
    env = {"FINSAM_DATABASE_URL": pg_url, "FINSAM_NOW": NOW}
    try:
        with ExitStack() as stack:
            a = stack.enter_context(serving(env, tmp_path / "a.log"))
            b = stack.enter_context(serving(env, tmp_path / "b.log"))
            yield app, a, b
    finally:
        app.engine.dispose()


def _sign_in_on(url: str, app: Any) -> httpx.Client:
    """The whole sign-in on one process: ask, read the link from the outbox, redeem."""
    browser = httpx.Client(base_url=url, follow_redirects=False, timeout=10)
    form = browser.get("/signin")
    asked = browser.post("/signin", data={"email": CHEF, "csrf": csrf_of(form.text, "/signin")})
    assert asked.status_code == 200
    # the link is queued after the answer, by that process
    rows = wait_for(lambda: outbox_rows(app), "the sign-in link to be queued")
    token = token_in(rows[-1].raw)
    confirm = browser.get(f"/signin/{token}")
    assert confirm.status_code == 200
    done = browser.post(f"/signin/{token}", data={"csrf": csrf_of(confirm.text)})
    assert (done.status_code, done.headers["location"]) == (303, "/")
    return browser


@pytest.mark.postgres
def test_a_session_made_on_one_process_works_on_the_other(two: tuple[Any, str, str]) -> None:
    app, a, b = two
    on_a = _sign_in_on(a, app)
    session = on_a.cookies["finsam_session"]
    on_b = httpx.Client(base_url=b, follow_redirects=False, timeout=10)
    on_b.cookies.set("finsam_session", session)
    desk = on_b.get("/")
    assert desk.status_code == 200 and "Annika Rasmusson" in desk.text
    assert on_a.get("/").status_code == 200

    out = on_b.post("/signout", data={"csrf": csrf_of(desk.text, "/signout")})
    assert (out.status_code, out.headers["location"]) == (303, "/signin")
    # ended on B, it is ended on A: the old cookie is nobody's there either
    back = on_a.get("/")
    assert (back.status_code, back.headers["location"]) == (303, "/signin")
    on_a.close()
    on_b.close()
