"""Plans in the browser: the list, a plan's page, the diff, an action, an upload.

Every route calls the services the CLI calls (`workflow.plans`), through
`tenancy` so that another förbund's plan answers 404, and passes `channel="web"`
so the audit row says where the change came from. An upload is checked and shown
first (`forms.preview`); the page's "Spara" form carries the text back in a
hidden field, so no server-side stash has to be kept, shared between processes
or expired, and the save runs every check again. A stale `version` is the
service's ConflictError: a 409 page naming who moved the plan, nothing written.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from notifications.render import markdown_html, tkr
from web.guard import SIGNED_IN, finsam, visitor
from web.responses import page
from web.routes import route
from workflow.core import paging
from workflow.core.exceptions import NotFound, UsageError
from workflow.core.files import MAX_PLAN_FILE
from workflow.identity import tenancy
from workflow.identity.people import Person
from workflow.plans import documents
from workflow.plans import forms as plan_forms
from workflow.plans import services as plans
from workflow.plans.content import MARKDOWN, PLAN, Content

WEB = "web"


def _person(request: Request) -> Person:
    person = visitor(request).person
    assert person is not None  # the guard let only a person in
    return person


def _log(request: Request, event: str, **fields: Any) -> None:
    request.app.state.log(event, channel=WEB, person=_person(request).email, **fields)


# ---------------------------------------------------------------- reading


@route("GET", "/plans", SIGNED_IN)
def plan_list(request: Request) -> Response:
    """The plans of my förbund, the newest year first, a page at a time: "Äldre planer"
    links to the next page (`?fore=YEAR:ID`, the last plan shown), as `plan list
    --before` does; a page is one query, however long the history."""
    app, person = finsam(request), _person(request)
    before = _fore(request.query_params.get("fore"))
    shown = tenancy.my_plans(app, person, before)
    context = {
        "plans": shown["plans"],
        "older": None if shown["next"] is None else shown["next"]["before"],
        "newest": before is None,
        "names": {m.forbund_key: m.forbund_name for m in person.memberships},
    }
    return page(request, "plans/list.html", context)


def _fore(value: str | None) -> tuple[int, int] | None:
    """`?fore=` as the page's link gives it; anything else is refused in Swedish."""
    if value is None:
        return None
    try:
        return paging.parse_year_cursor(value, "fore")
    except UsageError:
        raise UsageError(
            "Länken till äldre planer gick inte att läsa.",
            "Börja om från de nyaste planerna på /plans.",
        ) from None


@route("GET", "/plans/{plan_id:int}", SIGNED_IN)
def plan_page(request: Request, plan_id: int) -> Response:
    """The plan: its facts, the forms of the actions open to me, the rendered content,
    the economy check, its revisions and its history in its förbund's own chain."""
    app, person = finsam(request), _person(request)
    plan = tenancy.plan(app, person, plan_id)
    loaded = documents.load_stored(app, plan_id)
    report = documents.report_of(loaded)
    history = plans.history_in_forbund(app, plan_id)
    context = {
        "plan": plan,
        "forms": plan_forms.action_forms(app, plan_id, person.email),
        "document": _document(loaded),
        "errors": [f.message for f in report.errors],
        "warnings": [f.message for f in report.warnings],
        "has_budget": report.has_budget,
        "history": history,
        "may_upload": _may_edit(person, plan["forbund"]),
        "max_mb": MAX_PLAN_FILE // 1_000_000,
    }
    return page(request, "plans/show.html", context)


def _document(loaded: documents.Loaded) -> dict[str, Any]:
    """The renderer's data (`plan render`'s), each section's Markdown as the renderer's
    own HTML (markdown-it with raw HTML off: every tag the text holds is escaped) and
    each amount formatted, for the page's own classes (the CSP allows no inline style)."""
    doc: dict[str, Any] = dict(documents.document(loaded))
    doc["sections"] = [
        {**s, "html": Markup(markdown_html(str(s.get("text") or "")))} for s in doc["sections"]
    ]
    doc["tkr"] = tkr
    return doc


def _may_edit(person: Person, forbund_key: str) -> bool:
    """Whether to offer the upload: the förbund file's editors (the service decides)."""
    for m in person.memberships:
        if m.forbund_key == forbund_key:
            return any(person.holds(spec, forbund_key) for spec in m.cfg.editors)
    return False


@route("GET", "/plans/{plan_id:int}/diff", SIGNED_IN)
def plan_diff(request: Request, plan_id: int) -> Response:
    """`plan diff`: two revisions (`from`, `to`; the last two by default)."""
    app, person = finsam(request), _person(request)
    plan = tenancy.plan(app, person, plan_id)
    given = {k: request.query_params.get(k, "").strip() for k in ("from", "to")}
    numbers = {k: _revision_number(v, k) for k, v in given.items()}
    if plan["revision"] < 2 and numbers["from"] is None and numbers["to"] is None:
        return page(request, "plans/diff.html", {"plan": plan, "diff": None})
    found = documents.diff(app, plan_id, numbers["from"], numbers["to"])
    return page(request, "plans/diff.html", {"plan": plan, "diff": found})


def _revision_number(value: str, name: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise UsageError(f"{name}={value!r} is not a revision number", "give e.g. from=1&to=2")
    return int(value)


# ---------------------------------------------------------------- acting


@route("POST", "/plans/{plan_id:int}/act", SIGNED_IN)
def plan_act(
    request: Request,
    plan_id: int,
    action: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    meeting: Annotated[str, Form()] = "",
    paragraph: Annotated[str, Form()] = "",
) -> Response:
    """One workflow action, on the version the form showed; the service decides."""
    app, person = finsam(request), _person(request)
    tenancy.plan(app, person, plan_id)
    if not action.strip():
        raise UsageError("no action was chosen", "choose an action on the plan's page")
    moved = plans.move(
        app,
        plan_id,
        action.strip(),
        actor_email=person.email,
        comment=comment.strip() or None,
        meeting=_whole(meeting, "meeting"),
        paragraph=paragraph.strip() or None,
        expected_version=_whole(version, "version"),
        channel=WEB,
    )
    _log(request, "plan-move", item=f"plan:{plan_id}", action=moved["action"], to=moved["to"])
    return RedirectResponse(f"/plans/{plan_id}", status_code=303)


def _whole(value: str, name: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise UsageError(f"{name} {value!r} is not a whole number", "reload the page and try again")
    return int(value)


# ---------------------------------------------------------------- uploading


@route("GET", "/plans/new", SIGNED_IN)
def plan_new(request: Request) -> Response:
    person = _person(request)
    mine = [m for m in person.memberships if _may_edit(person, m.forbund_key)]
    return page(
        request, "plans/new.html", {"memberships": mine, "max_mb": MAX_PLAN_FILE // 1_000_000}
    )


@route("POST", "/plans/preview", SIGNED_IN)
async def plan_preview(
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
    forbund: Annotated[str, Form()] = "",
    plan: Annotated[str, Form()] = "",
) -> Response:
    """The uploaded file checked as the CLI checks it, shown with a "Spara" form;
    nothing is stored. Read at most one byte beyond the cap, so a huge upload is
    refused without holding it."""
    if file is None or not file.filename:
        raise UsageError("no file was uploaded", "choose a plan file (.toml) or Markdown (.md)")
    data = await file.read(MAX_PLAN_FILE + 1)
    return await run_in_threadpool(_preview_page, request, data, file.filename, forbund, plan)


def _preview_page(
    request: Request, data: bytes, filename: str, forbund: str, plan: str
) -> Response:
    app, person = finsam(request), _person(request)
    plan_id = _whole(plan, "plan")
    version = None
    if plan_id is not None:
        shown_plan = tenancy.plan(app, person, plan_id)
        forbund, version = shown_plan["forbund"], shown_plan["version"]
    forbund = _my_forbund(person, forbund)
    content = plan_forms.content_of_upload(data, filename)
    shown = plan_forms.preview(app, forbund, content, filename, plan_id)
    context = {"preview": shown, "forbund": forbund, "plan_id": plan_id, "version": version}
    return page(request, "plans/preview.html", context, status=200 if shown.ok else 400)


def _my_forbund(person: Person, key: str) -> str:
    """The förbund named (or the person's only one); another förbund is unknown (404)."""
    key = key.strip()
    if not key and len(person.memberships) == 1:
        return person.memberships[0].forbund_key
    if not key:
        raise UsageError("which förbund is the plan for?", "choose the förbund in the form")
    if key not in person.forbund_keys:
        raise NotFound(f"unknown förbund {key!r}")
    return key


@route("POST", "/plans/save", SIGNED_IN)
def plan_save(
    request: Request,
    content: Annotated[str, Form()] = "",
    content_format: Annotated[str, Form(alias="format")] = "",
    filename: Annotated[str, Form()] = "",
    forbund: Annotated[str, Form()] = "",
    plan: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Store the previewed text: a new plan, or a new revision of `plan` (on the
    version the preview showed). Every check runs again in the service."""
    app, person = finsam(request), _person(request)
    if content_format not in (PLAN, MARKDOWN) or not content:
        raise UsageError("the form held no plan text", "upload the file again")
    if len(content.encode()) > MAX_PLAN_FILE:
        raise UsageError(f"the plan text is larger than {MAX_PLAN_FILE // 1_000_000} MB")
    # the browser sends line breaks as CRLF; the file had what it had
    text = Content(content.replace("\r\n", "\n"), content_format)
    source = filename.strip()[:200] or "the uploaded file"
    plan_id = _whole(plan, "plan")
    if plan_id is None:
        created = plans.create(
            app,
            forbund_key=_my_forbund(person, forbund),
            year=None,
            last_year=None,
            title=None,
            actor_email=person.email,
            content=text,
            source=source,
            channel=WEB,
        )
        plan_id = created["id"]
        _log(request, "plan-create", item=f"plan:{plan_id}")
    else:
        tenancy.plan(app, person, plan_id)
        plans.revise(
            app,
            plan_id,
            text,
            actor_email=person.email,
            comment=comment.strip() or None,
            source=source,
            expected_version=_whole(version, "version"),
            channel=WEB,
        )
        _log(request, "plan-revise", item=f"plan:{plan_id}")
    return RedirectResponse(f"/plans/{plan_id}", status_code=303)
