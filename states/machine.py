"""Deciding a move: is this action open now, may this person take it, do the guards pass.

`decide` returns either a Transition (what happens) or a Refusal (why not, and
what is open instead); `apply` gives the plan facts after a transition. Both
are pure, which is what lets the property tests drive thousands of sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from states.definition import ActionDef, WorkflowDef
from states.guards import GuardInput, GuardResult, check
from states.roles import Actor, RoleSpec, describe_specs

RefusalCode = Literal["unknown_action", "not_allowed_now", "target", "role", "guard"]


@dataclass(frozen=True)
class PlanFacts:
    """The plan as the workflow sees it."""

    state: str
    revision: int = 1
    revision_frozen: bool = False
    has_content: bool = False
    adopted_revisions: frozenset[int] = frozenset()
    has_budget: bool = False
    economy_errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Move:
    """A person asking to take an action now."""

    action: str
    actor: Actor
    today: date
    comment: str | None = None
    meeting: date | None = None
    paragraph: str | None = None
    target: str | None = None  # for force actions only


@dataclass(frozen=True)
class Transition:
    action: ActionDef
    from_state: str
    to_state: str
    role: RoleSpec
    revision: int
    new_revision: int | None
    freezes: bool


@dataclass(frozen=True)
class Refusal:
    code: RefusalCode
    message: str
    open_actions: tuple[ActionDef, ...] = ()
    failed: tuple[GuardResult, ...] = ()


def implicit_guards(action: ActionDef) -> tuple[str, ...]:
    """Guards that follow from what an action is, whatever the data says."""
    guards: list[str] = []
    if action.kind in ("recommendation", "decision"):
        guards += ["meeting_given", "meeting_not_in_future"]
    if action.kind == "force" or action.outcome in ("send_back", "reject"):
        guards.append("reason_given")
    if action.kind == "decision" and action.outcome == "adopt":
        guards += ["revision_not_adopted", "economy_clean"]
    return tuple(guards)


def all_guards(action: ActionDef) -> tuple[str, ...]:
    return tuple(dict.fromkeys(implicit_guards(action) + action.guards))


def describe_open(actions: Sequence[ActionDef]) -> str:
    if not actions:
        return "no action is open in this state"
    return "; ".join(f"{a.name} ({describe_specs(a.roles)})" for a in actions)


def decide(workflow: WorkflowDef, facts: PlanFacts, move: Move) -> Transition | Refusal:
    open_now = tuple(workflow.actions_from(facts.state))
    action = workflow.action(move.action, facts.state)
    if action is None:
        known = workflow.action_names()
        if move.action not in known:
            return Refusal(
                "unknown_action",
                f"unknown action {move.action!r}; this workflow's actions are "
                f"{', '.join(known)}. Open now: {describe_open(open_now)}",
                open_now,
            )
        return Refusal(
            "not_allowed_now",
            f"action {move.action!r} is not allowed in state {facts.state!r}. "
            f"Open now: {describe_open(open_now)}",
            open_now,
        )
    target = action.target
    if action.kind == "force":
        if move.target is None or move.target not in workflow.states:
            return Refusal(
                "target",
                f"a forced move needs its target state (--to); states: "
                f"{', '.join(workflow.states)}",
                open_now,
            )
        if move.target == facts.state:
            return Refusal("target", f"the plan is already in state {facts.state!r}", open_now)
        target = move.target
    assert target is not None
    role = move.actor.matching(action.roles)
    if role is None:
        return Refusal(
            "role",
            f"only {describe_specs(action.roles)} may take {action.name!r}; "
            f"{move.actor.name} <{move.actor.email}> holds "
            f"{_describe_memberships(move.actor)}",
            open_now,
        )
    results = check(
        all_guards(action),
        GuardInput(
            has_content=facts.has_content,
            revision=facts.revision,
            revision_adopted=facts.revision in facts.adopted_revisions,
            comment=move.comment,
            meeting=move.meeting,
            paragraph=move.paragraph,
            today=move.today,
            has_budget=facts.has_budget,
            economy_errors=facts.economy_errors,
        ),
    )
    failed = tuple(r for r in results if not r.ok)
    if failed:
        reasons = "; ".join(r.reason for r in failed)
        return Refusal("guard", f"{action.name!r} cannot be taken: {reasons}", open_now, failed)
    source_editable = workflow.states[facts.state].editable
    target_editable = workflow.states[target].editable
    freezes = source_editable and not target_editable and not facts.revision_frozen
    frozen_after = facts.revision_frozen or freezes
    new_revision = facts.revision + 1 if target_editable and frozen_after else None
    return Transition(
        action=action,
        from_state=facts.state,
        to_state=target,
        role=role,
        revision=facts.revision,
        new_revision=new_revision,
        freezes=freezes,
    )


def apply(facts: PlanFacts, t: Transition) -> PlanFacts:
    adopted = facts.adopted_revisions
    if t.action.kind == "decision" and t.action.outcome == "adopt":
        adopted = adopted | {t.revision}
    if t.new_revision is not None:
        return replace(
            facts,
            state=t.to_state,
            revision=t.new_revision,
            revision_frozen=False,
            adopted_revisions=adopted,
        )
    return replace(
        facts,
        state=t.to_state,
        revision_frozen=facts.revision_frozen or t.freezes,
        adopted_revisions=adopted,
    )


def follows_recommendations(outcome: str, recommendations: Sequence[str]) -> bool | None:
    """Whether a decision follows every recommendation made on its revision (None: none made)."""
    if not recommendations:
        return None
    return all(r == outcome for r in recommendations)


def _describe_memberships(actor: Actor) -> str:
    if not actor.memberships:
        return "no role in any body"
    return ", ".join(f"{role} in {body}" for body, role in sorted(actor.memberships))
