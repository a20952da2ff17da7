"""What a route needs, enforced in one place for every route.

A route declares `needs`: "anyone", "signed_in", "member" (any role in the
route's `{forbund}`), or, for a route of one förbund
(a `{forbund}` in its path) or of any of the person's, a permission of the
förbund file's `[permissions]` ("mail", "meetings", ...) or a role spec
("ordförande@styrelse"). The guard finds the visitor from the session cookie,
checks the CSRF token of every POST before anything else runs, sends anonymous
visitors of other routes to /signin, and answers 404 for a förbund that is not
the person's and 403 for a need they do not hold.

CSRF: a signed-in form carries the session's random token (`csrf` in the session
row); the sign-in forms, before any session, carry the value of the `finsam_csrf`
cookie (double submit). A POST without the right token is refused with 403 and
nothing runs.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from workflow.core.app import App
from workflow.core.exceptions import NotFound
from workflow.identity import sessions
from workflow.identity.people import Person
from workflow.identity.sessions import Current

SESSION_COOKIE = "finsam_session"
CSRF_COOKIE = "finsam_csrf"
CSRF_FIELD = "csrf"
ANYONE, SIGNED_IN = "anyone", "signed_in"
# any role at all in the route's förbund (its board members, its officials): the
# overview a board reads, not the drafts
MEMBER = "member"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Refused(Exception):
    """A request the web itself turns away, as a page: `status`, a Swedish title and text."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(text)
        self.status, self.title, self.text = status, title, text


class SignInFirst(Exception):
    """An anonymous visitor on a page that needs a person: sent to /signin."""


@dataclass(frozen=True)
class Visitor:
    """Who is asking: their live session (None when anonymous), their cookie's secret
    (to replace or end it), the client's address, and the pre-session CSRF token."""

    session: Current | None
    secret: str | None
    client: str
    signin_csrf: str

    @property
    def person(self) -> Person | None:
        return self.session.person if self.session else None

    @property
    def csrf(self) -> str:
        """The token the forms of a signed-in visitor carry (the sign-in forms carry
        `signin_csrf`, paired with the cookie, whoever asks)."""
        return self.session.csrf if self.session else ""


def finsam(request: Request) -> App:
    return request.app.state.finsam  # type: ignore[no-any-return]


def visitor(request: Request) -> Visitor:
    """The visitor the guard found for this request."""
    return request.state.visitor  # type: ignore[no-any-return]


def _same(given: object, expected: str | None) -> bool:
    return (
        isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(given.encode(), (expected or "").encode())
    )


def enforce(needs: str) -> Callable[[Request], Awaitable[Visitor]]:
    """The dependency of a route that needs `needs`."""

    async def guard(request: Request) -> Visitor:
        app = finsam(request)
        secret = request.cookies.get(SESSION_COOKIE)
        current = await run_in_threadpool(sessions.current, app, secret)
        cookie_csrf = request.cookies.get(CSRF_COOKIE) or ""
        seen = Visitor(
            session=current,
            secret=secret,
            client=request.client.host if request.client else "unknown",
            signin_csrf=cookie_csrf or secrets.token_urlsafe(32),
        )
        request.state.visitor = seen
        if request.method not in SAFE_METHODS:
            form = await request.form()
            expected = cookie_csrf if needs == ANYONE else (current.csrf if current else None)
            if not _same(form.get(CSRF_FIELD), expected):
                raise Refused(
                    403,
                    "Formuläret kunde inte tas emot",
                    "Formuläret saknade en giltig kontrollkod (CSRF). Ingenting ändrades. "
                    "Ladda om sidan och försök igen.",
                )
        if needs == ANYONE:
            return seen
        if current is None:
            raise SignInFirst()
        if needs != SIGNED_IN:
            _holds(current.person, needs, request.path_params.get("forbund"))
        return seen

    return guard


def _holds(person: Person, needs: str, forbund_key: str | None) -> None:
    if forbund_key is not None and forbund_key not in person.forbund_keys:
        raise NotFound(f"unknown förbund {forbund_key!r}")
    if needs == MEMBER:  # a route of no förbund: in some förbund at all
        if forbund_key is None and not person.forbund_keys:
            raise NotFound("no förbund of yours here")
        return
    if not person.holds(needs, forbund_key):
        raise Refused(
            403,
            "Inte tillåtet",
            f"Den här sidan kräver {needs}; {person.name} har inte den rollen här.",
        )
