"""The shapes the plans' services hand the CLI: plans, their changes, diffs and documents.

They are plain dicts at runtime (`--json` prints them as they are, the templates
read the same dicts); the types name their keys. A key named `from` (a Python
keyword) is declared in the functional form, and a class over it adds the docstring.
"""

from datetime import date
from typing import Any, NotRequired, TypedDict

from workflow.core.views import AuditEventView
from workflow.cycle.views import Standing

# ---------------------------------------------------------------- reading


class PlanView(TypedDict):
    """The CLI's JSON shape for a plan (`plan list`, `plan new`)."""

    id: int | None
    forbund: str
    year: int
    last_year: int
    title: str
    state: str
    state_label: str
    revision: int
    version: int
    created_at: str | None
    updated_at: str | None


class RevisionView(TypedDict):
    """The CLI's JSON shape for one revision of a plan, in `plan show`."""

    number: int
    title: str
    content_sha256: str
    has_content: bool
    created_at: str | None
    frozen_at: str | None
    adopted: bool


class OpenAction(TypedDict):
    """The CLI's JSON shape for an action open in a plan's state, and who may take it."""

    action: str
    label: str
    kind: str
    outcome: str | None
    to: str | None
    body: str | None
    roles: list[str]
    who: str
    people: list[str]


class PlanDetail(PlanView):
    """The CLI's JSON shape for `plan show`: the plan, its revisions, what is open, decided."""

    revisions: list[RevisionView]
    content: str
    open_actions: list[OpenAction]
    recommendations: list[AuditEventView]
    decisions: list[AuditEventView]
    adoption: Standing | None


# ---------------------------------------------------------------- changing


class PlanEdited(TypedDict):
    """The CLI's JSON shape for `plan edit`: the draft revision and its new content hash."""

    plan: int | None
    revision: int
    content_sha256: str


class PlacedOn(TypedDict):
    """The CLI's JSON shape for the meeting a plan was put on after a move."""

    meeting: int | None
    body: str | None
    starts_at: str


_PlanTransitionKeys = TypedDict(
    "_PlanTransitionKeys",
    {
        "plan": int | None,
        "action": str,
        "from": str,
        "to": str,
        "revision": int,
        "new_revision": int | None,
        "version": int,
        "follows_recommendation": bool | None,
        "audit_seq": int,
        "audit_hash": str,
    },
)


class PlanTransition(_PlanTransitionKeys):
    """A transition carried out on a plan and its audit row (what a move's result starts as)."""


class PlanMoved(PlanTransition):
    """The CLI's JSON shape for `plan move`: the transition, warnings, the meetings involved."""

    warnings: list[str]
    meeting: int | None
    paragraph: str | None
    placed_on: PlacedOn | None


_PlanRevisedKeys = TypedDict(
    "_PlanRevisedKeys",
    {
        "plan": int | None,
        "action": str,
        "from": str,
        "to": str,
        "revision": int,
        # a revision opened through the workflow's action back to draft carries the
        # transition's keys and its meetings too
        "version": NotRequired[int],
        "follows_recommendation": NotRequired[bool | None],
        "new_revision": int,
        "audit_seq": int,
        "audit_hash": str,
        "meeting": NotRequired[int | None],
        "paragraph": NotRequired[str | None],
        "placed_on": NotRequired[PlacedOn | None],
    },
)


class PlanRevised(_PlanRevisedKeys):
    """The CLI's JSON shape for `plan revise`: the new revision and its audit row."""


# ---------------------------------------------------------------- diff


class SectionChange(TypedDict):
    """The CLI's JSON shape for a section added, removed or changed between two revisions."""

    title: str
    status: str
    diff: str


class BudgetChange(TypedDict):
    """The CLI's JSON shape for a budget amount that differs between two revisions."""

    group: str
    label: str
    year: int
    old: int | None
    new: int | None
    change: int


_PlanDiffKeys = TypedDict(
    "_PlanDiffKeys",
    {
        "plan": int,
        "from": int,
        "to": int,
        "sections": list[SectionChange],
        "budget": list[BudgetChange],
    },
)


class PlanDiff(_PlanDiffKeys):
    """The CLI's JSON shape for `plan diff`: what changed between two revisions."""


# ---------------------------------------------------------------- document


class BudgetColumn(TypedDict):
    """A column of the rendered budget: its year and heading."""

    year: int
    label: str


class BudgetRow(TypedDict):
    """A line of the rendered budget, an amount per column (None where it has none)."""

    label: str
    member: str | None
    amounts: list[int | None]


class BudgetGroup(TypedDict):
    """A group of lines of the rendered budget, with its sums per column."""

    key: str
    label: str
    rows: list[BudgetRow]
    sums: list[int | None]


class BudgetTotal(TypedDict):
    """A computed figure of the rendered budget, per column."""

    key: str
    label: str
    amounts: list[int | None]


class BudgetView(TypedDict):
    """The rendered budget: columns, groups of lines, the computed totals, the note."""

    columns: list[BudgetColumn]
    groups: list[BudgetGroup]
    totals: list[BudgetTotal]
    note: str


class Adopted(TypedDict):
    """When the board first adopted the plan: the meeting's date and the §."""

    date: date
    paragraph: str | None


class PlanDocument(TypedDict):
    """The plan template's context (`plan render`): the plan with its sums computed."""

    forbund: str
    title: str
    years: list[int]
    date: date | None
    author: str | None
    adopted: Adopted | None
    edited: date | None
    # the plan file's sections, goals and decided insatser, dumped as they are
    # (the insatser with their owner's name)
    sections: list[dict[str, Any]]
    goals: list[dict[str, Any]]
    insatser: list[dict[str, Any]]
    budget: BudgetView | None
    source: str
