"""Signing in with an OpenID Connect provider, against a real one on loopback.

`LocalProvider` is a minimal provider started by the test on a free port: a
discovery document, its keys (JWKS), an authorize endpoint that approves the
configured test user at once and redirects back with a code, and a token endpoint
that checks the client's secret and the PKCE verifier and answers with an RS256
id_token. Its clock is the app's, so expiry is checked by time the test moves. The
browser is a TestClient whose redirects the test follows by hand, the hop to the
provider over real HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from helpers import CHEF, dump, run_cli
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from smtp_sink import free_port
from webtools import client_for

from web.server import create_app
from workflow.core.exceptions import ConfigError
from workflow.core.settings import oidc
from workflow.identity import oidc as identity_oidc

CLIENT_ID, SECRET = "finsam-test", "s3cret/with+odd:chars"
NOBODY = "nobody@example.org"


class LocalProvider:
    """An OpenID Connect provider in a thread; `user` is who its authorize endpoint
    approves; the flags below make it misbehave in the ways a test needs."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.signing_key = self.key  # another key here forges the id_token
        self.user: dict[str, Any] = {"email": CHEF, "email_verified": True}
        self.deny = False  # the person cancels at the provider
        self.token_down = False  # the token endpoint fails
        self.nonce: str | None = None  # an id_token for another sign-in's nonce
        self.minted_ago = timedelta(0)  # an id_token issued (and expiring) this much earlier
        self.codes: dict[str, dict[str, str]] = {}
        self.authorize_queries: list[dict[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """Where the browser goes next: back to finsam, with a code or an error."""
        self.authorize_queries.append(query)
        back = query["redirect_uri"]
        if self.deny:
            return f"{back}?{urlencode({'error': 'access_denied', 'state': query['state']})}"
        code = secrets.token_urlsafe(16)
        self.codes[code] = query
        return f"{back}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        if self.token_down:
            return 503, {"error": "temporarily_unavailable"}
        asked = self.codes.pop(form.get("code", ""), None)
        if not self._same_client(authorization.removeprefix("Basic ").encode()):
            return 401, {"error": "invalid_client"}
        if asked is None or form.get("redirect_uri") != asked["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if challenge.decode() != asked["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        now = int((self.clock.now() - self.minted_ago).timestamp())
        claims = {
            "iss": self.issuer,
            "sub": "user-1",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": self.nonce or asked["nonce"],
            **self.user,
        }
        header = {"alg": "RS256", "kid": "k1"}
        id_token = jwt.encode(header, claims, self.signing_key)
        return 200, {"access_token": "a", "token_type": "Bearer", "id_token": id_token}

    @staticmethod
    def _same_client(given: bytes) -> bool:
        """Basic credentials form-encoded as RFC 6749 2.3.1 asks."""
        from urllib.parse import unquote

        try:
            user, _, password = base64.b64decode(given).decode().partition(":")
        except ValueError:
            return False
        return unquote(user) == CLIENT_ID and unquote(password) == SECRET

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/.well-known/openid-configuration":
                    self._json(200, provider.discovery())
                elif parts.path == "/jwks":
                    self._json(200, KeySet([provider.key]).as_dict(private=False))
                elif parts.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                    self.send_response(302)
                    self.send_header("Location", provider.authorize(query))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                self._json(*provider.token(form, self.headers.get("Authorization", "")))

        return Handler


@pytest.fixture
def provider(clock: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalProvider]:
    with LocalProvider(clock) as running:
        monkeypatch.setenv("FINSAM_OIDC_ISSUER", running.issuer)
        monkeypatch.setenv("FINSAM_OIDC_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("FINSAM_OIDC_CLIENT_SECRET", SECRET)
        monkeypatch.setenv("FINSAM_OIDC_NAME", "BankID")
        yield running
    identity_oidc.forget()


def leave_for_provider(client: Any) -> str:
    """The browser at /signin/oidc and then at the provider: where it is sent back to."""
    start = client.get("/signin/oidc")
    assert start.status_code == 303, start.text
    at_provider = httpx.get(start.headers["location"], follow_redirects=False, timeout=10)
    assert at_provider.status_code == 302
    return str(at_provider.headers["location"])


def come_back(client: Any, url: str) -> Any:
    """The browser following the provider's redirect to finsam's callback."""
    parts = urlsplit(url)
    assert parts.path == "/signin/oidc/callback", url
    return client.get(f"{parts.path}?{parts.query}")


def sign_in_by_oidc(client: Any) -> Any:
    return come_back(client, leave_for_provider(client))


def no_session(client: Any) -> bool:
    return bool(client.get("/").status_code == 303)


def test_a_verified_email_of_the_forbundschef_signs_in(
    web_app: Any, provider: LocalProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    client = client_for(create_app(web_app))
    form = client.get("/signin")
    assert 'href="/signin/oidc"' in form.text and "Logga in med BankID" in form.text
    done = sign_in_by_oidc(client)
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert "finsam_session" in done.cookies
    home = client.get("/")
    assert home.status_code == 200 and "Annika Rasmusson" in home.text
    (asked,) = provider.authorize_queries
    assert asked["scope"] == "openid email profile" and asked["client_id"] == CLIENT_ID
    assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["state"]
    assert asked["redirect_uri"] == "http://127.0.0.1:8000/signin/oidc/callback"
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "{" in line]
    assert {
        "event": "signin",
        "channel": "web",
        "method": "oidc",
        "person": CHEF,
    }.items() <= logged[-1].items()


def test_the_same_answer_again_signs_nobody_in(
    sqlite_web_app: Any, provider: LocalProvider
) -> None:
    client = client_for(create_app(sqlite_web_app))
    back = leave_for_provider(client)
    assert come_back(client, back).status_code == 303
    other = client_for(create_app(sqlite_web_app))
    replay = come_back(other, back)  # another browser: it never began this sign-in
    assert replay.status_code == 400 and "hörde inte till den här webbläsaren" in replay.text
    assert no_session(other)


def test_an_unverified_email_signs_nobody_in(sqlite_web_app: Any, provider: LocalProvider) -> None:
    provider.user = {"email": CHEF, "email_verified": False}
    client = client_for(create_app(sqlite_web_app))
    before = dump(sqlite_web_app.url)
    refused = sign_in_by_oidc(client)
    assert refused.status_code == 403 and "ingen bekräftad e-postadress" in refused.text
    assert "finsam_session" not in refused.cookies
    assert dump(sqlite_web_app.url) == before
    assert no_session(client)


def test_a_person_in_no_forbund_is_told_so(sqlite_web_app: Any, provider: LocalProvider) -> None:
    provider.user = {"email": NOBODY, "email_verified": True}
    client = client_for(create_app(sqlite_web_app))
    refused = sign_in_by_oidc(client)
    assert refused.status_code == 403
    assert "Vi hittar ingen med den e-postadressen i något förbund" in refused.text
    assert no_session(client)


def test_a_wrong_state_is_refused(sqlite_web_app: Any, provider: LocalProvider) -> None:
    client = client_for(create_app(sqlite_web_app))
    back = leave_for_provider(client)
    query = parse_qs(urlsplit(back).query)
    forged = f"/signin/oidc/callback?{urlencode({'code': query['code'][0], 'state': 'x' * 43})}"
    refused = client.get(forged)
    assert refused.status_code == 400 and "Börja om" in refused.text
    assert no_session(client)


def test_an_id_token_with_another_nonce_is_refused(
    sqlite_web_app: Any, provider: LocalProvider
) -> None:
    provider.nonce = secrets.token_urlsafe(32)
    client = client_for(create_app(sqlite_web_app))
    refused = sign_in_by_oidc(client)
    assert refused.status_code == 400 and "hörde inte till den här inloggningen" in refused.text
    assert no_session(client)


def test_an_id_token_signed_by_another_key_is_refused(
    sqlite_web_app: Any, provider: LocalProvider
) -> None:
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
    client = client_for(create_app(sqlite_web_app))
    refused = sign_in_by_oidc(client)
    assert refused.status_code == 502 and "kunde inte kontrolleras" in refused.text
    assert no_session(client)


def test_an_expired_id_token_is_refused(sqlite_web_app: Any, provider: LocalProvider) -> None:
    provider.minted_ago = timedelta(minutes=6, seconds=1)  # valid 5 minutes, 1 of leeway
    client = client_for(create_app(sqlite_web_app))
    refused = sign_in_by_oidc(client)
    assert refused.status_code == 502 and "kunde inte kontrolleras" in refused.text
    assert no_session(client)


def test_a_sign_in_left_waiting_over_10_minutes_is_refused(
    sqlite_web_app: Any, provider: LocalProvider, clock: Any
) -> None:
    client = client_for(create_app(sqlite_web_app))
    back = leave_for_provider(client)
    clock.advance(timedelta(minutes=10, seconds=1))
    refused = come_back(client, back)
    assert refused.status_code == 400 and "mer än 10 minuter" in refused.text
    assert no_session(client)


def test_a_cancelled_sign_in_and_a_provider_that_fails_are_pages(
    sqlite_web_app: Any, provider: LocalProvider
) -> None:
    api = create_app(sqlite_web_app)
    provider.deny = True
    cancelled = sign_in_by_oidc(client_for(api))
    assert cancelled.status_code == 400 and "Inloggningen avbröts hos BankID" in cancelled.text
    provider.deny, provider.token_down = False, True
    failed = sign_in_by_oidc(client_for(api))
    assert failed.status_code == 502 and "BankID svarar inte som väntat" in failed.text
    assert "Traceback" not in failed.text


def test_an_unreachable_provider_is_a_page(
    sqlite_web_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_OIDC_ISSUER", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("FINSAM_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("FINSAM_OIDC_CLIENT_SECRET", SECRET)
    answer = client_for(create_app(sqlite_web_app)).get("/signin/oidc")
    assert answer.status_code == 502 and "e-legitimation svarar inte" in answer.text


def test_without_a_provider_the_routes_do_not_exist_and_there_is_no_button(
    sqlite_web_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "NAME"):
        monkeypatch.delenv(f"FINSAM_OIDC_{name}", raising=False)
    client = client_for(create_app(sqlite_web_app))
    assert client.get("/signin/oidc").status_code == 404
    assert client.get("/signin/oidc/callback?code=a&state=b").status_code == 404
    assert "/signin/oidc" not in client.get("/signin").text


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"ISSUER": "https://idp.example", "CLIENT_ID": "a"}, "FINSAM_OIDC_CLIENT_SECRET"),
        ({"CLIENT_SECRET": "b"}, "FINSAM_OIDC_ISSUER and FINSAM_OIDC_CLIENT_ID"),
        ({"NAME": "BankID"}, "FINSAM_OIDC_NAME"),
        ({"ISSUER": "http://idp.example", "CLIENT_ID": "a", "CLIENT_SECRET": "b"}, "ISSUER"),
        ({"ISSUER": "https://idp.example", "CLIENT_ID": "a b", "CLIENT_SECRET": "c"}, "CLIENT_ID"),
    ],
)
def test_a_partial_or_bad_configuration_is_named(
    monkeypatch: pytest.MonkeyPatch, given: dict[str, str], named: str
) -> None:
    for name in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "NAME"):
        monkeypatch.delenv(f"FINSAM_OIDC_{name}", raising=False)
    for name, value in given.items():
        monkeypatch.setenv(f"FINSAM_OIDC_{name}", value)
    with pytest.raises(ConfigError, match=named):
        oidc()


def test_finsam_web_refuses_a_partial_configuration_before_serving(
    sqlite_web_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_DATABASE_URL", sqlite_web_app.url)
    monkeypatch.setenv("FINSAM_OIDC_ISSUER", "https://idp.example")
    monkeypatch.setenv("FINSAM_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.delenv("FINSAM_OIDC_CLIENT_SECRET", raising=False)
    result = run_cli("web", "--port", str(free_port()), code=2)
    assert "FINSAM_OIDC_CLIENT_SECRET" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "cookie",
    [None, "", "a.b.c.1", "x" * 43 + "." * 3, ".".join(["x" * 43] * 3) + ".-1", "é" * 200],
)
def test_a_kept_sign_in_that_is_not_ours_is_nothing(cookie: str | None) -> None:
    assert identity_oidc.Pending.decode(cookie) is None


def test_a_kept_sign_in_reads_back_as_written() -> None:
    kept = identity_oidc.Pending("s" * 43, "n" * 43, "v" * 64, 1_790_000_000)
    assert identity_oidc.Pending.decode(kept.encode()) == kept
