"""Sessions: rows shared by every process, idle and absolute expiry by the app's clock,
sign out here or everywhere, CSRF on every form, and the cookie's flags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CHAIR, CHEF, dump
from webtools import client_for, csrf_of, sign_in

from web.server import create_app
from workflow.core.exceptions import ConfigError


def _sessions(app: Any) -> list[str]:
    with app.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT email FROM web_session ORDER BY id"))]


def test_a_session_made_by_one_app_works_on_another(web_app: Any) -> None:
    """Two `finsam web` processes on one database: the session is a row, not memory."""
    one = client_for(create_app(web_app))
    sign_in(one, web_app)
    other = client_for(create_app(web_app))
    other.cookies.set("finsam_session", one.cookies["finsam_session"])
    assert other.get("/").status_code == 200


def test_the_session_ends_after_8_idle_hours(sqlite_web_app: Any, clock: Any) -> None:
    client = client_for(create_app(sqlite_web_app))
    sign_in(client, sqlite_web_app)
    clock.advance(timedelta(hours=7, minutes=59))
    assert client.get("/").status_code == 200  # seen: the idle time starts again
    clock.advance(timedelta(hours=7, minutes=59))
    assert client.get("/").status_code == 200
    clock.advance(timedelta(hours=8))
    answer = client.get("/")
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"


def test_the_session_ends_after_7_days_however_busy(sqlite_web_app: Any, clock: Any) -> None:
    client = client_for(create_app(sqlite_web_app))
    sign_in(client, sqlite_web_app)
    for _ in range(7 * 24 // 6 - 1):
        clock.advance(timedelta(hours=6))
        assert client.get("/").status_code == 200
    clock.advance(timedelta(hours=6))  # 7 days since sign-in
    assert client.get("/").status_code == 303


def test_session_lengths_come_from_the_environment(
    sqlite_web_app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_SESSION_IDLE_HOURS", "1")
    client = client_for(create_app(sqlite_web_app))
    sign_in(client, sqlite_web_app)
    clock.advance(timedelta(minutes=59))
    assert client.get("/").status_code == 200
    clock.advance(timedelta(hours=1))
    assert client.get("/").status_code == 303


@pytest.mark.parametrize(
    ("name", "value"),
    [("FINSAM_SESSION_IDLE_HOURS", "0"), ("FINSAM_SESSION_MAX_DAYS", "a week")],
)
def test_a_bad_session_setting_is_named(
    sqlite_web_app: Any, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        create_app(sqlite_web_app)


def test_sign_out_ends_this_session_only(sqlite_web_app: Any) -> None:
    api = create_app(sqlite_web_app)
    here, there = client_for(api), client_for(api)
    sign_in(here, sqlite_web_app)
    sign_in(there, sqlite_web_app)
    cookie = here.cookies["finsam_session"]
    home = here.get("/")
    out = here.post("/signout", data={"csrf": csrf_of(home.text, "/signout")})
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert "finsam_session" not in here.cookies
    assert here.get("/").status_code == 303
    replay = client_for(api)
    replay.cookies.set("finsam_session", cookie)
    assert replay.get("/").status_code == 303  # the old cookie is worth nothing
    assert there.get("/").status_code == 200
    assert _sessions(sqlite_web_app) == [CHEF]


def test_sign_out_everywhere_ends_all_of_the_persons_sessions(sqlite_web_app: Any) -> None:
    api = create_app(sqlite_web_app)
    laptop, phone, chair = client_for(api), client_for(api), client_for(api)
    sign_in(laptop, sqlite_web_app)
    sign_in(phone, sqlite_web_app)
    sign_in(chair, sqlite_web_app, CHAIR)
    home = phone.get("/")
    out = phone.post(
        "/signout/everywhere", data={"csrf": csrf_of(home.text, "/signout/everywhere")}
    )
    assert out.status_code == 303
    assert laptop.get("/").status_code == 303 and phone.get("/").status_code == 303
    assert chair.get("/").status_code == 200
    assert _sessions(sqlite_web_app) == [CHAIR]


@pytest.mark.parametrize("path", ["/signout", "/signout/everywhere"])
def test_a_post_without_the_sessions_csrf_token_changes_nothing(
    sqlite_web_app: Any, path: str
) -> None:
    api = create_app(sqlite_web_app)
    client, chair = client_for(api), client_for(api)
    sign_in(client, sqlite_web_app)
    sign_in(chair, sqlite_web_app, CHAIR)
    others = csrf_of(chair.get("/").text, "/signout")  # a real token, of another session
    before = dump(sqlite_web_app.url)
    for data in ({}, {"csrf": ""}, {"csrf": "x" * 43}, {"csrf": others}):
        refused = client.post(path, data=data)
        assert refused.status_code == 403, data
        assert "Ingenting ändrades" in refused.text
    assert dump(sqlite_web_app.url) == before
    assert client.get("/").status_code == 200


def test_the_cookie_is_httponly_lax_and_secure_on_https(
    sqlite_web_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = client_for(create_app(sqlite_web_app))
    cookie = sign_in(plain, sqlite_web_app).headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie
    monkeypatch.setenv("FINSAM_BASE_URL", "https://finsam.example.se")
    from fastapi.testclient import TestClient

    tls = TestClient(
        create_app(sqlite_web_app), base_url="https://testserver", follow_redirects=False
    )
    cookie = sign_in(tls, sqlite_web_app).headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie
