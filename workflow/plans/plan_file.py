"""The plan's content as data: sections, goals, decided insatser and the budget in tkr.

A plan file is TOML, validated with pydantic; every error names the file, the
key and its line. The figures the source document *printed* (its sums, result,
funds available, equity after) are kept as written next to the lines they sum,
so `budget.check` can tell where the printed document was wrong.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from workflow.core.exceptions import UsageError
from workflow.core.text import Comment, Key, Line, Markdown, Name, Title
from workflow.core.toml_lines import line_of
from workflow.forbund.file import ForbundFile, error_message

SectionKind = Literal[
    "inledning", "uppdrag", "mal", "organisation", "insatser", "uppfoljning", "utmaningar",
    "aktiviteter", "annat",
]  # fmt: skip
Group = Literal["members", "other_income", "savings", "insatser", "internal"]
Figure = Literal[
    "member_total", "total_income", "available", "total_insatser", "total_internal",
    "total_costs", "result", "funds_available", "equity_after",
]  # fmt: skip
JOINT_MEMBERS = {"staten": "försäkringskassan och arbetsförmedlingen", "kommuner": "kommunerna"}
Amount = Annotated[StrictInt, Field(ge=0)]


class PlanFileError(UsageError):
    """A plan file that cannot be used: names the file, the key and the line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanMeta(_Strict):
    forbund: Key = Field(min_length=1, description="the key of the förbund the plan is for")
    forbund_file: Line | None = Field(default=None, description="the förbund file it was made for")
    year: int = Field(ge=2000, le=2100, description="the (first) year of the plan")
    last_year: int | None = Field(default=None, description="the last year, for a multi-year plan")
    title: Title | None = Field(default=None, description="the plan's title")
    date: dt.date | None = Field(default=None, description="the date of the document")
    author: Name | None = Field(default=None, description="who wrote it")

    @property
    def years(self) -> list[int]:
        return list(range(self.year, (self.last_year or self.year) + 1))


class Section(_Strict):
    kind: SectionKind
    title: Title  # a heading: one line
    text: Markdown


class Indicator(_Strict):
    indicator: Comment
    measure: Comment


class Goal(_Strict):
    text: Comment
    indicators: list[Indicator] = Field(default_factory=list)


class DecidedInsats(_Strict):
    name: Name
    owner: Key | None = None
    until: dt.date | None = None
    description: Comment = ""


class BudgetLine(_Strict):
    group: Group
    label: Title  # a row of the budget table: one line
    member: Key | None = None
    amounts: dict[int, Amount]

    @model_validator(mode="after")
    def _member_only_for_members(self) -> BudgetLine:
        if self.group == "members" and self.member is None:
            raise ValueError("member: a member contribution names its member key")
        if self.group != "members" and self.member is not None:
            raise ValueError("member: only lines of group 'members' name a member")
        return self


class PrintedFigure(_Strict):
    figure: Figure
    label: Title
    amounts: dict[int, StrictInt]


class Budget(_Strict):
    columns: list[int] = Field(min_length=1)
    column_labels: dict[int, Title] = Field(default_factory=dict)
    equity_before: dict[int, StrictInt] = Field(default_factory=dict)
    lines: list[BudgetLine] = Field(default_factory=list)
    printed: list[PrintedFigure] = Field(default_factory=list)
    note: Comment = ""

    def label(self, year: int) -> str:
        return self.column_labels.get(year, str(year))


class PlanFile(_Strict):
    plan: PlanMeta
    sections: list[Section] = Field(default_factory=list)
    goals: list[Goal] = Field(default_factory=list)
    insatser: list[DecidedInsats] = Field(default_factory=list)
    budget: Budget | None = None

    @property
    def title(self) -> str:
        if self.plan.title:
            return self.plan.title
        years = self.plan.years
        span = str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
        return f"Verksamhetsplan och budget {span}"


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fail(source: str, text: str, problems: list[tuple[tuple[Any, ...], str]]) -> PlanFileError:
    lines = []
    for loc, msg in problems:
        line = line_of(text, loc)
        where = f"line {line}: " if line else ""
        lines.append(f"{where}{_key(loc) or '(top level)'}: {msg}")
    return PlanFileError(f"{source}: invalid plan file:\n  " + "\n  ".join(lines))


def parse_plan(text: str, source: str, cfg: ForbundFile | None = None) -> PlanFile:
    """Validate a plan file's text; with the förbund's file, its member keys are checked too."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanFileError(f"{source}: not valid TOML: {exc}") from None
    try:
        plan = PlanFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            problems.append((tuple(err["loc"]), error_message(err)))
        raise _fail(source, text, problems) from None
    problems = _consistency(plan, cfg)
    if problems:
        raise _fail(source, text, problems)
    return plan


def _consistency(plan: PlanFile, cfg: ForbundFile | None) -> list[tuple[tuple[Any, ...], str]]:
    problems: list[tuple[tuple[Any, ...], str]] = []
    meta = plan.plan
    if meta.last_year is not None and not meta.year <= meta.last_year < meta.year + 5:
        problems.append((("plan", "last_year"), f"must be from {meta.year} to {meta.year + 4}"))
    if cfg is not None and meta.forbund != cfg.forbund.key:
        problems.append(
            (
                ("plan", "forbund"),
                f"the plan is for {meta.forbund!r}, the förbund is {cfg.forbund.key!r}",
            )
        )
    budget = plan.budget
    if budget is None:
        return problems
    allowed = [meta.year - 1, *meta.years]
    for i, year in enumerate(budget.columns):
        if year not in allowed:
            problems.append(
                (
                    ("budget", "columns", i),
                    f"{year} is not a year of this plan; columns may be "
                    f"{', '.join(map(str, allowed))} (the year before as a prognos)",
                )
            )
    if meta.year not in budget.columns:
        problems.append((("budget", "columns"), f"the plan's year {meta.year} must be a column"))
    if budget.columns != sorted(set(budget.columns)):
        problems.append((("budget", "columns"), "must be distinct years in order"))
    columns = set(budget.columns)
    member_keys = {m.key: m.kind for m in cfg.members} if cfg else None
    for i, line in enumerate(budget.lines):
        problems += _years(("budget", "lines", i, "amounts"), line.amounts, columns)
        if (
            line.member
            and member_keys is not None
            and line.member not in member_keys
            and line.member not in JOINT_MEMBERS
        ):
            known = ", ".join([*member_keys, *JOINT_MEMBERS])
            problems.append(
                (
                    ("budget", "lines", i, "member"),
                    f"unknown member {line.member!r}; members: {known}",
                )
            )
    for i, fig in enumerate(budget.printed):
        problems += _years(("budget", "printed", i, "amounts"), fig.amounts, columns)
    problems += _years(("budget", "equity_before"), budget.equity_before, columns)
    problems += _years(("budget", "column_labels"), budget.column_labels, columns)
    if cfg is not None:
        for i, ins in enumerate(plan.insatser):
            if ins.owner is not None and ins.owner not in {m.key for m in cfg.members}:
                problems.append((("insatser", i, "owner"), f"unknown member {ins.owner!r}"))
    return problems


def _years(
    loc: tuple[Any, ...], amounts: dict[int, Any], columns: set[int]
) -> list[tuple[tuple[Any, ...], str]]:
    cols = ", ".join(map(str, sorted(columns)))
    return [
        ((*loc, str(y)), f"{y} is not a column of this budget (columns: {cols})")
        for y in amounts
        if y not in columns
    ]


def read_plan_file(path: Path, cfg: ForbundFile | None = None) -> tuple[PlanFile, str]:
    """The parsed plan and its text (the text is what a revision stores)."""
    # start-up: kept with the one function that reads a file (this module parses text)
    from workflow.core import toml_input
    from workflow.core.files import MAX_PLAN_FILE, read_text

    try:
        text = read_text(path, "a plan .toml file", MAX_PLAN_FILE)
    except UsageError as exc:  # a plan file's problems are PlanFileErrors, all of them
        raise PlanFileError(exc.message, exc.hint) from None
    toml_input.check_nesting(text, str(path), PlanFileError)
    return parse_plan(text, str(path), cfg), text


def markdown_plan(text: str, year: int, forbund: str, title: str) -> PlanFile:
    """Free Markdown text as a plan with one section and no budget.

    Built without validation: the text and title are what the database holds,
    checked when they came in (an old database's may not pass today's checks,
    and showing them must not fail).
    """
    return PlanFile.model_construct(
        plan=PlanMeta.model_construct(forbund=forbund, year=year, title=title),
        sections=[Section.model_construct(kind="annat", title=title, text=text)]
        if text.strip()
        else [],
    )
