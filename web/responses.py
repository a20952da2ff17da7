"""Pages, the headers every response carries, and every refusal as a page.

A `FinsamError` from a service becomes a page with the words the CLI prints (its
message and hint) and a fitting status; the web's own refusals (`Refused`) and
unknown routes become pages too; anything else is a bug: the traceback goes to
stderr and the page says one Swedish sentence. All of it through one handler per
kind of exception, never per route, and one middleware that adds the security
headers to every response (also the error pages and the static files).
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.guard import CSRF_COOKIE, Refused, SignInFirst, Visitor
from workflow.core.exceptions import (
    Busy,
    ConflictError,
    DatabaseMissing,
    FinsamError,
    NotAllowed,
    NotFound,
    UsageError,
)
from workflow.mail import links

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # no page's address leaves the site, least of all /signin/<token>
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# pages show personal data: no cache keeps them; the stylesheet may be cached
NO_STORE = "no-store"

# the status for each kind of refusal, the most specific first
STATUS: tuple[tuple[type[FinsamError], int], ...] = (
    (Busy, 503),
    (DatabaseMissing, 503),
    (ConflictError, 409),
    (NotFound, 404),
    (NotAllowed, 403),
    (UsageError, 400),
)
TITLES = {
    400: "Det gick inte",
    403: "Inte tillåtet",
    404: "Sidan finns inte",
    413: "För stort",
    405: "Det gick inte",
    409: "Någon hann före",
    429: "För många försök",
    500: "Något gick fel",
    503: "Försök igen om en stund",
}
INTERNAL = (
    "Något gick fel hos finsam; felet är loggat. Försök igen, eller hör av dig till kansliet."
)


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("web", "templates"),
        autoescape=select_autoescape(("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_text(name: str, context: Mapping[str, Any]) -> str:
    return str(_environment().get_template(name).render(**context))


def page(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A template rendered for the visitor the guard found (none on error pages of
    requests that never reached it), with the pre-session CSRF cookie when needed."""
    seen: Visitor | None = getattr(request.state, "visitor", None)
    values = {
        "person": seen.person if seen else None,
        "csrf": seen.csrf if seen else "",
        "signin_csrf": seen.signin_csrf if seen else "",
        "path": request.url.path,
        **(context or {}),
    }
    response = HTMLResponse(render_text(name, values), status_code=status)
    if seen is not None and request.cookies.get(CSRF_COOKIE) is None:
        set_cookie(request, response, CSRF_COOKIE, seen.signin_csrf, samesite="strict")
    return response


def secure(request: Request) -> bool:
    return bool(request.app.state.base_url.startswith("https://"))


def set_cookie(
    request: Request, response: Response, name: str, value: str, samesite: str = "lax"
) -> None:
    response.set_cookie(
        name,
        value,
        path="/",
        httponly=True,
        samesite=samesite,
        secure=secure(request),  # type: ignore[arg-type]
    )


def error_page(request: Request, status: int, message: str, hint: str | None = None) -> Response:
    return page(
        request,
        "error.html",
        {"title": TITLES.get(status, TITLES[400]), "message": message, "hint": hint},
        status,
    )


def status_of(exc: FinsamError) -> int:
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 500)


async def _finsam_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FinsamError)
    return error_page(request, status_of(exc), exc.message, exc.hint)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return page(
        request, "error.html", {"title": exc.title, "message": exc.text, "hint": None}, exc.status
    )


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    """To the sign-in page, which remembers a page a link may open (a meeting's, from the
    kallelse) so the mailed link opens it after signing in."""
    wanted = links.safe_target(request.url.path) if request.method == "GET" else None
    where = f"/signin?next={quote(wanted, safe='/')}" if wanted else "/signin"
    return RedirectResponse(where, status_code=303)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return error_page(request, 404, "Det finns ingen sida med den adressen.")
    if exc.status_code == 405:
        return error_page(request, 405, "Sidan tar inte emot den sortens begäran.")
    return error_page(request, exc.status_code, str(exc.detail))


async def _invalid_request(request: Request, exc: Exception) -> Response:
    return error_page(request, 400, "Begäran var inte fullständig eller hade fel form.")


def install_handlers(api: FastAPI) -> None:
    api.add_exception_handler(FinsamError, _finsam_error)
    api.add_exception_handler(Refused, _refused)
    api.add_exception_handler(SignInFirst, _sign_in_first)
    api.add_exception_handler(StarletteHTTPException, _http_error)
    api.add_exception_handler(RequestValidationError, _invalid_request)


class Safety:
    """ASGI middleware around everything: the security headers on every response, and
    a bug's traceback to stderr with a plain 500 page instead of it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", [])]
                given = {k.lower() for k, _ in headers}
                for name, value in HEADERS.items():
                    headers.append((name.lower().encode(), value.encode()))
                if not static and b"cache-control" not in given:
                    headers.append((b"cache-control", NO_STORE.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            if started:  # the answer is on its way: nothing more can be said
                return
            body = render_text(
                "error.html",
                {
                    "title": TITLES[500],
                    "message": INTERNAL,
                    "hint": None,
                    "person": None,
                    "csrf": "",
                    "signin_csrf": "",
                    "path": "",
                },
            )
            await HTMLResponse(body, status_code=500)(scope, receive, with_headers)
