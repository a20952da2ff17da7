"""What of the database a person may see: the förbund whose files name them, and
those förbund's plans. Anything else answers as if it did not exist (404), so a
URL never tells whether another förbund has a plan with that number."""

from __future__ import annotations

from workflow.core.app import App
from workflow.core.exceptions import NotFound
from workflow.identity.people import Person
from workflow.plans import services as plans
from workflow.plans.views import PlanDetail

# the largest id a database column holds; beyond it nothing exists
_ID_MAX = 2**63 - 1


PLANS_SHOWN = 20  # plans on a page of /plans


def my_plans(
    app: App, person: Person, before: tuple[int, int] | None, limit: int = PLANS_SHOWN
) -> plans.PlanPage:
    """The plans of the person's förbund, the newest year first, `limit` of them after
    `before` (the year and id of the last plan shown): one query a page, however long
    the history, and nothing of another förbund."""
    return plans.plan_page(app, among=person.forbund_keys, limit=limit, before=before)


def window(year: int) -> tuple[int, int]:
    """The years a page lists from `year` on: that year and the next (a plan is made
    in the autumn for the year after), whatever the history behind them."""
    return year, year + 1


def plan(app: App, person: Person, plan_id: int) -> PlanDetail:
    """One plan of one of the person's förbund; NotFound, naming no other plan, otherwise."""
    missing = NotFound(f"unknown plan {plan_id}", "the plans of your förbund are listed on /")
    if not 0 < plan_id <= _ID_MAX:
        raise missing
    try:
        found = plans.show(app, plan_id)
    except NotFound:  # its hint lists every plan of the database: not for a browser
        raise missing from None
    if found["forbund"] not in person.forbund_keys:
        raise missing
    return found
