"""The pages: security headers on every response, refusals with the CLI's words and a
fitting status, no traceback on a page, tenancy (another förbund's plan is 404), the
health check, routes that need a permission, FINSAM_BASE_URL and `finsam web` itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.responses import PlainTextResponse
from helpers import CHAIR, CHEF, run_cli
from markupsafe import escape
from smtp_sink import free_port
from webtools import ALE_CHAIR, client_for, sign_in

from web.responses import CSP
from web.routes import TABLE, Route
from web.server import create_app
from workflow.core.db import SCHEMA_HEAD
from workflow.core.exceptions import (
    Busy,
    ConfigError,
    ConflictError,
    NotAllowed,
    NotFound,
    UsageError,
)
from workflow.core.settings import DEFAULT_BASE_URL, base_url
from workflow.plans import services as plans
from workflow.plans.content import Content

ALE_CHEF = "per.liljeback@sofakst.example"


def _plan(app: Any, key: str, who: str) -> int:
    return plans.create(
        app,
        forbund_key=key,
        year=2027,
        last_year=None,
        title=None,
        actor_email=who,
        content=Content("# Plan\n\nText.", "markdown"),
    )["id"]


def _headers_ok(response: Any) -> None:
    h = response.headers
    assert h["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-frame-options"] == "DENY"


def test_security_headers_on_every_answer(sqlite_web_app: Any) -> None:
    client = client_for(create_app(sqlite_web_app))
    anonymous = [client.get(p) for p in ("/healthz", "/signin", "/", "/nowhere", "/signin/x")]
    anonymous.append(client.post("/signout"))
    anonymous.append(client.get("/static/finsam.css"))
    sign_in(client, sqlite_web_app)
    pages = [client.get(p) for p in ("/", "/plans/999", "/signin")]
    for response in anonymous + pages:
        _headers_ok(response)
    for response in pages:
        assert response.headers["cache-control"] == "no-store"
        assert '<html lang="sv">' in response.text and "<main" in response.text
        assert 'name="viewport"' in response.text and "<script" not in response.text
        assert " style=" not in response.text


def test_the_home_page_lists_my_forbund_and_their_plans_only(sqlite_web_app: Any) -> None:
    sos, ale = (
        _plan(sqlite_web_app, "sydostra-skane", CHEF),
        _plan(sqlite_web_app, "ale-kungalv", ALE_CHEF),
    )
    api = create_app(sqlite_web_app)
    chair, other = client_for(api), client_for(api)
    sign_in(chair, sqlite_web_app, CHAIR)
    sign_in(other, sqlite_web_app, ALE_CHAIR)
    mine = chair.get("/").text
    assert "Mina förbund" in mine and "Samordningsförbundet Sydöstra Skåne" in mine
    assert f'href="/plans/{sos}"' in mine and f'href="/plans/{ale}"' not in mine
    assert "Utkast" in mine or "draft" in mine.lower()
    theirs = other.get("/").text
    assert f'href="/plans/{ale}"' in theirs and f'href="/plans/{sos}"' not in theirs


def test_another_forbunds_plan_is_404_with_the_clis_words(sqlite_web_app: Any) -> None:
    sos, ale = (
        _plan(sqlite_web_app, "sydostra-skane", CHEF),
        _plan(sqlite_web_app, "ale-kungalv", ALE_CHEF),
    )
    api = create_app(sqlite_web_app)
    chair, other = client_for(api), client_for(api)
    sign_in(chair, sqlite_web_app, CHAIR)
    sign_in(other, sqlite_web_app, ALE_CHAIR)
    page = chair.get(f"/plans/{sos}")
    assert page.status_code == 200 and "Vad som kan göras nu" in page.text
    foreign, missing = chair.get(f"/plans/{ale}"), chair.get("/plans/4242")
    assert foreign.status_code == missing.status_code == 404
    assert f"unknown plan {ale}" in foreign.text and "unknown plan 4242" in missing.text
    assert "plans in this database" not in foreign.text  # the CLI's hint lists them all
    assert other.get(f"/plans/{sos}").status_code == 404
    assert other.get(f"/plans/{ale}").status_code == 200
    assert chair.get("/plans/99999999999999999999999").status_code == 404


def _raiser(exc: Exception) -> Any:
    def endpoint() -> None:
        raise exc

    return endpoint


REFUSALS = [
    (UsageError("the year 1800 is out of range", "give 1900 to 2199"), 400),
    (NotAllowed("only the förbundschef may submit; Karin Holm may not"), 403),
    (NotFound("unknown meeting 'x'"), 404),
    (ConflictError("plan 3 changed meanwhile: version 4, not 3"), 409),
    (Busy(), 503),
]


@pytest.mark.parametrize(("exc", "status"), REFUSALS)
def test_a_refusal_is_a_page_with_the_clis_words(
    sqlite_web_app: Any, exc: Any, status: int
) -> None:
    table = [Route("GET", "/boom", "anyone", _raiser(exc))]
    answer = client_for(create_app(sqlite_web_app, table)).get("/boom")
    assert answer.status_code == status
    assert str(escape(exc.message)) in answer.text
    if exc.hint:
        assert str(escape(exc.hint)) in answer.text
    _headers_ok(answer)


def test_a_bug_is_a_plain_500_page_and_its_traceback_goes_to_stderr(
    sqlite_web_app: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    table = [Route("GET", "/bug", "anyone", _raiser(KeyError("secret-detail")))]
    answer = client_for(create_app(sqlite_web_app, table)).get("/bug")
    assert answer.status_code == 500
    assert "Något gick fel hos finsam" in answer.text
    assert "secret-detail" not in answer.text and "Traceback" not in answer.text
    _headers_ok(answer)
    err = capfd.readouterr().err
    assert "Traceback" in err and "secret-detail" in err


def test_an_unknown_address_is_a_swedish_404_page(sqlite_web_app: Any) -> None:
    answer = client_for(create_app(sqlite_web_app)).get("/no/such/page")
    assert answer.status_code == 404 and "Sidan finns inte" in answer.text


def test_a_route_may_need_a_permission_of_the_forbund_file(sqlite_web_app: Any) -> None:
    """`needs="mail"` ([permissions] mail: the förbundschef by default) in a förbund of
    the path: the chief may, the chair may not (403), another förbund's person gets 404."""

    def retry_page() -> PlainTextResponse:
        return PlainTextResponse("ok")

    table = [Route("GET", "/forbund/{forbund}/outbox", "mail", retry_page)]
    api = create_app(sqlite_web_app, table + [r for r in TABLE])
    chef, chair, other, nobody = (client_for(api) for _ in range(4))
    sign_in(chef, sqlite_web_app, CHEF)
    sign_in(chair, sqlite_web_app, CHAIR)
    sign_in(other, sqlite_web_app, ALE_CHAIR)
    url = "/forbund/sydostra-skane/outbox"
    assert chef.get(url).status_code == 200
    assert chair.get(url).status_code == 403
    assert other.get(url).status_code == 404
    assert nobody.get(url).status_code == 303


def test_healthz_names_the_schema(sqlite_web_app: Any) -> None:
    answer = client_for(create_app(sqlite_web_app)).get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"ok": True, "schema": SCHEMA_HEAD}


def test_healthz_is_503_when_the_database_is_not_usable(sqlite_web_app: Any) -> None:
    client = client_for(create_app(sqlite_web_app))
    sqlite_web_app.engine.dispose()
    path = Path(sqlite_web_app.url.removeprefix("sqlite:///"))
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    path.write_bytes(b"this is no database" * 100)
    answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.json()["ok"] is False
    assert answer.json()["error"]


@pytest.mark.parametrize(
    "value",
    [
        "ftp://x.example",
        "finsam.example",
        "https://x.example/?a=1",
        "https://u:p@x.example",
        "https://x.example:99999",
        "http://",
    ],
)
def test_a_bad_base_url_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FINSAM_BASE_URL", value)
    with pytest.raises(ConfigError, match="FINSAM_BASE_URL"):
        base_url()


def test_the_base_url_default_and_a_good_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINSAM_BASE_URL", raising=False)
    assert base_url() == DEFAULT_BASE_URL == "http://127.0.0.1:8000"
    monkeypatch.setenv("FINSAM_BASE_URL", "https://finsam.example.se/sos/")
    assert base_url() == "https://finsam.example.se/sos"


def test_finsam_web_refuses_a_bad_base_url_before_serving(
    sqlite_web_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_DATABASE_URL", sqlite_web_app.url)
    monkeypatch.setenv("FINSAM_BASE_URL", "not a url")
    result = run_cli("web", "--port", str(free_port()), code=2)
    assert "FINSAM_BASE_URL" in result.stderr


def test_finsam_web_serves_until_interrupted(sqlite_web_app: Any) -> None:
    """The real command: uvicorn on a free port answers /healthz and stops on Ctrl-C."""
    port = free_port()
    env = {**os.environ, "FINSAM_DATABASE_URL": sqlite_web_app.url}
    finsam = Path(sys.executable).parent / "finsam"
    server = subprocess.Popen(
        [str(finsam), "web", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        answer = None
        deadline = time.monotonic() + 30  # the process starting, not a timing assertion
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None, server.stderr.read() if server.poll() is not None else ""
        assert answer.status_code == 200 and answer.json()["schema"] == SCHEMA_HEAD
        _headers_ok(answer)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
