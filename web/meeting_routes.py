"""The member's meetings in the browser: the coming ones with their papers, the earlier
ones with their protokoll, one meeting's kallelse, föredragningslista, handlingar and
protokoll, and the file of a report handled there.

`workflow.identity.meeting_pages` decides who sees what: a meeting is its kallelse's
people's (its body's and the bodies it is held jointly with), anyone else gets 404,
and so does a report's file unless the report is handed in and handled at that
meeting. The pages are written for a phone first: one column, the date large, the
papers as a list of links.
"""

from __future__ import annotations

from datetime import date

from fastapi import Request
from fastapi.responses import FileResponse, Response

from notifications.render import sv_date
from web.guard import SIGNED_IN, finsam, visitor
from web.notice_routes import minutes_html
from web.responses import page
from web.routes import route
from workflow.cycle import notices
from workflow.identity import meeting_pages, minutes_pages
from workflow.identity.people import Person

INLINE = ("application/pdf", "text/plain", "text/csv")  # opened in the browser


def _person(request: Request) -> Person:
    person = visitor(request).person
    assert person is not None  # the guard let only a person in
    return person


def sv_day(value: date | None) -> str:
    """'tisdag 11 maj 2027': the day of the week first, as a member looks for it."""
    if value is None:
        return ""
    # start-up: babel loads with the first page that writes a date
    from babel.dates import format_date

    return str(format_date(value, "EEEE d MMMM y", locale="sv_SE"))


DATES = {"sv_day": sv_day, "sv_date": sv_date}  # how the pages write a date


@route("GET", "/moten", SIGNED_IN)
def meetings_home(request: Request) -> Response:
    """My coming meetings with their papers, then the last twelve months' with their
    protokoll."""
    shown = meeting_pages.mine(finsam(request), _person(request))
    many = len({m.forbund_key for m in [*shown.coming, *shown.earlier]}) > 1
    context = {"my": shown, "many_forbund": many, **DATES}
    return page(request, "meetings/mine.html", context)


@route("GET", "/moten/{meeting_id:int}", SIGNED_IN)
def meeting_page(request: Request, meeting_id: int) -> Response:
    """One meeting: the kallelse, the föredragningslista, the handlingar, the protokoll
    (as it is published, or will be), with the links to write or justera it for the
    förbundschef and the justerare."""
    app, person = finsam(request), _person(request)
    shown = meeting_pages.meeting(app, person, meeting_id)
    recorded = shown.protokoll
    context = {
        "m": shown.papers,
        "protokoll": recorded,
        "published": minutes_html(notices.public(recorded)) if recorded else None,
        "links": minutes_pages.links(person, shown.papers, recorded),
        **DATES,
    }
    return page(request, "meetings/meeting.html", context)


@route("GET", "/moten/{meeting_id:int}/rapporter/{obligation_id:int}/fil", SIGNED_IN)
def meeting_report_file(request: Request, meeting_id: int, obligation_id: int) -> Response:
    """A report handled at the meeting, as handed in: a PDF or text opens in the browser,
    others download."""
    found = meeting_pages.report_file(finsam(request), _person(request), meeting_id, obligation_id)
    inline = found.mime.split(";")[0] in INLINE
    return FileResponse(
        found.path,
        media_type=found.mime,
        filename=found.name,
        content_disposition_type="inline" if inline else "attachment",
    )
