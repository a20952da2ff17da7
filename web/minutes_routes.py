"""The protokoll in the browser: the förbundschef's form to record it, the justerare's
page to approve it or ask for a change.

`workflow.identity.minutes_pages` decides who sees what (anyone but the one who may
record, or a justerare, gets 404) and checks the form; the routes render what it
returns. The form is one POST with two buttons: "Spara utkast" records a revision,
"Spara och skicka till justerarna" records it and mails the justerare. A refusal
shows the form again as typed, each message at its field, with 400 and nothing
stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from web.guard import SIGNED_IN, finsam, visitor
from web.meeting_routes import DATES
from web.notice_routes import minutes_html
from web.responses import page
from web.routes import route
from workflow.core.exceptions import UsageError
from workflow.core.text import LIMITS
from workflow.identity import minutes_pages
from workflow.identity.minutes_pages import FormRefused, Typed
from workflow.identity.people import Person
from workflow.identity.sessions import Current

ACTIONS = {"utkast": False, "skicka": True}  # the button -> send to the justerare


def _session(request: Request) -> Current:
    session = visitor(request).session
    assert session is not None  # the guard let only a person in
    return session


def _person(request: Request) -> Person:
    return _session(request).person


def _log(request: Request, event: str, meeting_id: int) -> None:
    request.app.state.log(
        event, channel="web", person=_person(request).email, item=f"meeting:{meeting_id}"
    )


def _context(shown: minutes_pages.MinutesForm, errors: dict[str, str], done: Any) -> Any:
    return {
        "f": shown,
        "errors": errors,
        "done": done,
        "published": minutes_html(shown.published) if shown.published else None,
        "statuses": minutes_pages.STATUS_WORDS,
        "suggested": minutes_pages.suggested,
        **DATES,
    }


# ---------------------------------------------------------------- recording


@route("GET", "/moten/{meeting_id:int}/protokoll", SIGNED_IN)
def minutes_form(request: Request, meeting_id: int) -> Response:
    """The recording form, or why there is none (not begun; justerat, shown frozen)."""
    shown = minutes_pages.form(finsam(request), _person(request), meeting_id)
    return page(request, "minutes/record.html", _context(shown, {}, request.query_params))


@route("POST", "/moten/{meeting_id:int}/protokoll", SIGNED_IN)
async def minutes_record(request: Request, meeting_id: int) -> Response:
    """Record the minutes as typed; with "skicka", send them to the justerare too."""
    app, person = finsam(request), _person(request)
    await run_in_threadpool(minutes_pages.form, app, person, meeting_id)  # 404 first
    form = await request.form()
    send = ACTIONS.get(str(form.get("action", "")))
    if send is None:
        raise UsageError(
            "Formuläret sade inte vad som skulle göras.",
            "Tryck på Spara utkast eller Spara och skicka till justerarna.",
        )
    items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    typed = minutes_pages.parse(items)
    try:
        await run_in_threadpool(
            lambda: minutes_pages.record(app, person, meeting_id, typed, send=send)
        )
    except FormRefused as refused:
        return await _again(request, meeting_id, refused.typed, refused.errors)
    _log(request, "minutes-send" if send else "minutes-record", meeting_id)
    done = "skickat" if send else "sparat"
    return RedirectResponse(f"/moten/{meeting_id}/protokoll?{done}=1", status_code=303)


async def _again(
    request: Request, meeting_id: int, typed: Typed, errors: dict[str, str]
) -> Response:
    """The form as typed, each refusal at its field; nothing was stored."""
    app, person = finsam(request), _person(request)
    shown = await run_in_threadpool(minutes_pages.form, app, person, meeting_id, typed)
    return page(request, "minutes/record.html", _context(shown, errors, {}), status=400)


# ---------------------------------------------------------------- the justering


def _justering(
    request: Request,
    meeting_id: int,
    *,
    message: str | None = None,
    comment: str = "",
    comment_error: str | None = None,
    status: int = 200,
) -> Response:
    shown = minutes_pages.justering(finsam(request), _person(request), meeting_id)
    context = {
        "j": shown,
        "protokoll": minutes_html(shown.published),
        "message": message,
        "comment": comment,
        "comment_error": comment_error,
        "done": request.query_params if status == 200 else {},
        **DATES,
    }
    return page(request, "minutes/justering.html", context, status=status)


@route("GET", "/moten/{meeting_id:int}/justering", SIGNED_IN)
def justering_page(request: Request, meeting_id: int) -> Response:
    """The protokoll as it will be published, with "Justera" and "Begär ändring"."""
    return _justering(request, meeting_id)


def _revision(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


@route("POST", "/moten/{meeting_id:int}/justering", SIGNED_IN)
async def justering_approve(request: Request, meeting_id: int) -> Response:
    """The justerare approves the revision they read; a stale one shows the new draft."""
    app, session = finsam(request), _session(request)
    shown = await run_in_threadpool(minutes_pages.justering, app, session.person, meeting_id)
    form = await request.form()
    revision = _revision(form.get("revision"))
    read = str(form.get("content", ""))[:64] or None
    if revision is None:
        raise UsageError("Formuläret saknade utkastets nummer.", "Ladda om sidan och försök igen.")
    stale = minutes_pages.stale(shown, revision, read)
    if stale:
        return _justering(request, meeting_id, message=stale, status=400)
    await run_in_threadpool(
        lambda: minutes_pages.approve(
            app,
            session.person,
            shown,
            revision,
            via=session.method,
            signed_in_at=session.created_at,
            read_sha256=read,
        )
    )
    _log(request, "minutes-justera", meeting_id)
    return RedirectResponse(f"/moten/{meeting_id}/justering?justerat=1", status_code=303)


@route("POST", "/moten/{meeting_id:int}/justering/andring", SIGNED_IN)
async def justering_change(request: Request, meeting_id: int) -> Response:
    """The justerare asks the förbundschef for a change, with a comment."""
    app, person = finsam(request), _person(request)
    shown = await run_in_threadpool(minutes_pages.justering, app, person, meeting_id)
    form = await request.form()
    revision = _revision(form.get("revision"))
    comment = str(form.get("comment", "")).replace("\r\n", "\n").strip()
    if revision is None:
        raise UsageError("Formuläret saknade utkastets nummer.", "Ladda om sidan och försök igen.")
    stale = minutes_pages.stale(shown, revision)
    if stale:
        return _justering(request, meeting_id, message=stale, comment=comment, status=400)
    wrong = _comment_problem(comment)
    if wrong:
        return _justering(request, meeting_id, comment=comment, comment_error=wrong, status=400)
    await run_in_threadpool(minutes_pages.ask_change, app, person, shown, revision, comment)
    _log(request, "minutes-change-requested", meeting_id)
    return RedirectResponse(f"/moten/{meeting_id}/justering?andring=1", status_code=303)


def _comment_problem(comment: str) -> str | None:
    """What is wrong with a change request's comment, in Swedish (None: nothing)."""
    if not comment:
        return "Skriv vad som ska ändras. Kommentaren går till förbundschefen."
    if len(comment) > LIMITS["comment"]:
        return f"Kommentaren är {len(comment)} tecken lång; högst {LIMITS['comment']} får plats."
    return None
