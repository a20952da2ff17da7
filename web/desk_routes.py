"""The start page after sign-in: the förbundschef's desk, or what concerns me.

What each person sees is decided in `workflow.identity.desk` from the förbund
file (its `editors` get the desk); the scheduler's nodes are shown to editors
from `scheduler status`. Retrying a message is `outbox retry`, with the person
and channel `web` in its audit row; another förbund's message answers 404.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from web.guard import SIGNED_IN, finsam, visitor
from web.responses import page
from web.routes import route
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import NotFound
from workflow.cycle import wheel
from workflow.identity import desk as desks
from workflow.identity.people import Person
from workflow.mail import delivery
from workflow.scheduler import daemon, nodes
from workflow.scheduler.views import NodeView


def _person(request: Request) -> Person:
    person = visitor(request).person
    assert person is not None  # the guard let only a person in
    return person


@route("GET", "/", SIGNED_IN)
def home(request: Request) -> Response:
    app, person = finsam(request), _person(request)
    if not person.memberships:  # a project leader only: their reports are their start
        return RedirectResponse("/rapporter", status_code=303)
    mine = desks.desks(app, person)
    context = {
        "desks": mine,
        "scheduler": _scheduler(request) if _edits(mine) else None,
        "year": app.clock.now().astimezone(LOCAL_TZ).year,
    }
    return page(request, "desk.html", context)


def _edits(mine: list[desks.Desk]) -> bool:
    return any(d.editor for d in mine)


def _scheduler(request: Request) -> dict[str, list[NodeView]]:
    """The nodes of `scheduler status`, alive meaning a heartbeat within the scheduler's
    setting (not the rest of it: its next-due search reads every förbund)."""
    return {"nodes": nodes.liveness(finsam(request), daemon.stale_after(daemon.settings()))}


@route("POST", "/mail/{message_id:int}/retry", SIGNED_IN)
def mail_retry(request: Request, message_id: int) -> Response:
    """`outbox retry` for a message of one of my förbund; the service asks [permissions]."""
    app, person = finsam(request), _person(request)
    if desks.forbund_of_message(app, message_id) not in person.forbund_keys:
        raise NotFound(f"unknown message {message_id}", "the messages of your förbund are on /")
    retried = delivery.retry(app, message_id, person.email, channel="web")
    request.app.state.log(
        "outbox-retry",
        channel="web",
        person=person.email,
        item=f"message:{message_id}",
        state=retried["state"],
    )
    return RedirectResponse("/", status_code=303)


# an SVG opened on its own (not as an <img>) may run nothing and load nothing
WHEEL_CSP = "default-src 'none'; sandbox"


@route("GET", "/arshjul/{year:int}.svg", SIGNED_IN)
def wheel_svg(request: Request, year: int, forbund: str = "") -> Response:
    """`cycle wheel` drawn in memory, for the desk's <img>: the year's årshjul of one
    of my förbund (`?forbund=KEY`, my first by default). Another förbund's, or a year
    without meetings, answers 404 like any unknown address."""
    person = _person(request)
    key = forbund or (person.memberships[0].forbund_key if person.memberships else "")
    if key not in person.forbund_keys:
        raise NotFound(f"unknown förbund {key!r}", "your förbund's årshjul is on /")
    drawing = wheel.draw(finsam(request), key, year)
    return Response(
        drawing.svg, media_type="image/svg+xml", headers={"Content-Security-Policy": WHEEL_CSP}
    )
