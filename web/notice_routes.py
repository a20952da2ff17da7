"""The public anslagstavla: its page, its Atom feed, and the protokoll as published.

Open to anyone, without signing in: the only public pages besides sign-in. The
guard asks nothing of an `ANYONE` route, so the förbund in the path is looked up
here (one statement; an unknown one is the usual 404 page, which does not list the
förbund there are). What is shown comes from `workflow.cycle.notices`: notices of
justerade protokoll only, and the protokoll with its people's names and roles and
no e-mail address.

The feed is registered before the page: Starlette tries routes in order, and
although `/{forbund}/anslagstavla` cannot match `anslagstavla.atom`, the more
specific path first keeps it so if either changes.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup

from notifications.render import environment, sv_date
from web.guard import ANYONE, finsam
from web.responses import page
from web.routes import route
from workflow.cycle import notices
from workflow.cycle.notices import Board, Notice, PublishedMinutes

ATOM_TYPE = "application/atom+xml"
ATOM = "http://www.w3.org/2005/Atom"


# ---------------------------------------------------------------- the feed


@route("GET", "/{forbund}/anslagstavla.atom", ANYONE)
def notice_feed(request: Request, forbund: str) -> Response:
    """The notices as Atom, the newest first, each with an id that never changes and
    `updated` the moment it went up; links on FINSAM_BASE_URL, as the mails' are."""
    board = notices.board(finsam(request), forbund)
    return Response(atom(board, request.app.state.base_url), media_type=ATOM_TYPE)


def atom(board: Board, base: str) -> bytes:
    """The feed document (RFC 4287): the anslagstavla, then one entry per notice."""
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": "sv"})
    _text(feed, "id", board.feed_id)
    _text(feed, "title", f"Anslagstavla – {board.forbund_name}")
    _text(feed, "subtitle", "Tillkännagivanden om justerade protokoll")
    _text(feed, "updated", _instant(board.updated_at))
    _link(feed, "self", ATOM_TYPE, base + notices.feed_path(board.forbund_key))
    _link(feed, "alternate", "text/html", base + notices.board_path(board.forbund_key))
    author = ET.SubElement(feed, "author")
    _text(author, "name", board.forbund_name)
    for n in board.newest:
        entry = ET.SubElement(feed, "entry")
        _text(entry, "id", n.feed_id)
        _text(entry, "title", f"{n.body_name}, sammanträde {sv_date(n.meeting_date)}: justerat")
        _text(entry, "published", _instant(n.approved_at))
        _text(entry, "updated", _instant(n.approved_at))
        _link(entry, "alternate", "text/html", base + n.path)
        _text(entry, "summary", _summary(n)).set("type", "text")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _link(parent: ET.Element, rel: str, media_type: str, href: str) -> None:
    ET.SubElement(parent, "link", {"rel": rel, "type": media_type, "href": href})


def _instant(at: datetime) -> str:
    """RFC 3339, in UTC, to the second."""
    return at.replace(microsecond=0).isoformat()


def _summary(n: Notice) -> str:
    return (
        f"{n.body_name}, sammanträde {sv_date(n.meeting_date)}: protokollet justerades och "
        f"anslaget sattes upp {sv_date(n.up_on)}; det tas ned {sv_date(n.down_on)}. Besluten "
        f"kan överklagas till och med {sv_date(n.appeal_ends)}. "
        f"Protokollet förvaras: {n.kept_at}."
    )


# ---------------------------------------------------------------- the page


@dataclass(frozen=True)
class ShownNotice:
    """A notice with its dates written as the page says them."""

    meeting_id: int
    body_name: str
    meeting_date: str
    up_on: str
    appeal_ends: str
    down_on: str
    kept_at: str
    path: str


def _shown(n: Notice) -> ShownNotice:
    return ShownNotice(
        meeting_id=n.meeting_id,
        body_name=n.body_name,
        meeting_date=sv_date(n.meeting_date),
        up_on=sv_date(n.up_on),
        appeal_ends=sv_date(n.appeal_ends),
        down_on=sv_date(n.down_on),
        kept_at=n.kept_at,
        path=n.path,
    )


@route("GET", "/{forbund}/anslagstavla", ANYONE)
def notice_board(request: Request, forbund: str) -> Response:
    """The notices up today, then the archive of those whose appeal time is over; two
    statements whatever the number of meetings."""
    board = notices.board(finsam(request), forbund)
    context = {
        "forbund_name": board.forbund_name,
        "kept_at": board.kept_at,
        "today": sv_date(board.today),
        "current": [_shown(n) for n in board.current],
        "archive": [_shown(n) for n in board.archive],
        "feed_path": notices.feed_path(board.forbund_key),
    }
    return page(request, "anslag/board.html", context)


# ---------------------------------------------------------------- the protokoll


@route("GET", "/{forbund}/protokoll/{meeting_id:int}", ANYONE)
def published_minutes(request: Request, forbund: str, meeting_id: int) -> Response:
    """A justerat protokoll as the public reads it: the minutes' own template, inside
    the site's page; 404 for any meeting whose minutes are not justerade."""
    view = notices.published(finsam(request), forbund, meeting_id)
    context = {
        "forbund_name": view["forbund"],
        "title": f"Protokoll – {view['meeting']['body_name']} {sv_date(view['date'])}",
        "minutes": minutes_html(view),
        "notice": _shown(view["notice"]),
        "board_path": notices.board_path(forbund),
    }
    return page(request, "anslag/protokoll.html", context)


def minutes_html(view: PublishedMinutes) -> Markup:
    """The body of the protokoll as `minutes.html.j2` writes it (a förbund's own copy of
    that template too, from FINSAM_TEMPLATES): rendered with a page frame of nothing but
    its body, so the site's own page (its stylesheet, its menu) holds it."""
    template = _bare(environment()).get_template("minutes.html.j2")
    return Markup(template.render(**view))


@functools.lru_cache(maxsize=8)
def _bare(documents: Any) -> Any:
    """The documents' environment with `_page.html.j2` replaced by its body alone: the
    same loaders, filters and escaping otherwise (one per environment, compiled once)."""
    # start-up: Jinja2 loads with the first protokoll shown, as the documents' own does
    from jinja2 import ChoiceLoader, DictLoader

    frame = DictLoader({"_page.html.j2": "{% block body %}{% endblock %}"})
    return documents.overlay(loader=ChoiceLoader([frame, documents.loader]))
