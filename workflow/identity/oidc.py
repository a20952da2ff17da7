"""Signing in with an OpenID Connect provider (how Swedish e-legitimation brokers
offer BankID and Freja eID): the authorization code flow with PKCE, and the person
matched by the e-mail the provider has verified.

`begin` makes what this sign-in must remember (`Pending`: state, nonce, the PKCE
verifier and when it began) and the provider's authorize address. The web keeps
`Pending` in a short-lived cookie of the browser that began, not in a row: it
binds the answer to that browser, and there is nothing to clean up. `sign_in`
takes the provider's answer back: the state must be the browser's and at most
PENDING_VALID old, the code is exchanged at the token endpoint (client secret,
verifier), the id_token is verified (signature by a key of the provider's JWKS,
issuer, audience, expiry by `app.clock`, nonce), and the `email` claim is taken
only when `email_verified` is true. A person of some förbund file then gets a
session as after an e-mail link. Every other ending is a `SigninFailed` naming
its `Failure`, which the web turns into a page.

The provider's discovery document and keys are fetched with TIMEOUT and kept for
the life of the process; the keys are fetched again once when a token names a
key not among them (the provider rotated its keys).
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from workflow.core.app import App
from workflow.core.exceptions import NotFound
from workflow.core.settings import OidcSettings
from workflow.identity import sessions
from workflow.identity.sessions import NewSession

SCOPES = "openid email profile"
TIMEOUT = httpx.Timeout(10.0)
PENDING_VALID = timedelta(minutes=10)
LEEWAY = timedelta(minutes=1)  # clocks of finsam and the provider may differ this much
# signatures by the provider's published keys only: never "none", never HS* (a shared secret)
ALGORITHMS = ("RS256", "PS256", "ES256")
_MAX_RESPONSE = 1_000_000  # a discovery document, a key set or a token answer
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,128}")


class Failure(StrEnum):
    DENIED = "denied"  # the provider answered error=... (the person cancelled, or it refused)
    STATE = "state"  # no sign-in of this browser is waiting, or it waited too long
    NONCE = "nonce"  # an id_token minted for another sign-in
    PROVIDER = "provider"  # unreachable, or an answer that is not OpenID Connect
    TOKEN = "token"  # an id_token that does not verify (key, issuer, audience, expiry)
    UNVERIFIED = "unverified"  # no e-mail claim, or one the provider has not verified
    NOBODY = "nobody"  # a verified address that no förbund file names


class SigninFailed(Exception):
    """A sign-in that ended without a session; `detail` is for the log only."""

    def __init__(self, failure: Failure, detail: str) -> None:
        super().__init__(f"{failure}: {detail}")
        self.failure, self.detail = failure, detail


@dataclass(frozen=True)
class Pending:
    """What the browser keeps between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str
    began: int  # seconds since the epoch, by the app's clock

    def encode(self) -> str:
        return f"{self.state}.{self.nonce}.{self.verifier}.{self.began}"

    @classmethod
    def decode(cls, text: str | None) -> Pending | None:
        parts = (text or "").split(".")
        if len(parts) != 4 or not all(_TOKEN.fullmatch(p) for p in parts[:3]):
            return None
        if not parts[3].isdigit() or len(parts[3]) > 12:
            return None
        return cls(parts[0], parts[1], parts[2], int(parts[3]))


@dataclass(frozen=True)
class Provider:
    """The parts of a provider's discovery document that finsam uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    post_secret: bool  # the token endpoint takes the secret in the form, not Basic auth


_lock = threading.Lock()
_providers: dict[str, Provider] = {}
_keys: dict[str, KeySet] = {}


def forget() -> None:
    """Forget the cached providers and keys (a test that starts another provider)."""
    with _lock:
        _providers.clear()
        _keys.clear()


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        answer = httpx.get(url, timeout=TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise SigninFailed(Failure.PROVIDER, f"{what} {url}: {exc!r}") from None
    return _json_of(answer, what)


def _json_of(answer: httpx.Response, what: str) -> dict[str, Any]:
    if answer.status_code != 200 or len(answer.content) > _MAX_RESPONSE:
        raise SigninFailed(Failure.PROVIDER, f"{what}: HTTP {answer.status_code}")
    try:
        data = answer.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SigninFailed(Failure.PROVIDER, f"{what}: not a JSON object")
    return data


def _url(doc: dict[str, Any], name: str, secure: bool) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value.startswith("https://" if secure else "http"):
        raise SigninFailed(Failure.PROVIDER, f"discovery: {name} is missing or not a web address")
    return value


def discover(cfg: OidcSettings) -> Provider:
    """The provider at `cfg.issuer`, from its discovery document (once per process)."""
    with _lock:
        known = _providers.get(cfg.issuer)
    if known is not None:
        return known
    doc = _get_json(f"{cfg.issuer}/.well-known/openid-configuration", "discovery")
    issuer = doc.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") != cfg.issuer:
        raise SigninFailed(Failure.PROVIDER, f"discovery names issuer {issuer!r}, not ours")
    secure = cfg.issuer.startswith("https://")
    offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    algorithms = tuple(a for a in ALGORITHMS if isinstance(offered, list) and a in offered)
    if not algorithms:
        raise SigninFailed(Failure.PROVIDER, f"discovery: no usable id_token algorithm {offered}")
    found = Provider(
        issuer=issuer,
        authorization_endpoint=_url(doc, "authorization_endpoint", secure),
        token_endpoint=_url(doc, "token_endpoint", secure),
        jwks_uri=_url(doc, "jwks_uri", secure),
        algorithms=algorithms,
        post_secret="client_secret_basic" not in methods and "client_secret_post" in methods,
    )
    with _lock:
        _providers[cfg.issuer] = found
    return found


def _key_set(provider: Provider, fresh: bool = False) -> KeySet:
    with _lock:
        known = None if fresh else _keys.get(provider.jwks_uri)
    if known is not None:
        return known
    doc = _get_json(provider.jwks_uri, "jwks")
    try:
        keys = KeySet.import_key_set(doc)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise SigninFailed(Failure.PROVIDER, f"jwks: {exc!r}") from None
    with _lock:
        _keys[provider.jwks_uri] = keys
    return keys


def begin(cfg: OidcSettings, redirect_uri: str, now: datetime) -> tuple[str, Pending]:
    """Where to send the browser, and what it must keep until it comes back."""
    provider = discover(cfg)
    pending = Pending(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(48),
        began=int(now.timestamp()),
    )
    url = add_params_to_uri(
        provider.authorization_endpoint,
        [
            ("response_type", "code"),
            ("client_id", cfg.client_id),
            ("redirect_uri", redirect_uri),
            ("scope", SCOPES),
            ("state", pending.state),
            ("nonce", pending.nonce),
            ("code_challenge", create_s256_code_challenge(pending.verifier)),
            ("code_challenge_method", "S256"),
        ],
    )
    return url, pending


@dataclass(frozen=True)
class Answer:
    """What came back to the callback: the query's code, state and error."""

    code: str | None
    state: str | None
    error: str | None


def sign_in(
    app: App,
    cfg: OidcSettings,
    kept: str | None,
    answer: Answer,
    redirect_uri: str,
    replacing: str | None = None,
) -> NewSession:
    """A session for the person the provider's answer proves, or SigninFailed."""
    now = app.clock.now()
    pending = _check_state(kept, answer, now)
    if answer.error:
        raise SigninFailed(Failure.DENIED, f"the provider answered error={answer.error[:100]!r}")
    if not answer.code or len(answer.code) > 2048:
        raise SigninFailed(Failure.PROVIDER, "the provider's answer has no code")
    provider = discover(cfg)
    id_token = _exchange(cfg, provider, answer.code, pending.verifier, redirect_uri)
    claims = _verified_claims(cfg, provider, id_token, now)
    if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), pending.nonce.encode()):
        raise SigninFailed(Failure.NONCE, "the id_token's nonce is not this sign-in's")
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise SigninFailed(Failure.UNVERIFIED, "the id_token has no email claim")
    if claims.get("email_verified") not in (True, "true"):
        raise SigninFailed(Failure.UNVERIFIED, "the provider has not verified the e-mail")
    try:
        return sessions.start(app, email[:320], replacing=replacing)
    except NotFound:
        raise SigninFailed(Failure.NOBODY, "no förbund file names the address") from None


def _check_state(kept: str | None, answer: Answer, now: datetime) -> Pending:
    pending = Pending.decode(kept)
    if pending is None:
        raise SigninFailed(Failure.STATE, "no sign-in of this browser is waiting")
    if not answer.state or not hmac.compare_digest(
        answer.state.encode()[:200], pending.state.encode()
    ):
        raise SigninFailed(Failure.STATE, "the answer's state is not this browser's")
    age = now.timestamp() - pending.began
    if not 0 <= age <= PENDING_VALID.total_seconds():
        raise SigninFailed(Failure.STATE, f"the sign-in began {int(age)} s ago")
    return pending


def _exchange(
    cfg: OidcSettings, provider: Provider, code: str, verifier: str, redirect_uri: str
) -> str:
    """The id_token for `code`, from the token endpoint (the client authenticated
    by its secret, as RFC 6749 2.3.1 says: form-encoded, then Basic)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    auth: tuple[str, str] | None = (
        quote(cfg.client_id, safe=""),
        quote(cfg.client_secret, safe=""),
    )
    if provider.post_secret:
        form |= {"client_id": cfg.client_id, "client_secret": cfg.client_secret}
        auth = None
    try:
        answer = httpx.post(
            provider.token_endpoint,
            data=form,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise SigninFailed(Failure.PROVIDER, f"token endpoint: {exc!r}") from None
    token = _json_of(answer, "token endpoint").get("id_token")
    if not isinstance(token, str) or len(token) > _MAX_RESPONSE:
        raise SigninFailed(Failure.PROVIDER, "the token endpoint's answer has no id_token")
    return token


def _verified_claims(
    cfg: OidcSettings, provider: Provider, id_token: str, now: datetime
) -> dict[str, Any]:
    """The id_token's claims when a key of the provider signed it and it is for us, now."""
    try:
        token = _decode(provider, id_token, fresh=False)
    except JoseError:
        try:  # perhaps a key the provider has added since the keys were fetched
            token = _decode(provider, id_token, fresh=True)
        except JoseError as exc:
            raise SigninFailed(Failure.TOKEN, f"id_token signature: {exc!r}") from None
    claims: dict[str, Any] = dict(token.claims)
    rules = jwt.JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=int(LEEWAY.total_seconds()),
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": cfg.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        rules.validate(claims)
    except JoseError as exc:
        raise SigninFailed(Failure.TOKEN, f"id_token claims: {exc!r}") from None
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != cfg.client_id:
        raise SigninFailed(Failure.TOKEN, "id_token for several audiences without azp = us")
    return claims


def _decode(provider: Provider, id_token: str, fresh: bool) -> Any:
    return jwt.decode(id_token, _key_set(provider, fresh), algorithms=list(provider.algorithms))
