"""Signing in with an OpenID Connect provider: `/signin/oidc` and its callback.

Both answer 404, like an address that does not exist, when no provider is
configured (FINSAM_OIDC_*, `workflow.core.settings.oidc`); then the sign-in page
shows no button either. What this sign-in remembers between leaving for the
provider and coming back lives in the cookie `finsam_oidc` (HttpOnly,
SameSite=Lax so that the provider's redirect back brings it, only on these
paths, for `oidc.PENDING_VALID`); the decisions are `workflow.identity.oidc`'s.
A sign-in ends with the same session cookie as an e-mail link's.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from web import responses
from web.guard import ANYONE, SESSION_COOKIE, finsam, visitor
from web.responses import page, secure, set_cookie
from web.routes import TABLE, route
from workflow.core.settings import OidcSettings, oidc
from workflow.identity import oidc as provider
from workflow.identity.oidc import Failure, SigninFailed

START = "/signin/oidc"
CALLBACK = "/signin/oidc/callback"
PENDING_COOKIE = "finsam_oidc"

# each failure: its status, and what the page says (with the provider's name)
PAGES: dict[Failure, tuple[int, str]] = {
    Failure.DENIED: (400, "Inloggningen avbröts hos {name}. Ingen har loggats in."),
    Failure.STATE: (
        400,
        "Inloggningen hörde inte till den här webbläsaren, eller tog för lång tid "
        "(mer än 10 minuter). Börja om.",
    ),
    Failure.NONCE: (400, "Svaret från {name} hörde inte till den här inloggningen. Börja om."),
    Failure.PROVIDER: (
        502,
        "{name} svarar inte som väntat just nu. Försök igen om en stund, "
        "eller logga in med en länk per e-post.",
    ),
    Failure.TOKEN: (
        502,
        "Svaret från {name} kunde inte kontrolleras, så ingen har loggats in. "
        "Försök igen, eller logga in med en länk per e-post.",
    ),
    Failure.UNVERIFIED: (
        403,
        "{name} har ingen bekräftad e-postadress för dig, så finsam kan inte veta vem du "
        "är. Logga in med en länk per e-post i stället.",
    ),
    Failure.NOBODY: (403, "Vi hittar ingen med den e-postadressen i något förbund."),
}


def _configured() -> OidcSettings:
    """The provider's settings; without them these routes do not exist (404)."""
    cfg = oidc()
    if cfg is None:
        raise HTTPException(404)
    return cfg


def _redirect_uri(request: Request) -> str:
    return f"{request.app.state.base_url}{CALLBACK}"


@route("GET", START, ANYONE)
def oidc_start(request: Request) -> Response:
    """Off to the provider, remembering this sign-in in the browser."""
    cfg = _configured()
    try:
        url, pending = provider.begin(cfg, _redirect_uri(request), finsam(request).clock.now())
    except SigninFailed as exc:
        return _failed(request, cfg, exc)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        pending.encode(),
        max_age=int(provider.PENDING_VALID.total_seconds()),
        path=START,
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )
    return response


@route("GET", CALLBACK, ANYONE)
def oidc_callback(request: Request) -> Response:
    """Back from the provider: a session, or a page saying why not."""
    cfg = _configured()
    seen, query = visitor(request), request.query_params
    answer = provider.Answer(query.get("code"), query.get("state"), query.get("error"))
    try:
        started = provider.sign_in(
            finsam(request),
            cfg,
            request.cookies.get(PENDING_COOKIE),
            answer,
            _redirect_uri(request),
            replacing=seen.secret,
        )
    except SigninFailed as exc:
        return _failed(request, cfg, exc)
    request.app.state.log(
        "signin", channel="web", method="oidc", person=started.email, client=seen.client
    )
    response = RedirectResponse("/", status_code=303)
    set_cookie(request, response, SESSION_COOKIE, started.secret)
    _forget_pending(response)
    return response


def _failed(request: Request, cfg: OidcSettings, exc: SigninFailed) -> Response:
    status, text = PAGES[exc.failure]
    request.app.state.log(
        "signin",
        level="error" if status >= 500 else "warning",
        channel="web",
        method="oidc",
        outcome=str(exc.failure),
        detail=exc.detail,
        client=visitor(request).client,
    )
    response = page(
        request, "signin_oidc_failed.html", {"message": text.format(name=cfg.name)}, status
    )
    _forget_pending(response)
    return response


def _forget_pending(response: Response) -> None:
    response.delete_cookie(PENDING_COOKIE, path=START)


def label() -> str | None:
    """The sign-in button's provider name, or None when there is no provider (the
    sign-in page asks this; it is read when the page is, like the routes)."""
    cfg = oidc()
    return cfg.name if cfg else None


def check() -> None:
    """Read the settings at start, so half a configuration stops `finsam web` by name."""
    oidc()


# the sign-in page's button asks for the label (a global of the pages' environment)
responses._environment().globals["oidc_label"] = label
# Starlette tries routes in order, and `/signin/{token}` would take "oidc" for a token
TABLE.sort(key=lambda r: r.path != START)
