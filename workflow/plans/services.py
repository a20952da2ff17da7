"""Plan services: create, edit a draft, move through the workflow, show, list, history.

Every change is one transaction holding the state change, its audit row and any
new revision, and the change is a compare-and-set on the plan's state and
version: a writer that read a stale plan gets a ConflictError, never a silent
overwrite. A writer that only lost the race for the audit chain's head (another
plan changed at the same moment) retries by itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.definition import WorkflowDef
from states.events import PlanArrived
from states.machine import Move, PlanFacts, Refusal, Transition, decide, describe_open
from states.machine import follows_recommendations as follows
from states.roles import Actor, RoleSpec, describe_specs
from workflow.core import audit, paging
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ, local_today
from workflow.core.exceptions import ConflictError, NotAllowed, NotFound, UsageError
from workflow.core.models import AuditEvent, Forbund, Plan, Revision
from workflow.core.text import multi_line, optional_line, optional_text
from workflow.core.uow import Retry, UnitOfWork, read, write
from workflow.core.views import AuditEventView
from workflow.cycle import papers as meeting_docs
from workflow.cycle import placement as plan_meetings
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.plans.budget import Report, check
from workflow.plans.content import MARKDOWN, PLAN, Content, revision_plan, validate_for
from workflow.plans.plan_file import parse_plan
from workflow.plans.views import (
    OpenAction,
    PlanDetail,
    PlanEdited,
    PlanMoved,
    PlanRevised,
    PlanTransition,
    PlanView,
)

MAX_PLAN_YEARS = 5
T = TypeVar("T")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class _Ctx:
    uow: UnitOfWork
    plan: Plan
    forbund: Forbund
    cfg: ForbundFile
    revision: Revision
    channel: str = "cli"  # the front door of the change, for its audit row

    @property
    def session(self) -> Session:
        return self.uow.session


# ---------------------------------------------------------------- reading


def _plan(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        known = ", ".join(str(i) for i in session.scalars(sa.select(Plan.id).order_by(Plan.id)))
        raise NotFound(f"unknown plan {plan_id}", f"plans in this database: {known or 'none yet'}")
    return plan


def _revision(session: Session, plan: Plan, number: int | None = None) -> Revision:
    number = plan.revision if number is None else number
    return session.scalars(
        sa.select(Revision).where(Revision.plan_id == plan.id, Revision.number == number)
    ).one()


def _context(uow: UnitOfWork, plan_id: int) -> _Ctx:
    s = uow.session
    plan = _plan(s, plan_id)
    row = s.get(Forbund, plan.forbund_id)
    assert row is not None
    return _Ctx(uow, plan, row, forbunds.config_of(row), _revision(s, plan))


def _events(session: Session, plan_id: int) -> list[AuditEvent]:
    return list(
        session.scalars(
            sa.select(AuditEvent).where(AuditEvent.plan_id == plan_id).order_by(AuditEvent.seq)
        )
    )


def _facts(ctx: _Ctx, events: list[AuditEvent], report: Report) -> PlanFacts:
    adopted = frozenset(e.revision for e in events if e.kind == "decision" and e.outcome == "adopt")
    return PlanFacts(
        state=ctx.plan.state,
        revision=ctx.plan.revision,
        revision_frozen=ctx.revision.frozen_at is not None,
        has_content=bool(ctx.revision.content.strip()),
        adopted_revisions=adopted,
        has_budget=report.has_budget,
        economy_errors=tuple(f.message for f in report.errors),
    )


# ---------------------------------------------------------------- writing


def _with_retry(
    app: App,
    plan_id: int,
    expected_version: int | None,
    work: Callable[[_Ctx], T],
    channel: str = "cli",
) -> T:
    """Run `work` on the plan under the write path's retry rule.

    The version the caller acted on is fixed at the first attempt: a retry that
    finds the plan changed since is a conflict (exit 3, naming who changed it),
    while a race only for the audit chain's head or SQLite's lock is retried.
    """
    expected: list[int | None] = [expected_version]

    def attempt(uow: UnitOfWork) -> T:
        ctx = _context(uow, plan_id)
        ctx.channel = channel
        if expected[0] is None:
            expected[0] = ctx.plan.version
        if ctx.plan.version != expected[0]:
            raise _conflict(uow.session, ctx.plan, expected[0])
        return work(ctx)

    return write(app, attempt)


def _conflict(session: Session, plan: Plan, expected: int) -> ConflictError:
    session.rollback()
    session.expire_all()
    current = session.get(Plan, plan.id)
    assert current is not None
    last = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.plan_id == plan.id).order_by(AuditEvent.seq.desc())
    ).first()
    by = f" by {last.actor_name} ({last.action})" if last else ""
    return ConflictError(
        f"plan {plan.id} was changed by someone else{by}: you acted on version {expected}, "
        f"it is now version {current.version} in state {current.state!r}; nothing was written",
        f"look at 'finsam plan show {plan.id}' and try again",
    )


def _compare_and_set(ctx: _Ctx, now: datetime, state: str, revision: int, **extra: Any) -> None:
    result = ctx.session.execute(
        sa.update(Plan)
        .where(
            Plan.id == ctx.plan.id, Plan.version == ctx.plan.version, Plan.state == ctx.plan.state
        )
        .values(state=state, revision=revision, version=Plan.version + 1, updated_at=now, **extra)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Retry()


def _audit(ctx: _Ctx, now: datetime, actor: Actor, role: RoleSpec, **fields: Any) -> AuditEvent:
    return audit.append(
        ctx.session,
        at=now,
        forbund_key=ctx.forbund.key,
        plan_id=ctx.plan.id,
        plan_year=ctx.plan.year,
        actor_email=actor.email,
        actor_name=actor.name,
        actor_role=str(role),
        channel=ctx.channel,
        **fields,
    )


# ---------------------------------------------------------------- what people hand in


def _checked(content: Content | None, source: str) -> Content | None:
    """The content unchanged, or a UsageError: Markdown holds lines of visible text only.

    A plan file's fields are checked by its parser; free Markdown is checked
    here as a whole (newlines and tabs, no other control characters), since it
    is stored and shown as it is.
    """
    if content is not None and content.format == MARKDOWN:
        multi_line(content.text, source, "markdown")
    return content


# ---------------------------------------------------------------- services


def create(
    app: App,
    *,
    forbund_key: str | None,
    year: int | None,
    last_year: int | None,
    title: str | None,
    actor_email: str | None,
    content: Content | None = None,
    source: str = "the plan file",
    channel: str = "cli",
) -> PlanView:
    """A new plan in the workflow's first state; its year may come from a plan file."""
    title = optional_line(title, "title", "title")
    content = _checked(content, source) or Content("", MARKDOWN)
    if year is None:
        if content.format != PLAN:
            raise UsageError("which year is the plan for?", "give --year YEAR or --from FILE")
        meta = parse_plan(content.text, source).plan
        year, last_year = meta.year, meta.last_year
    last_year = year if last_year is None else last_year
    if not 2000 <= year <= 2100:
        raise UsageError(f"year {year} is out of range", "give the plan's year, e.g. --year 2027")
    if not year <= last_year < year + MAX_PLAN_YEARS:
        raise UsageError(
            f"--until {last_year} does not fit a plan for {year}",
            f"a plan covers {year} up to {year + MAX_PLAN_YEARS - 1} at most",
        )
    now = app.clock.now()

    def work(uow: UnitOfWork) -> PlanView:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        cfg = forbunds.config_of(row)
        who = forbunds.actor(cfg, actor_email)
        role = forbunds.require_editor(cfg, who, "create plans")
        parsed = validate_for(content, source, cfg, year, last_year)
        existing = s.scalars(
            sa.select(Plan).where(Plan.forbund_id == row.id, Plan.year == year)
        ).first()
        if existing is not None:
            raise UsageError(
                f"{row.name} already has a plan for {year} (plan {existing.id}, "
                f"state {existing.state!r})",
                f"work on it with 'finsam plan show {existing.id}'; an adopted plan is changed "
                "with the 'revise' action",
            )
        years = f"{year}" if last_year == year else f"{year}–{last_year}"
        named = title or (parsed.title if parsed else f"Verksamhetsplan och budget {years}")
        initial = cfg.workflow_def.initial
        plan = Plan(
            forbund_id=row.id,
            year=year,
            last_year=last_year,
            title=named,
            state=initial,
            revision=1,
            version=1,
            created_at=now,
            updated_at=now,
        )
        s.add(plan)
        s.flush()
        revision = Revision(
            plan_id=plan.id,
            number=1,
            title=named,
            content=content.text,
            content_format=content.format,
            content_sha256=sha256_text(content.text),
            created_at=now,
        )
        s.add(revision)
        s.flush()
        ctx = _Ctx(uow, plan, row, cfg, revision, channel)
        _audit(
            ctx,
            now,
            who,
            role,
            revision=1,
            action="create",
            kind="create",
            from_state=None,
            to_state=initial,
            content_sha256=revision.content_sha256,
        )
        return _plan_dict(plan, row, cfg)

    return write(app, work)


def edit(
    app: App,
    plan_id: int,
    *,
    actor_email: str | None,
    title: str | None = None,
    content: Content | None = None,
    expected_version: int | None = None,
    source: str = "the plan file",
    channel: str = "cli",
) -> PlanEdited:
    """Change the draft revision; a revision that has left draft is frozen."""
    if title is None and content is None:
        raise UsageError("nothing to change", "give --title TEXT and/or --file PATH")
    title = optional_line(title, "title", "title")
    content = _checked(content, source)

    def work(ctx: _Ctx) -> PlanEdited:
        now = app.clock.now()
        who = forbunds.actor(ctx.cfg, actor_email)
        role = forbunds.require_editor(ctx.cfg, who, "edit plans")
        state = ctx.cfg.workflow_def.states[ctx.plan.state]
        if not state.editable or ctx.revision.frozen_at is not None:
            raise NotAllowed(
                f"revision {ctx.revision.number} of plan {ctx.plan.id} is frozen: the plan is "
                f"in state {ctx.plan.state!r} and its content can no longer change",
                "a change needs a new revision: the board's send-back (återremiss) or the "
                f"'revise' action opens one. Open now: "
                f"{describe_open(ctx.cfg.workflow_def.actions_from(ctx.plan.state))}",
            )
        if title is not None:
            ctx.revision.title = title
        if content is not None:
            validate_for(content, source, ctx.cfg, ctx.plan.year, ctx.plan.last_year)
            ctx.revision.content = content.text
            ctx.revision.content_format = content.format
            ctx.revision.content_sha256 = sha256_text(content.text)
        ctx.session.add(ctx.revision)
        ctx.session.flush()
        extra = {"title": title} if title is not None else {}
        _compare_and_set(ctx, now, ctx.plan.state, ctx.plan.revision, **extra)
        _audit(
            ctx,
            now,
            who,
            role,
            revision=ctx.revision.number,
            action="edit",
            kind="edit",
            from_state=ctx.plan.state,
            to_state=ctx.plan.state,
            content_sha256=ctx.revision.content_sha256,
        )
        return {
            "plan": ctx.plan.id,
            "revision": ctx.revision.number,
            "content_sha256": ctx.revision.content_sha256,
        }

    return _with_retry(app, plan_id, expected_version, work, channel)


def move(
    app: App,
    plan_id: int,
    action: str,
    *,
    actor_email: str | None,
    comment: str | None = None,
    meeting: date | int | None = None,
    paragraph: str | None = None,
    target: str | None = None,
    expected_version: int | None = None,
    channel: str = "cli",
) -> PlanMoved:
    """Take a workflow action; the comment may hold lines, the § and the target one line each."""
    comment = optional_text(comment, "comment", "comment")
    paragraph = optional_line(paragraph, "paragraph", "line")
    target = optional_line(target, "target", "key")

    def work(ctx: _Ctx) -> PlanMoved:
        now = app.clock.now()
        who = forbunds.actor(ctx.cfg, actor_email)
        events = _events(ctx.session, ctx.plan.id)
        held, day, para = _meeting_of_action(ctx, action, meeting, paragraph, now)
        request = Move(
            action=action,
            actor=who,
            today=local_today(app.clock),
            comment=comment,
            meeting=day,
            paragraph=para,
            target=target,
        )
        report = check(revision_plan(ctx.plan, ctx.revision, ctx.cfg), ctx.cfg)
        verdict = decide(ctx.cfg.workflow_def, _facts(ctx, events, report), request)
        if isinstance(verdict, Refusal):
            raise NotAllowed(f"plan {ctx.plan.id}: {verdict.message}")
        # the warnings and the meetings are added below
        result = cast(PlanMoved, _carry_out(ctx, now, who, verdict, events, comment, day, para))
        result["warnings"] = [f.message for f in report.warnings]
        _on_the_calendar(ctx, verdict, held, para, result, now)
        return result

    return _with_retry(app, plan_id, expected_version, work, channel)


def _meeting_of_action(
    ctx: _Ctx, action: str, meeting: date | int | None, paragraph: str | None, now: datetime
) -> tuple[Any, date | None, str | None]:
    """The meeting a body's action was taken at, its date, and (for a decision) its §.

    Without --meeting, the meeting the plan was put on counts once it has begun;
    without --paragraph, a decision gets the § of the plan's item on that agenda.
    A date given must be a meeting of the body that has begun, when the calendar
    of that year is kept here (see placement.named_meeting).
    """
    act = ctx.cfg.workflow_def.action(action, ctx.plan.state)
    if act is None or act.body is None:
        return None, meeting if isinstance(meeting, date) else None, paragraph
    if meeting is None:
        held = plan_meetings.held_meeting(ctx.session, ctx.plan, act.body, now)
    else:
        held = plan_meetings.named_meeting(
            ctx.session, ctx.cfg, ctx.plan.forbund_id, act.body, meeting, now
        )
    if held is not None and plan_meetings.justerat(ctx.session, held.id):
        raise UsageError(
            f"the protokoll of the meeting of {held.starts_at.astimezone(LOCAL_TZ).date()} is "
            "justerat: nothing more can be recorded as decided there",
            "record the decision at a later meeting: give --meeting DATE",
        )
    day = held.starts_at.astimezone(LOCAL_TZ).date() if held else None
    if held is None and isinstance(meeting, date):
        day = meeting  # a year whose calendar finsam does not keep: the date stands alone
    if held is not None and paragraph is None and act.kind == "decision":
        paragraph = plan_meetings.paragraph_for(ctx.session, held, ctx.plan.id, ctx.cfg)
    return held, day, paragraph


def _on_the_calendar(
    ctx: _Ctx,
    t: Transition,
    held: Any,
    paragraph: str | None,
    result: PlanMoved | PlanRevised,
    now: datetime,
) -> None:
    wf = ctx.cfg.workflow_def
    body = wf.states[t.to_state].body
    # the papers go out when the plan leaves draft: the first body needs its reading
    # time; bodies after it already have them (presidium and beredningsgrupp often
    # meet the same day)
    lead = ctx.cfg.cycle.prep_days if ctx.cfg.cycle and wf.states[t.from_state].editable else 0
    placed = plan_meetings.after_move(
        ctx.session,
        ctx.plan,
        ctx.cfg,
        action=t.action.name,
        meeting=held,
        paragraph=paragraph,
        audit_seq=result["audit_seq"],
        new_state_body=body,
        revision=t.new_revision or t.revision,
        state=t.to_state,
        now=now,
        lead_days=lead,
    )
    result["meeting"] = held.id if held is not None else None
    result["paragraph"] = paragraph
    if placed is not None and body is not None:
        ctx.uow.record(
            PlanArrived(
                forbund_id=ctx.forbund.id,
                plan_id=ctx.plan.id,
                audit_seq=result["audit_seq"],
                plan_title=ctx.revision.title,
                revision=t.new_revision or t.revision,
                meeting_id=placed.id,
                body=body,
                at=now,
            )
        )
    result["placed_on"] = (
        {"meeting": placed.id, "body": body, "starts_at": placed.starts_at.isoformat()}
        if placed
        else None
    )


def revise(
    app: App,
    plan_id: int,
    content: Content,
    *,
    actor_email: str | None,
    comment: str | None = None,
    source: str = "the plan file",
    expected_version: int | None = None,
    channel: str = "cli",
) -> PlanRevised:
    """Store content as a new revision.

    In an editable state the current revision is kept as it was and a new one
    follows it. Elsewhere the workflow's own action back to draft (normally
    'revise', with its guards and reason) is taken first, in the same
    transaction, so a file can never slip past the workflow.
    """
    comment = optional_text(comment, "comment", "comment")
    _checked(content, source)

    def work(ctx: _Ctx) -> PlanRevised:
        now = app.clock.now()
        who = forbunds.actor(ctx.cfg, actor_email)
        validate_for(content, source, ctx.cfg, ctx.plan.year, ctx.plan.last_year)
        wf = ctx.cfg.workflow_def
        # the new revision and its audit row are added below
        result: PlanRevised
        if wf.states[ctx.plan.state].editable:
            role = forbunds.require_editor(ctx.cfg, who, "revise plans")
            number = ctx.plan.revision + 1
            ctx.revision.frozen_at = ctx.revision.frozen_at or now
            ctx.session.add(ctx.revision)
            result = cast(
                PlanRevised,
                {
                    "plan": ctx.plan.id,
                    "action": "new-revision",
                    "from": ctx.plan.state,
                    "to": ctx.plan.state,
                    "revision": ctx.plan.revision,
                },
            )
            _add_revision(ctx, now, number, content)
            _compare_and_set(ctx, now, ctx.plan.state, number)
        else:
            action = _reopening_action(wf, ctx.plan.state)
            if action is None:
                raise NotAllowed(
                    f"plan {ctx.plan.id} is in state {ctx.plan.state!r}, where no action opens "
                    "a new revision",
                    f"Open now: {describe_open(wf.actions_from(ctx.plan.state))}",
                )
            events = _events(ctx.session, ctx.plan.id)
            report = check(revision_plan(ctx.plan, ctx.revision, ctx.cfg), ctx.cfg)
            request = Move(action=action, actor=who, today=local_today(app.clock), comment=comment)
            verdict = decide(wf, _facts(ctx, events, report), request)
            if isinstance(verdict, Refusal):
                raise NotAllowed(f"plan {ctx.plan.id}: {verdict.message}")
            result = cast(
                PlanRevised, _carry_out(ctx, now, who, verdict, events, comment, None, None)
            )
            _on_the_calendar(ctx, verdict, None, None, result, now)
            number = verdict.new_revision
            assert number is not None
            rev = _revision(ctx.session, ctx.plan, number)
            rev.content, rev.content_format = content.text, content.format
            rev.content_sha256 = sha256_text(content.text)
            ctx.session.add(rev)
            ctx.session.flush()
            role = verdict.role
        row = _audit(
            ctx,
            now,
            who,
            role,
            revision=number,
            action="edit",
            kind="edit",
            from_state=result["to"],
            to_state=result["to"],
            comment=comment,
            content_sha256=sha256_text(content.text),
        )
        result.update({"new_revision": number, "audit_seq": row.seq, "audit_hash": row.hash})
        return result

    return _with_retry(app, plan_id, expected_version, work, channel)


def _reopening_action(wf: WorkflowDef, state: str) -> str | None:
    """The transition out of `state` that leads back to an editable state ('revise' first)."""
    candidates = [
        a.name
        for a in wf.actions_from(state)
        if a.kind == "transition" and a.target and wf.states[a.target].editable
    ]
    if "revise" in candidates:
        return "revise"
    return candidates[0] if candidates else None


def _add_revision(ctx: _Ctx, now: datetime, number: int, content: Content) -> Revision:
    revision = Revision(
        plan_id=ctx.plan.id,
        number=number,
        title=ctx.revision.title,
        content=content.text,
        content_format=content.format,
        content_sha256=sha256_text(content.text),
        created_at=now,
    )
    ctx.session.add(revision)
    ctx.session.flush()
    return revision


def _carry_out(
    ctx: _Ctx,
    now: datetime,
    who: Actor,
    t: Transition,
    events: list[AuditEvent],
    comment: str | None,
    meeting: date | None,
    paragraph: str | None,
) -> PlanTransition:
    decided = ctx.revision
    if t.freezes:
        decided.frozen_at = now
        ctx.session.add(decided)
    revision_no = decided.number
    if t.new_revision is not None:
        if decided.frozen_at is None:
            decided.frozen_at = now
            ctx.session.add(decided)
        _add_revision(ctx, now, t.new_revision, Content(decided.content, decided.content_format))
        revision_no = t.new_revision
    ctx.session.flush()
    follows_rec = None
    if t.action.kind == "decision":
        recs = [
            e.outcome
            for e in events
            if e.kind == "recommendation" and e.revision == decided.number and e.outcome
        ]
        follows_rec = follows(t.action.outcome or "", recs)
    _compare_and_set(ctx, now, t.to_state, revision_no)
    row = _audit(
        ctx,
        now,
        who,
        t.role,
        revision=decided.number,
        action=t.action.name,
        kind=t.action.kind,
        outcome=t.action.outcome,
        from_state=t.from_state,
        to_state=t.to_state,
        new_revision=t.new_revision,
        body=t.action.body,
        meeting_date=meeting.isoformat() if meeting else None,
        paragraph=paragraph,
        comment=comment,
        follows_recommendation=follows_rec,
        content_sha256=decided.content_sha256,
    )
    return {
        "plan": ctx.plan.id,
        "action": t.action.name,
        "from": t.from_state,
        "to": t.to_state,
        "revision": decided.number,
        "new_revision": t.new_revision,
        "version": ctx.plan.version + 1,
        "follows_recommendation": follows_rec,
        "audit_seq": row.seq,
        "audit_hash": row.hash,
    }


def list_plans(
    app: App, forbund_key: str | None = None, years: tuple[int, int] | None = None
) -> list[PlanView]:
    """The plans (of one förbund), or those running in some year of `years` (first,
    last): a page lists a window of years, so it does not grow with the history."""
    with read(app) as uow:
        s = uow.session
        query = sa.select(Plan, Forbund).join(Forbund, Forbund.id == Plan.forbund_id)
        if forbund_key is not None:
            query = query.where(Forbund.id == forbunds.resolve(s, forbund_key).id)
        if years is not None:
            query = query.where(Plan.year <= years[1], Plan.last_year >= years[0])
        rows = s.execute(query.order_by(Forbund.key, Plan.year, Plan.id)).all()
        return [_plan_dict(p, f, forbunds.config_of(f)) for p, f in rows]


class PlanPage(TypedDict):
    """One page of `plan list`: the plans, newest first, and how to get the older ones
    (`next` is `{"before": "YEAR:ID"}` to pass back, or None on the last page)."""

    plans: list[PlanView]
    next: dict[str, str] | None


def plan_page(
    app: App,
    forbund_key: str | None = None,
    *,
    among: Collection[str] | None = None,
    limit: int | None = paging.PAGE_SIZE,
    before: tuple[int, int] | None = None,
) -> PlanPage:
    """`plan list` and the web's plan list: the newest `limit` plans, by first year and
    then id, that come after `before` (the (year, id) of the last plan shown).

    Of one förbund (`forbund_key`, refused when unknown), of the förbund a person may
    see (`among`), or of all. One query a page, however long the history: a plan's
    year and id never change, so paging neither repeats nor skips a plan.
    """
    paging.check_limit(limit)
    query = sa.select(Plan, Forbund).join(Forbund, Forbund.id == Plan.forbund_id)
    if among is not None:
        query = query.where(Forbund.key.in_(sorted(among)))
    if before is not None:
        query = query.where(sa.tuple_(Plan.year, Plan.id) < before)
    query = query.order_by(Plan.year.desc(), Plan.id.desc())
    if limit is not None:
        query = query.limit(limit + 1)
    with read(app) as uow:
        s = uow.session
        if forbund_key is not None:
            query = query.where(Forbund.id == forbunds.resolve(s, forbund_key).id)
        found = [_plan_dict(p, f, forbunds.config_of(f)) for p, f in s.execute(query)]
    rows, after = paging.split(found, limit, lambda r: paging.year_cursor(r["year"], r["id"] or 0))
    return {"plans": rows, "next": None if after is None else {"before": str(after)}}


def show(app: App, plan_id: int) -> PlanDetail:
    with read(app) as uow:
        s = uow.session
        ctx = _context(uow, plan_id)
        events = _events(s, plan_id)
        wf = ctx.cfg.workflow_def
        adopted = {e.revision for e in events if e.kind == "decision" and e.outcome == "adopt"}
        revisions = s.scalars(
            sa.select(Revision).where(Revision.plan_id == plan_id).order_by(Revision.number)
        )
        # the revisions, the content, what is open and what was decided are added below
        data = cast(PlanDetail, _plan_dict(ctx.plan, ctx.forbund, ctx.cfg))
        data["revisions"] = [
            {
                "number": r.number,
                "title": r.title,
                "content_sha256": r.content_sha256,
                "has_content": bool(r.content.strip()),
                "created_at": _iso(r.created_at),
                "frozen_at": _iso(r.frozen_at),
                "adopted": r.number in adopted,
            }
            for r in revisions
        ]
        data["content"] = ctx.revision.content
        data["open_actions"] = _open_actions(wf, ctx.cfg, ctx.plan.state)
        data["recommendations"] = [
            audit.event_dict(e)
            for e in events
            if e.kind == "recommendation" and e.revision == ctx.plan.revision
        ]
        data["decisions"] = [audit.event_dict(e) for e in events if e.kind == "decision"]
        data["adoption"] = meeting_docs.standing(s, plan_id)
        return data


def history(app: App, plan_id: int) -> list[AuditEventView]:
    with read(app) as uow:
        _plan(uow.session, plan_id)
        return [audit.event_dict(e) for e in _events(uow.session, plan_id)]


def history_in_forbund(app: App, plan_id: int) -> list[audit.ChainedEventView]:
    """The plan's rows in its förbund's own chain (the seqs and hashes `audit log
    --forbund` shows), oldest first. Found by the plan's index alone: a plan's rows
    are all its förbund's, and a filter on the förbund as well would let a database
    walk the förbund's whole trail in chain order instead."""
    with read(app) as uow:
        _plan(uow.session, plan_id)
        rows = uow.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.plan_id == plan_id)
            .order_by(AuditEvent.seq_in_forbund)
        )
        return [audit.chained_dict(e, of_forbund=True) for e in rows]


def _open_actions(wf: WorkflowDef, cfg: ForbundFile, state: str) -> list[OpenAction]:
    out: list[OpenAction] = []
    for a in wf.actions_from(state):
        people = []
        for spec in a.roles:
            people += cfg.holders(spec.role, spec.body)
        out.append(
            {
                "action": a.name,
                "label": a.label,
                "kind": a.kind,
                "outcome": a.outcome,
                "to": a.target,
                "body": a.body,
                "roles": [str(r) for r in a.roles],
                "who": describe_specs(a.roles),
                "people": list(dict.fromkeys(people)),
            }
        )
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _plan_dict(plan: Plan, row: Forbund, cfg: ForbundFile) -> PlanView:
    states = cfg.workflow_def.states
    label = states[plan.state].label if plan.state in states else plan.state
    return {
        "id": plan.id,
        "forbund": row.key,
        "year": plan.year,
        "last_year": plan.last_year,
        "title": plan.title,
        "state": plan.state,
        "state_label": label,
        "revision": plan.revision,
        "version": plan.version,
        "created_at": _iso(plan.created_at),
        "updated_at": _iso(plan.updated_at),
    }
