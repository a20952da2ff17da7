"""Reading plans as documents: the economy check, the diff between revisions, the
data a rendered verksamhetsplan is made from. Works on a stored plan or on a
plan file that is not in any database yet."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workflow.core.exceptions import NotFound, UsageError
from workflow.core.models import AuditEvent, Forbund, Plan, Revision
from workflow.core.uow import read
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile, load_forbund
from workflow.plans.budget import FIGURE_LABELS, GROUP_LABELS, Report, check, compute
from workflow.plans.content import revision_plan
from workflow.plans.plan_file import PlanFile, PlanFileError, read_plan_file
from workflow.plans.views import (
    BudgetChange,
    BudgetColumn,
    BudgetGroup,
    BudgetRow,
    BudgetTotal,
    BudgetView,
    PlanDiff,
    PlanDocument,
    SectionChange,
)


@dataclass
class Loaded:
    """A plan to read: its content, its förbund, and where it came from."""

    plan: PlanFile
    cfg: ForbundFile
    source: str
    plan_id: int | None = None
    revision: int | None = None
    adopted: tuple[date, str | None] | None = None  # first adoption: meeting, §
    edited: date | None = None  # a later revision's adoption (or its making)


def load(
    target: str,
    app_factory: Callable[[], Any],
    forbund_file: Path | None = None,
    revision: int | None = None,
) -> Loaded:
    """A plan id (digits) is read from the database; anything else is a plan file."""
    if target.isascii() and target.isdigit():
        if len(target) > 18:  # beyond any id a database column holds
            raise NotFound(f"no plan {target}", "see 'finsam plan list' for the plans' ids")
        return load_stored(app_factory(), int(target), revision)
    if revision is not None:
        raise UsageError("--revision goes with a plan id, not a file")
    return load_file(Path(target), app_factory, forbund_file)


def load_file(
    path: Path, app_factory: Callable[[], Any], forbund_file: Path | None = None
) -> Loaded:
    # start-up: kept with the file read below (only regular files, capped, sanely nested)
    from workflow.core import toml_input
    from workflow.core.files import MAX_PLAN_FILE, read_text

    text = read_text(path, "a plan file (.toml) or a plan id", MAX_PLAN_FILE)
    toml_input.check_nesting(text, str(path), PlanFileError)
    try:
        meta = tomllib.loads(text).get("plan", {})
    except tomllib.TOMLDecodeError:
        meta = {}  # read_plan_file below says what is wrong, with the line
    if not isinstance(meta, dict):
        meta = {}
    cfg = _forbund_for(path, meta, app_factory, forbund_file)
    plan, _ = read_plan_file(path, cfg)
    return Loaded(plan, cfg, str(path))


def _forbund_for(
    path: Path, meta: dict[str, Any], app_factory: Callable[[], Any], forbund_file: Path | None
) -> ForbundFile | None:
    if forbund_file is not None:
        return load_forbund(forbund_file)
    if isinstance(meta.get("forbund_file"), str):
        return load_forbund((path.parent / meta["forbund_file"]).resolve())
    key = meta.get("forbund")
    app = app_factory()
    with read(app) as uow:
        return forbunds.config_of(
            forbunds.resolve(uow.session, key if isinstance(key, str) else None)
        )


def load_stored(app: Any, plan_id: int, number: int | None = None, session: Any = None) -> Loaded:
    """A stored revision (the current one by default); inside a caller's session if given."""
    if session is not None:
        return _load_stored(session, plan_id, number)
    with read(app) as uow:
        return _load_stored(uow.session, plan_id, number)


def _load_stored(s: Any, plan_id: int, number: int | None) -> Loaded:

    plan = s.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"unknown plan {plan_id}", "see 'finsam plan list'")
    row = s.get(Forbund, plan.forbund_id)
    assert row is not None
    cfg = forbunds.config_of(row)
    rev = _revision(s, plan, plan.revision if number is None else number)
    adoptions = list(
        s.scalars(
            sa.select(AuditEvent)
            .where(
                AuditEvent.plan_id == plan_id,
                AuditEvent.kind == "decision",
                AuditEvent.outcome == "adopt",
            )
            .order_by(AuditEvent.seq)
        )
    )
    first = adoptions[0] if adoptions else None
    adopted = None
    edited = None
    if first is not None and first.revision <= rev.number:
        adopted = (
            date.fromisoformat(first.meeting_date or first.at.date().isoformat()),
            first.paragraph,
        )
        if rev.number > first.revision:
            mine = [a for a in adoptions if a.revision == rev.number]
            edited = (
                date.fromisoformat(mine[0].meeting_date)
                if mine and mine[0].meeting_date
                else rev.created_at.date()
            )
    return Loaded(
        revision_plan(plan, rev, cfg),
        cfg,
        f"plan {plan_id} revision {rev.number}",
        plan_id,
        rev.number,
        adopted,
        edited,
    )


def _revision(session: Any, plan: Plan, number: int) -> Revision:
    rev = session.scalars(
        sa.select(Revision).where(Revision.plan_id == plan.id, Revision.number == number)
    ).first()
    if rev is None:
        raise NotFound(
            f"plan {plan.id} has no revision {number}", f"its revisions are 1 to {plan.revision}"
        )
    return rev


def report_of(loaded: Loaded) -> Report:
    return check(loaded.plan, loaded.cfg)


# ---------------------------------------------------------------- diff


def diff(app: Any, plan_id: int, from_rev: int | None, to_rev: int | None) -> PlanDiff:
    with read(app) as uow:
        plan = uow.session.get(Plan, plan_id)
        if plan is None:
            raise NotFound(f"unknown plan {plan_id}", "see 'finsam plan list'")
        last = plan.revision
    to_rev = last if to_rev is None else to_rev
    from_rev = to_rev - 1 if from_rev is None else from_rev
    if from_rev < 1:
        raise UsageError(
            f"plan {plan_id} has only revision {to_rev}; there is nothing to compare",
            "give --from and --to, e.g. --from 1 --to 2",
        )
    old = load_stored(app, plan_id, from_rev).plan
    new = load_stored(app, plan_id, to_rev).plan
    return {
        "plan": plan_id,
        "from": from_rev,
        "to": to_rev,
        "sections": section_changes(old, new),
        "budget": budget_changes(old, new),
    }


def section_changes(old: PlanFile, new: PlanFile) -> list[SectionChange]:
    before = {s.title: s.text for s in old.sections}
    after = {s.title: s.text for s in new.sections}
    out: list[SectionChange] = []
    for title in [*before, *(t for t in after if t not in before)]:
        a, b = before.get(title), after.get(title)
        if a == b:
            continue
        status = "added" if a is None else "removed" if b is None else "changed"
        text = "".join(
            difflib.unified_diff(
                (a or "").splitlines(keepends=True),
                (b or "").splitlines(keepends=True),
                fromfile=f"{title} (före)",
                tofile=f"{title} (efter)",
                n=1,
            )
        )
        out.append({"title": title, "status": status, "diff": text})
    return out


def budget_changes(old: PlanFile, new: PlanFile) -> list[BudgetChange]:
    def lines(p: PlanFile) -> dict[tuple[str, str, int], int]:
        if p.budget is None:
            return {}
        return {(ln.group, ln.label, y): v for ln in p.budget.lines for y, v in ln.amounts.items()}

    a, b = lines(old), lines(new)
    out: list[BudgetChange] = []
    for key in [*a, *(k for k in b if k not in a)]:
        if a.get(key) != b.get(key):
            group, label, year = key
            change = (b.get(key) or 0) - (a.get(key) or 0)
            out.append(
                {
                    "group": group,
                    "label": label,
                    "year": year,
                    "old": a.get(key),
                    "new": b.get(key),
                    "change": change,
                }
            )
    return out


# ---------------------------------------------------------------- document


def document(loaded: Loaded, forbund_name: str | None = None) -> PlanDocument:
    """Everything a plan template needs, with the sums computed (never the printed ones)."""
    plan, cfg = loaded.plan, loaded.cfg
    years = plan.plan.years
    members = {m.key: m.name for m in cfg.members}
    budget: BudgetView | None = None
    if plan.budget is not None and plan.budget.lines:
        b = plan.budget
        columns: list[BudgetColumn] = [{"year": y, "label": b.label(y)} for y in b.columns]
        groups: list[BudgetGroup] = []
        for group, label in GROUP_LABELS.items():
            rows: list[BudgetRow] = [
                {
                    "label": ln.label,
                    "member": members.get(ln.member or "", ln.member),
                    "amounts": [ln.amounts.get(y) for y in b.columns],
                }
                for ln in b.lines
                if ln.group == group
            ]
            if rows:
                sums = [
                    sum(r["amounts"][i] or 0 for r in rows)
                    if any(r["amounts"][i] is not None for r in rows)
                    else None
                    for i in range(len(b.columns))
                ]
                groups.append({"key": group, "label": label, "rows": rows, "sums": sums})
        computed = [compute(b, y) for y in b.columns]
        keys = (
            "total_income",
            "available",
            "total_costs",
            "result",
            "funds_available",
            "equity_before",
            "equity_after",
        )
        totals: list[BudgetTotal] = [
            {"key": k, "label": FIGURE_LABELS[k], "amounts": [c[k] for c in computed]}
            for k in keys
            if any(c[k] is not None for c in computed)
        ]
        budget = {"columns": columns, "groups": groups, "totals": totals, "note": b.note}
    return {
        "forbund": forbund_name or cfg.forbund.name,
        "title": plan.title,
        "years": years,
        "date": plan.plan.date,
        "author": plan.plan.author,
        "adopted": (
            {"date": loaded.adopted[0], "paragraph": loaded.adopted[1]} if loaded.adopted else None
        ),
        "edited": loaded.edited,
        "sections": [s.model_dump() for s in plan.sections],
        "goals": [g.model_dump() for g in plan.goals],
        "insatser": [
            {**i.model_dump(), "owner_name": members.get(i.owner or "", i.owner)}
            for i in plan.insatser
        ],
        "budget": budget,
        "source": loaded.source,
    }
