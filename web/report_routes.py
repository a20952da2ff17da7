"""Reports in the browser: the project leader's page, a report's page with its form,
the förbundschef's review, and the report's file.

Routes call `workflow.reports.portal`, which decides who sees what (another
insats's or förbund's report answers 404) and acts through the services the CLI
uses, with channel "web" in the audit row. A report's form is one multipart POST
with two buttons: "Spara utkast" keeps it as typed, "Lämna in" checks every
figure (each refusal shown at its field, in Swedish, nothing stored) and hands
it in with the file sent now, or the one saved before.
"""

from __future__ import annotations

import os
import re
from typing import Any

from fastapi import Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from web.guard import SIGNED_IN, finsam, visitor
from web.responses import page
from web.routes import route
from workflow.core import paging
from workflow.core.exceptions import UsageError
from workflow.forbund.file import KEY_PATTERN
from workflow.identity import reporting as portal
from workflow.identity.people import Person
from workflow.identity.reporting import FormRefused, Upload
from workflow.reports.files import FileRefused

FIELD = "f_"  # a figure's form field: f_<key>
INLINE = ("application/pdf", "text/plain", "text/csv")  # opened in the browser
_KEY = re.compile(KEY_PATTERN, re.ASCII)  # a förbund's key, as its file may name it


def _person(request: Request) -> Person:
    person = visitor(request).person
    assert person is not None  # the guard let only a person in
    return person


def _log(request: Request, event: str, **fields: Any) -> None:
    request.app.state.log(event, channel="web", person=_person(request).email, **fields)


@route("GET", "/rapporter", SIGNED_IN)
def reports_home(request: Request) -> Response:
    """My insatser's reports (a project leader's), and the reports I review (a chef's):
    each förbund's reports waiting for review a page at a time, the newest first;
    "Äldre inlämnade rapporter" links to that förbund's next page
    (`?forbund=KEY&fore=DATE:ID`, the last one shown), the other förbund on their first."""
    app, person = finsam(request), _person(request)
    older = _older(request.query_params.get("forbund"), request.query_params.get("fore"))
    context = {"mine": portal.mine(app, person), "incoming": portal.incoming(app, person, older)}
    return page(request, "reports/mine.html", context)


def _older(forbund: str | None, fore: str | None) -> portal.Waiting | None:
    """`?forbund=&fore=` as the page's link gives them (both or neither); anything else is
    refused in Swedish. A förbund the person does not review is the portal's NotFound."""
    if forbund is None and fore is None:
        return None
    refused = UsageError(
        "Länken till äldre inlämnade rapporter gick inte att läsa.",
        "Börja om från de nyaste rapporterna på /rapporter.",
    )
    if forbund is None or fore is None or len(forbund) > 64 or not _KEY.fullmatch(forbund):
        raise refused
    try:
        return forbund, paging.parse_date_cursor(fore, "fore")
    except UsageError:
        raise refused from None


@route("GET", "/rapporter/{obligation_id:int}", SIGNED_IN)
def report_page(request: Request, obligation_id: int) -> Response:
    shown = portal.page(finsam(request), _person(request), obligation_id)
    context = {"r": shown, "saved": request.query_params, "errors": {}}
    return page(request, "reports/report.html", context)


@route("POST", "/rapporter/{obligation_id:int}", SIGNED_IN)
async def report_post(request: Request, obligation_id: int) -> Response:
    """Save the draft, or hand the report in."""
    app, person = finsam(request), _person(request)
    await run_in_threadpool(portal.visible, app, person, obligation_id)
    form = await request.form()
    action = str(form.get("action", ""))
    if action not in ("utkast", "lamna"):
        raise UsageError(
            "Formuläret sade inte vad som skulle göras.", "Tryck på Lämna in eller Spara utkast."
        )
    typed = {
        k[len(FIELD) :]: str(v)
        for k, v in form.multi_items()
        if k.startswith(FIELD) and isinstance(v, str)
    }
    upload = form.get("file")
    try:
        with _opened(upload) as given:
            if action == "utkast":
                await run_in_threadpool(portal.save_draft, app, person, obligation_id, typed, given)
            else:
                await run_in_threadpool(portal.submit, app, person, obligation_id, typed, given)
    except FormRefused as refused:
        return await _again(request, obligation_id, refused.typed, refused.errors)
    except FileRefused as refused:  # the file's type or size: said at the file's field
        return await _again(request, obligation_id, typed, {"file": refused.swedish})
    _log(
        request,
        "report-draft" if action == "utkast" else "report-submit",
        item=f"obligation:{obligation_id}",
    )
    done = "sparat" if action == "utkast" else "inlamnad"
    return RedirectResponse(f"/rapporter/{obligation_id}?{done}=1", status_code=303)


async def _again(
    request: Request, obligation_id: int, typed: dict[str, str], errors: dict[str, str]
) -> Response:
    """The form shown again as typed, each refusal at its field; nothing was stored."""
    app, person = finsam(request), _person(request)
    shown = await run_in_threadpool(portal.page, app, person, obligation_id, typed, errors)
    context = {"r": shown, "saved": {}, "errors": errors}
    return page(request, "reports/report.html", context, status=400)


class _opened:
    """The upload as an open file descriptor for the service (None when no file was
    chosen): the spooled upload put on disk, read from its start."""

    def __init__(self, upload: object) -> None:
        self.upload = upload if isinstance(upload, UploadFile) and upload.filename else None

    def __enter__(self) -> Upload | None:
        if self.upload is None:
            return None
        f: Any = self.upload.file
        if hasattr(f, "rollover"):
            f.rollover()  # a small upload lives in memory: give it a descriptor
        f.flush()
        fd = f.fileno()
        os.lseek(fd, 0, os.SEEK_SET)
        name = (self.upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        return Upload(fd, name)

    def __exit__(self, *exc: object) -> None:
        return None


@route("POST", "/rapporter/{obligation_id:int}/beslut", SIGNED_IN)
async def report_decide(request: Request, obligation_id: int) -> Response:
    """The förbundschef approves the report, or returns it with a comment."""
    app, person = finsam(request), _person(request)
    await run_in_threadpool(portal.visible, app, person, obligation_id)
    form = await request.form()
    action = {"godkann": "approve", "returnera": "return"}.get(str(form.get("action", "")))
    if action is None:
        raise UsageError("Inget beslut valdes.", "Tryck på Godkänn eller Returnera.")
    comment = str(form.get("comment", "")).strip() or None
    if action == "return" and not comment:
        raise UsageError(
            "Skriv vad som ska kompletteras innan rapporten returneras.",
            "Kommentaren går till projektledaren i mejlet om kompletteringen.",
        )
    await run_in_threadpool(portal.decide, app, person, obligation_id, action, comment)
    _log(request, f"report-{action}", item=f"obligation:{obligation_id}")
    return RedirectResponse(f"/rapporter/{obligation_id}?{action}=1", status_code=303)


@route("GET", "/rapporter/{obligation_id:int}/fil", SIGNED_IN)
def report_file(request: Request, obligation_id: int) -> Response:
    """The report's file as handed in: a PDF or text opens in the browser, others download."""
    return _file(request, obligation_id, draft=False)


@route("GET", "/rapporter/{obligation_id:int}/utkast/fil", SIGNED_IN)
def report_draft_file(request: Request, obligation_id: int) -> Response:
    """The draft's file, for its project people only."""
    return _file(request, obligation_id, draft=True)


def _file(request: Request, obligation_id: int, draft: bool) -> Response:
    found = portal.file_of(finsam(request), _person(request), obligation_id, draft)
    media = found.mime.split(";")[0]
    inline = media in INLINE
    return FileResponse(
        found.path,
        media_type=found.mime,
        filename=found.name,
        content_disposition_type="inline" if inline else "attachment",
    )
