"""A plan's decided insatser become insatser to follow up (`insats add --from-plan`).

It lives with the plans, not the reports: it reads a stored plan's content and
then uses the reports capability's public `insatser.add_many`, so the arrow
points from plans to reports and never back. All of a plan's insatser are
added in one transaction, by one person, or none of them.
"""

from __future__ import annotations

from datetime import date

from workflow.core.app import App
from workflow.core.exceptions import UsageError
from workflow.core.models import Forbund, Plan
from workflow.core.uow import read
from workflow.plans.documents import load_stored
from workflow.reports.insatser import NewInsats, add_many
from workflow.reports.views import InsatsView


def insatser_from_plan(app: App, plan_id: int, *, actor_email: str | None) -> list[InsatsView]:
    """The plan's decided insatser as insatser (contacts to be filled in later with
    `insats edit`), added as the person `actor_email` names."""
    loaded = load_stored(app, plan_id)
    with read(app) as uow:
        s = uow.session
        plan = s.get(Plan, plan_id)
        assert plan is not None
        forbund_key = s.get(Forbund, plan.forbund_id).key  # type: ignore[union-attr]
    if not loaded.plan.insatser:
        raise UsageError(
            f"plan {plan_id} names no decided insatser", "add insatser with 'finsam insats add'"
        )
    new = []
    for decided in loaded.plan.insatser:
        if decided.owner is None:
            raise UsageError(
                f"plan {plan_id}: the insats {decided.name!r} has no projektägare",
                "add owner = \"member-key\" to it in the plan file, or use 'finsam insats add'",
            )
        new.append(
            NewInsats(
                name=decided.name,
                owner=decided.owner,
                start=date(loaded.plan.plan.year, 1, 1),
                end=decided.until,
                source=f"plan {plan_id}",
            )
        )
    return add_many(
        app,
        forbund_key,
        new,
        actor_email=actor_email,
        label=lambda field: f"plan {plan_id}: an insats's {field.replace('_', ' ')}",
    )
