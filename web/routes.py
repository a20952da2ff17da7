"""Every route of `finsam web` and what it needs, in one table.

`TABLE` lists each route with its method, path and `needs` (see `web.guard`);
`server.create_app` registers exactly these, each behind the guard. A test walks
the app's routes and asks each of them as every kind of visitor, so a route is
not added without saying who may use it. Routes hold no decisions: they call the
services (`workflow.identity`, `workflow.plans`) and render what those return.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from web.guard import ANYONE, SESSION_COOKIE, SIGNED_IN, finsam, visitor
from web.responses import page, set_cookie
from workflow.core.db import SCHEMA_HEAD, check_schema
from workflow.core.exceptions import FinsamError
from workflow.identity import sessions, signin
from workflow.identity.signin import Admission, LinkState
from workflow.mail import links

Endpoint = Callable[..., Any]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    needs: str
    endpoint: Endpoint

    @property
    def name(self) -> str:
        return self.endpoint.__name__


TABLE: list[Route] = []


def route(method: str, path: str, needs: str) -> Callable[[Endpoint], Endpoint]:
    """Register the function below as the route `method path`, needing `needs`."""

    def register(endpoint: Endpoint) -> Endpoint:
        TABLE.append(Route(method, path, needs, endpoint))
        return endpoint

    return register


# ---------------------------------------------------------------- health


@route("GET", "/healthz", ANYONE)
def healthz(request: Request) -> Response:
    """200 with the schema revision when the database answers and is at this
    finsam's schema; 503 saying what is wrong otherwise (for a proxy or a monitor)."""
    try:
        check_schema(finsam(request).engine)
    except FinsamError as exc:
        return JSONResponse({"ok": False, "error": exc.message}, status_code=503)
    return JSONResponse({"ok": True, "schema": SCHEMA_HEAD})


# ---------------------------------------------------------------- signing in


@route("GET", "/signin", ANYONE)
def signin_form(request: Request, next: str = "") -> Response:
    """The sign-in form; `next` is a page of finsam's the mailed link is to open (the
    meeting page a kallelse links to), kept only when a link may open it."""
    return page(request, "signin.html", {"next": links.safe_target(next[:200]) or ""})


@route("POST", "/signin", ANYONE)
def signin_request(
    request: Request, email: Annotated[str, Form()] = "", next: Annotated[str, Form()] = ""
) -> Response:
    """The same page for every address; the link is looked up and queued after the
    answer, so not even the answer's timing tells a known address from another. The
    link opens `next` when it is a page a link may open."""
    app, seen = finsam(request), visitor(request)
    email = email.strip()[:320]
    admitted = signin.admit(app, email, seen.client)
    log = request.app.state.log
    if admitted is Admission.CLIENT_LIMIT:
        log("signin-request", level="warning", channel="web", outcome=admitted, client=seen.client)
        return page(request, "signin_limited.html", status=429)
    response = page(request, "signin_sent.html")
    if admitted is Admission.OK:
        base_url = request.app.state.base_url
        target = links.safe_target(next[:200])
        response.background = BackgroundTask(_send_link, request, email, base_url, target)
    else:
        log("signin-request", channel="web", outcome=admitted)
    return response


def _send_link(request: Request, email: str, base_url: str, target: str | None) -> None:
    log = request.app.state.log
    try:
        sent = signin.send_link(finsam(request), email, base_url, target)
    except Exception as exc:  # after the answer: nobody to tell but the log
        log("signin-request", level="error", channel="web", outcome="failed", error=repr(exc))
        return
    if sent is None:
        log("signin-request", channel="web", outcome="nobody")
    else:
        log(
            "signin-request",
            channel="web",
            outcome="queued",
            person=sent.email,
            forbund=sent.forbund_key,
            item=f"outbox:{sent.outbox_id}",
        )


@route("GET", "/signin/{token}", ANYONE)
def signin_confirm(request: Request, token: str) -> Response:
    """A button, not the sign-in itself: a mail scanner fetching the link uses nothing up.
    A link that opens a page (a reminder's) and is spent offers a fresh one; followed
    by its own person, already signed in, it just opens the page."""
    seen, looked = visitor(request), signin.look(finsam(request), token)
    person = seen.person
    if looked.target and person is not None and person.email == looked.email:
        return RedirectResponse(looked.target, status_code=303)
    if looked.state is LinkState.SPENT:
        return page(request, "signin_spent.html", {"token": token}, status=400)
    if looked.state is not LinkState.USABLE:
        return page(request, "signin_invalid.html", status=400)
    return page(request, "signin_confirm.html", {"token": token})


@route("POST", "/signin/{token}", ANYONE)
def signin_redeem(request: Request, token: str) -> Response:
    seen = visitor(request)
    started = signin.redeem(finsam(request), token, replacing=seen.secret)
    if started is None:
        return page(request, "signin_invalid.html", status=400)
    request.app.state.log("signin", channel="web", person=started.email, client=seen.client)
    response = RedirectResponse(started.target or "/", status_code=303)
    set_cookie(request, response, SESSION_COOKIE, started.secret)
    return response


@route("POST", "/signin/{token}/ny", ANYONE)
def signin_fresh(request: Request, token: str) -> Response:
    """A fresh link, by mail, to the address and page of a spent link; the answer is the
    usual "sent" page (429 past the client's limit), whatever the link was."""
    app, seen = finsam(request), visitor(request)
    admitted = signin.send_fresh(app, token, seen.client, request.app.state.base_url)
    request.app.state.log("signin-fresh", channel="web", outcome=admitted or "none")
    if admitted is Admission.CLIENT_LIMIT:
        return page(request, "signin_limited.html", status=429)
    return page(request, "signin_sent.html")


@route("POST", "/signout", SIGNED_IN)
def signout(request: Request) -> Response:
    seen = visitor(request)
    email = sessions.end(finsam(request), seen.secret)
    request.app.state.log("signout", channel="web", person=email)
    return _signed_out(request)


@route("POST", "/signout/everywhere", SIGNED_IN)
def signout_everywhere(request: Request) -> Response:
    person = visitor(request).person
    assert person is not None  # the guard let only a person in
    ended = sessions.end_everywhere(finsam(request), person.email)
    request.app.state.log("signout-everywhere", channel="web", person=person.email, ended=ended)
    return _signed_out(request)


def _signed_out(request: Request) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
