"""What a plan's forms in the browser offer, and a plan file checked before it is saved.

The web shows a form per action the person may take now, with the meetings of
the action's body that have begun (newest first, the one the plan waits on
chosen) and the § its agenda gives the plan; and, for an uploaded plan file, the
same checks `plan create --from` and `plan revise` make, with the economy check's
findings, before anything is stored. Deciding stays with `services.move`,
`create` and `revise`: these only say what to offer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import UsageError
from workflow.core.files import MAX_PLAN_FILE
from workflow.core.models import Forbund, Meeting, Plan
from workflow.core.uow import read
from workflow.cycle import placement
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.plans.budget import check
from workflow.plans.content import MARKDOWN, PLAN, Content, as_plan
from workflow.plans.plan_file import PlanFileError, parse_plan

MEETINGS_OFFERED = 8  # the body's latest meetings that have begun, in the form's list


@dataclass(frozen=True)
class MeetingChoice:
    id: int
    label: str  # "2027-09-06 11:00 Presidiet"


@dataclass(frozen=True)
class ActionForm:
    """One action open to the person: the form's fields and what to prefill."""

    action: str
    label: str
    kind: str
    body: str | None
    body_name: str | None
    meetings: list[MeetingChoice] = field(default_factory=list)
    chosen: int | None = None  # the meeting the plan waits on, once it has begun
    paragraph: str | None = None  # the § of the plan's item on that meeting's agenda


def action_forms(app: App, plan_id: int, email: str) -> list[ActionForm]:
    """The actions the person's roles allow from the plan's state (empty when none).

    Whether an action is really allowed (guards, the budget, the meeting) is the
    service's to say when it is taken; this only leaves out actions of roles the
    person does not hold."""
    now = app.clock.now()
    with read(app) as uow:
        s = uow.session
        plan = s.get(Plan, plan_id)
        if plan is None:
            return []
        cfg = _config(s, plan)
        actor = cfg.actor(email)
        if actor is None:
            return []
        forms = []
        for act in cfg.workflow_def.actions_from(plan.state):
            if actor.matching(tuple(act.roles)) is None:
                continue
            forms.append(_form(s, cfg, plan, act.name, act.label, act.kind, act.body, now))
        return forms


def _config(s: Session, plan: Plan) -> ForbundFile:
    row = s.get(Forbund, plan.forbund_id)
    assert row is not None
    return forbunds.config_of(row)


def _form(
    s: Session,
    cfg: ForbundFile,
    plan: Plan,
    action: str,
    label: str,
    kind: str,
    body: str | None,
    now: datetime,
) -> ActionForm:
    if body is None:
        return ActionForm(action, label, kind, None, None)
    body_name = next((b.name for b in cfg.bodies if b.key == body), body)
    begun = _latest_begun(s, plan.forbund_id, body, now)
    held = placement.held_meeting(s, plan, body, now)
    chosen = held or (begun[0] if begun else None)
    paragraph = None
    if chosen is not None and kind == "decision":
        paragraph = placement.paragraph_for(s, chosen, plan.id, cfg)
    return ActionForm(
        action,
        label,
        kind,
        body,
        body_name,
        [MeetingChoice(m.id, _label(m, cfg)) for m in begun],
        chosen.id if chosen is not None else None,
        paragraph,
    )


def _latest_begun(s: Session, forbund_id: int, body: str, now: datetime) -> list[Meeting]:
    """The body's planned meetings (its own and those it holds jointly) that have begun,
    newest first, at most MEETINGS_OFFERED: read newest first and stopped there, so
    the years of meetings behind them are never fetched."""
    query = (
        sa.select(Meeting)
        .where(
            Meeting.forbund_id == forbund_id,
            Meeting.status == "planned",
            Meeting.starts_at <= now,
        )
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .execution_options(yield_per=MEETINGS_OFFERED * 4)
    )
    found: list[Meeting] = []
    rows = s.scalars(query)
    try:
        for m in rows:
            if m.body == body or body in (m.joint_with or []):
                found.append(m)
                if len(found) == MEETINGS_OFFERED:
                    break
    finally:
        rows.close()
    return found


def _label(m: Meeting, cfg: ForbundFile) -> str:
    names = {b.key: b.name for b in cfg.bodies}
    when = m.starts_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    return f"{when} {names.get(m.body, m.body)}" + (f" ({m.theme})" if m.theme else "")


# ---------------------------------------------------------------- an uploaded plan file


@dataclass(frozen=True)
class Preview:
    """An uploaded file as `plan create --from` / `plan revise` would take it."""

    content: Content
    filename: str
    year: int | None
    last_year: int | None
    title: str | None
    refusal: str | None  # why saving it would be refused (the years), or None
    errors: list[str]  # the economy check's: saving is allowed, submitting is not
    warnings: list[str]
    has_budget: bool

    @property
    def ok(self) -> bool:
        return self.refusal is None


def content_of_upload(data: bytes, filename: str) -> Content:
    """The text of an uploaded file: a plan file (.toml) or Markdown, at most
    `MAX_PLAN_FILE` bytes of UTF-8, TOML not nested too deeply (as `read_content`)."""
    # start-up: the nesting check is only needed for uploads
    from workflow.core import toml_input

    name = filename or "the uploaded file"
    if len(data) > MAX_PLAN_FILE:
        raise UsageError(
            f"{name} is larger than {MAX_PLAN_FILE // 1_000_000} MB",
            "a plan file or its Markdown text is far smaller; check that it is the right file",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            f"{name} is not UTF-8 text", "upload the plan file (.toml) or Markdown text (.md)"
        ) from None
    kind = PLAN if name.lower().endswith(".toml") else MARKDOWN
    if kind == PLAN:
        toml_input.check_nesting(text, name, PlanFileError)
    return Content(text, kind)


def preview(
    app: App, forbund_key: str, content: Content, filename: str, plan_id: int | None = None
) -> Preview:
    """The checks the services make, without storing anything: parse the plan file
    (or take the Markdown as it is), the years against the plan's when it is a new
    revision, and the economy check. A refusal of the file is a UsageError."""
    with read(app) as uow:
        s = uow.session
        cfg = forbunds.config_of(forbunds.resolve(s, forbund_key))
        plan = s.get(Plan, plan_id) if plan_id is not None else None
    source = filename or "the uploaded file"
    if content.format == PLAN:
        parsed = parse_plan(content.text, source, cfg)
        year, last_year, title = parsed.plan.year, parsed.plan.last_year, parsed.title
    elif plan is not None:
        parsed = as_plan(content, source, cfg, year=plan.year, title=plan.title)
        year, last_year, title = plan.year, plan.last_year, None
    else:
        raise UsageError(
            f"{source}: a new plan from Markdown needs its year",
            "upload the plan file (.toml), which names its year, or create the plan first "
            "with 'finsam plan create --year YEAR'",
        )
    refusal = None
    if plan is not None and (year, last_year or year) != (plan.year, plan.last_year):
        refusal = f"{source}: the plan file is for {year}, the plan for {plan.year}" + (
            f"–{plan.last_year}" if plan.last_year != plan.year else ""
        )
    report = check(parsed, cfg)
    return Preview(
        content=content,
        filename=source,
        year=year,
        last_year=last_year,
        title=title,
        refusal=refusal,
        errors=[f.message for f in report.errors],
        warnings=[f.message for f in report.warnings],
        has_budget=report.has_budget,
    )
