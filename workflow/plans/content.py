"""A revision's content: a plan file (TOML) or free Markdown text, read as a PlanFile.

Reading every revision through one function means the economy check, the
renderer and the diff see the same thing whatever form the text was given in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workflow.core.exceptions import UsageError
from workflow.core.models import Plan, Revision
from workflow.forbund.file import ForbundFile
from workflow.plans.budget import Report, check
from workflow.plans.plan_file import PlanFile, markdown_plan, parse_plan

PLAN = "plan"
MARKDOWN = "markdown"


@dataclass(frozen=True)
class Content:
    text: str
    format: str  # PLAN or MARKDOWN


def read_content(path: Path) -> Content:
    """A file given on the command line: .toml is a plan file, anything else Markdown.
    Only a regular file of at most 5 MB is read; a plan file's nesting is checked
    here, so that every later parse of the text is safe."""
    # start-up: kept with the one function that reads a file (this module parses text)
    from workflow.core import toml_input
    from workflow.core.files import MAX_PLAN_FILE, read_text

    text = read_text(path, "a plan file (.toml) or Markdown text", MAX_PLAN_FILE)
    kind = PLAN if path.suffix.lower() == ".toml" else MARKDOWN
    if kind == PLAN:
        toml_input.check_nesting(text, str(path))
    return Content(text, kind)


def as_plan(content: Content, source: str, cfg: ForbundFile, *, year: int, title: str) -> PlanFile:
    if content.format == PLAN:
        return parse_plan(content.text, source, cfg)
    return markdown_plan(content.text, year, cfg.forbund.key, title)


def validate_for(
    content: Content, source: str, cfg: ForbundFile, year: int, last_year: int
) -> PlanFile | None:
    """Refuse a plan file that is malformed or for other years than the plan's."""
    if content.format != PLAN:
        return None
    plan = parse_plan(content.text, source, cfg)
    if (plan.plan.year, plan.plan.last_year or plan.plan.year) != (year, last_year):
        given = _span(plan.plan.year, plan.plan.last_year or plan.plan.year)
        raise UsageError(
            f"{source}: the plan file is for {given}, the plan for {_span(year, last_year)}",
            "give the plan file of the plan's own year(s)",
        )
    return plan


def economy(plan: PlanFile, cfg: ForbundFile) -> Report:
    return check(plan, cfg)


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"


def revision_plan(plan: Plan, revision: Revision, cfg: ForbundFile) -> PlanFile:
    """The revision's content as a PlanFile, whichever form it was stored in."""
    return as_plan(
        Content(revision.content, revision.content_format),
        f"plan {plan.id} revision {revision.number}",
        cfg,
        year=plan.year,
        title=revision.title,
    )
