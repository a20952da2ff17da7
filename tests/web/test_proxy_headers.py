"""Behind a reverse proxy: `finsam web` believes X-Forwarded-For from the proxies it is
told of (127.0.0.1 and ::1 by default), so the per-client limit on sign-in requests
counts each real client; from any other peer the header is ignored, so a client
cannot dodge the limit by writing the header itself."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from helpers import SOS_FILE, dump, make_app, run_cli
from live_server import serving
from webtools import csrf_of

from workflow.core.clock import FixedClock, parse_instant
from workflow.identity.signin import PER_CLIENT

NOW = "2027-03-01T09:00"


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'finsam.db'}"
    make_app(url, FixedClock(parse_instant(NOW)), SOS_FILE).engine.dispose()
    return url


def _ask(browser: httpx.Client, csrf: str, forwarded_for: str) -> int:
    answer = browser.post(
        "/signin",
        data={"email": "someone@example.org", "csrf": csrf},
        headers={"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"},
    )
    return answer.status_code


def _browser(url: str) -> tuple[httpx.Client, str]:
    browser = httpx.Client(base_url=url, follow_redirects=False, timeout=10)
    return browser, csrf_of(browser.get("/signin").text, "/signin")


def test_behind_a_local_proxy_each_client_has_its_own_limit(database: str, tmp_path: Path) -> None:
    env = {"FINSAM_DATABASE_URL": database, "FINSAM_NOW": NOW}
    with serving(env, tmp_path / "web.log") as url:
        browser, csrf = _browser(url)
        # the proxy appends the client it saw to what the client sent: the last is believed
        asked = [_ask(browser, csrf, f"198.51.100.9, 203.0.113.{i}") for i in range(PER_CLIENT)]
        assert asked == [200] * PER_CLIENT  # no client asked more than once
        for _ in range(PER_CLIENT):
            assert _ask(browser, csrf, "203.0.113.250") == 200
        assert _ask(browser, csrf, "203.0.113.250") == 429  # that client, over its limit
        assert _ask(browser, csrf, "203.0.113.251") == 200  # the next is not held up
        browser.close()


def test_from_a_peer_not_named_the_header_counts_for_nothing(database: str, tmp_path: Path) -> None:
    env = {
        "FINSAM_DATABASE_URL": database,
        "FINSAM_NOW": NOW,
        "FINSAM_FORWARDED_ALLOW_IPS": "192.0.2.10",  # the proxy is elsewhere; we are not it
    }
    with serving(env, tmp_path / "web.log") as url:
        browser, csrf = _browser(url)
        asked = [_ask(browser, csrf, f"203.0.113.{i}") for i in range(PER_CLIENT + 1)]
        assert asked == [200] * PER_CLIENT + [429]  # all of them were 127.0.0.1
        browser.close()


@pytest.mark.parametrize("value", ["proxy.example", "10.0.0.0/33", " , "])
def test_a_wrong_proxy_list_stops_the_start(
    database: str, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("FINSAM_DATABASE_URL", database)
    before = dump(database)
    refused = run_cli("web", "--forwarded-allow-ips", value, code=2)
    assert refused.stderr.startswith("error: --forwarded-allow-ips")
    assert dump(database) == before


def test_the_proxy_list_comes_from_the_environment_too(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_DATABASE_URL", database)
    monkeypatch.setenv("FINSAM_FORWARDED_ALLOW_IPS", "not-an-address")
    assert "'not-an-address'" in run_cli("web", code=2).stderr
