"""The personal calendar feed in the browser: the page that makes and switches off the
address, and the feed itself, which a calendar program fetches without signing in.

Only the address's hash is kept (`workflow.identity.calendar_feeds`), so the address
is shown once: the POST that makes it answers with the page carrying it (not a
redirect: nothing could show it afterwards). Later the page says that a feed
exists, since when and when it was last fetched, and offers a new address (the old
one stops) or switching it off. Making and switching off are logged, not audited:
a feed is a person's own setting, no förbund's data changes.

The feed's address is its only key: an unknown, replaced or switched-off token,
and the token of somebody no förbund file or insats names any more, all answer the
same 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from notifications.render import sv_date
from web.guard import ANYONE, SIGNED_IN, finsam, visitor
from web.responses import page
from web.routes import route
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import NotFound
from workflow.identity import calendar_feeds as feeds
from workflow.identity.people import Person

ICS_TYPE = "text/calendar; charset=utf-8"
TEMPLATE = "calendar.html"
SWITCHED_OFF = "avstangd"  # the query flag of the page after "Stäng av"


def _person(request: Request) -> Person:
    person = visitor(request).person
    assert person is not None  # the guard let only a person in
    return person


def _when(at: datetime | None) -> str | None:
    """'20 augusti 2027 kl. 11:00' in Swedish time, or None."""
    if at is None:
        return None
    local = at.astimezone(LOCAL_TZ)
    return f"{sv_date(local.date())} kl. {local:%H:%M}"


def _bodies(person: Person) -> list[dict[str, Any]]:
    """Per förbund of the person, the names of the bodies whose meetings the feed holds."""
    out = []
    for m in person.memberships:
        mine = {body for body, _ in m.actor.memberships}
        names = [b.name for b in m.cfg.bodies if b.key in mine]
        out.append({"forbund": m.forbund_name, "bodies": names})
    return out


def _page(request: Request, new: feeds.FeedAddress | None = None, status: int = 200) -> Response:
    person = _person(request)
    found = feeds.info(finsam(request), person.email)
    context = {
        "feed": found,
        "created": _when(found.created_at) if found else None,
        "used": _when(found.last_used_at) if found else None,
        "new": new,
        "switched_off": SWITCHED_OFF in request.query_params and found is None,
        "forbund": _bodies(person),
    }
    return page(request, TEMPLATE, context, status=status)


@route("GET", "/kalender", SIGNED_IN)
def calendar_page(request: Request) -> Response:
    """What the feed is, and whether I have one (its address is never shown again)."""
    return _page(request)


@route("POST", "/kalender/ny", SIGNED_IN)
def calendar_create(request: Request) -> Response:
    """A new address, shown now and only now; an earlier one stops working."""
    person = _person(request)
    made = feeds.create(finsam(request), person.email)
    request.app.state.log("calendar-feed-create", channel="web", person=person.email)
    return _page(request, feeds.address(request.app.state.base_url, made.token))


@route("POST", "/kalender/stang", SIGNED_IN)
def calendar_revoke(request: Request) -> Response:
    person = _person(request)
    had = feeds.revoke(finsam(request), person.email)
    request.app.state.log(
        "calendar-feed-revoke",
        channel="web",
        person=person.email,
        outcome="revoked" if had else "none",
    )
    return RedirectResponse(f"/kalender?{SWITCHED_OFF}=1", status_code=303)


@route("GET", "/kalender/{token}.ics", ANYONE)
def calendar_feed(request: Request, token: str) -> Response:
    """The person's meetings as iCalendar, for a calendar that subscribes to the address."""
    data = feeds.feed(finsam(request), token)
    if data is None:
        raise NotFound(
            "Det finns ingen kalender med den adressen.",
            "En kalenderadress slutar gälla när en ny skapas eller när den stängs av.",
        )
    return Response(data, media_type=ICS_TYPE)
