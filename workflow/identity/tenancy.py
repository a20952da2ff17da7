"""What of the database a person may see: the förbund whose files name them, and
those förbund's plans. Anything else answers as if it did not exist (404), so a
URL never tells whether another förbund has a plan with that number."""

from __future__ import annotations

from dataclasses import dataclass

from workflow.core.app import App
from workflow.core.exceptions import NotFound
from workflow.identity.people import Membership, Person
from workflow.plans import services as plans
from workflow.plans.views import PlanDetail, PlanView

# the largest id a database column holds; beyond it nothing exists
_ID_MAX = 2**63 - 1


@dataclass(frozen=True)
class ForbundPlans:
    membership: Membership
    plans: list[PlanView]


def my_plans(app: App, person: Person, years: tuple[int, int]) -> list[ForbundPlans]:
    """Each of the person's förbund with its plans running in `years` (first, last),
    in the order of the förbund's keys."""
    return [
        ForbundPlans(m, plans.list_plans(app, forbund_key=m.forbund_key, years=years))
        for m in person.memberships
    ]


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
