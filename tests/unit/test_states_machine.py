"""The pure workflow: who may act, which guards hold, what a move does to the plan."""

from __future__ import annotations

from datetime import date

import pytest

from states.definition import WorkflowDef
from states.machine import Move, PlanFacts, Refusal, Transition, apply, decide
from states.roles import Actor
from workflow.forbund.file import default_workflow_data

TODAY = date(2026, 11, 24)
CHEF = Actor("chef@x.example", "Chef", frozenset({("styrelse", "förbundschef")}))
CHAIR = Actor(
    "chair@x.example", "Ordf", frozenset({("presidium", "ordförande"), ("styrelse", "ordförande")})
)
MEMBER = Actor("m@x.example", "Ledamot", frozenset({("styrelse", "ledamot")}))


@pytest.fixture(scope="module")
def wf() -> WorkflowDef:
    return WorkflowDef.from_mapping(default_workflow_data())


def move(
    wf: WorkflowDef, facts: PlanFacts, action: str, actor: Actor = CHEF, **kw: object
) -> Transition | Refusal:
    return decide(wf, facts, Move(action=action, actor=actor, today=TODAY, **kw))  # type: ignore[arg-type]


def test_default_path_states(wf: WorkflowDef) -> None:
    assert wf.initial == "draft"
    assert list(wf.states) == [
        "draft",
        "presidium",
        "beredningsgrupp",
        "styrelse",
        "adopted",
        "rejected",
    ]


def test_submit_freezes_the_revision(wf: WorkflowDef) -> None:
    t = move(wf, PlanFacts("draft", has_content=True), "submit")
    assert isinstance(t, Transition)
    assert (t.from_state, t.to_state, t.freezes, t.new_revision) == (
        "draft",
        "presidium",
        True,
        None,
    )
    assert str(t.role) == "förbundschef"
    after = apply(PlanFacts("draft", has_content=True), t)
    assert after.state == "presidium" and after.revision_frozen


def test_submit_without_content_is_refused_by_a_named_guard(wf: WorkflowDef) -> None:
    r = move(wf, PlanFacts("draft"), "submit")
    assert isinstance(r, Refusal) and r.code == "guard"
    assert [g.guard for g in r.failed] == ["has_content"]
    assert "the plan has no content yet" in r.message


def test_only_the_named_roles_may_act(wf: WorkflowDef) -> None:
    r = move(wf, PlanFacts("draft", has_content=True), "submit", actor=MEMBER)
    assert isinstance(r, Refusal) and r.code == "role"
    assert r.message.startswith("only the förbundschef may take 'submit'")
    assert "holds ledamot in styrelse" in r.message


def test_presidium_role_is_body_specific(wf: WorkflowDef) -> None:
    facts = PlanFacts("presidium", has_content=True, revision_frozen=True)
    t = move(wf, facts, "recommend-adopt", actor=CHAIR, meeting=TODAY)
    assert isinstance(t, Transition) and str(t.role) == "ordförande@presidium"
    chair_elsewhere = Actor("o@x.example", "O", frozenset({("beredningsgrupp", "ordförande")}))
    r = move(wf, facts, "recommend-adopt", actor=chair_elsewhere, meeting=TODAY)
    assert isinstance(r, Refusal) and r.code == "role"


def test_unknown_and_illegal_actions_list_what_is_open(wf: WorkflowDef) -> None:
    facts = PlanFacts("draft", has_content=True)
    r = move(wf, facts, "approve")
    assert isinstance(r, Refusal) and r.code == "unknown_action"
    assert "Open now: submit (the förbundschef); force (the förbundschef)" in r.message
    r = move(wf, facts, "adopt")
    assert isinstance(r, Refusal) and r.code == "not_allowed_now"
    assert r.message.startswith("action 'adopt' is not allowed in state 'draft'")
    assert [a.name for a in r.open_actions] == ["submit", "force"]


def test_recommendations_need_a_meeting_not_in_the_future(wf: WorkflowDef) -> None:
    facts = PlanFacts("presidium", has_content=True, revision_frozen=True)
    r = move(wf, facts, "recommend-adopt", actor=CHAIR)
    assert isinstance(r, Refusal) and "the date of the meeting is required" in r.message
    r = move(wf, facts, "recommend-adopt", actor=CHAIR, meeting=date(2026, 12, 1))
    assert isinstance(r, Refusal) and "lies in the future" in r.message


@pytest.mark.parametrize("action", ["send-back", "reject"])
def test_send_back_and_reject_require_a_reason(wf: WorkflowDef, action: str) -> None:
    facts = PlanFacts("styrelse", has_content=True, revision_frozen=True)
    r = move(wf, facts, action, meeting=TODAY, paragraph="12")
    assert isinstance(r, Refusal)
    assert [g.guard for g in r.failed] == ["reason_given"]
    t = move(wf, facts, action, meeting=TODAY, paragraph="12", comment="Budgeten går inte ihop")
    assert isinstance(t, Transition)


def test_send_back_opens_a_new_revision(wf: WorkflowDef) -> None:
    facts = PlanFacts("styrelse", revision=1, has_content=True, revision_frozen=True)
    t = move(wf, facts, "send-back", meeting=TODAY, paragraph="45", comment="Se över budgeten")
    assert isinstance(t, Transition)
    assert (t.to_state, t.revision, t.new_revision) == ("draft", 1, 2)
    after = apply(facts, t)
    assert (after.state, after.revision, after.revision_frozen) == ("draft", 2, False)


def test_a_revision_is_adopted_once_only(wf: WorkflowDef) -> None:
    facts = PlanFacts(
        "styrelse",
        revision=1,
        has_content=True,
        revision_frozen=True,
        adopted_revisions=frozenset({1}),
    )
    r = move(wf, facts, "adopt", meeting=TODAY, paragraph="3")
    assert isinstance(r, Refusal) and "already been adopted" in r.message


def test_force_is_an_audited_action_of_its_own(wf: WorkflowDef) -> None:
    facts = PlanFacts("rejected", has_content=True, revision_frozen=True)
    r = move(wf, facts, "force")
    assert isinstance(r, Refusal) and r.code == "target"
    r = move(wf, facts, "force", target="styrelse")
    assert isinstance(r, Refusal) and "a reason is required" in r.message
    r = move(wf, facts, "force", target="styrelse", comment="Fel registrerat beslut", actor=MEMBER)
    assert isinstance(r, Refusal) and r.code == "role"
    t = move(wf, facts, "force", target="styrelse", comment="Fel registrerat beslut")
    assert isinstance(t, Transition) and t.to_state == "styrelse" and t.new_revision is None
    t = move(wf, facts, "force", target="draft", comment="Ny beredning")
    assert isinstance(t, Transition) and t.new_revision == 2  # frozen content is never reopened


def test_adopted_plan_can_be_revised_and_adopted_again(wf: WorkflowDef) -> None:
    facts = PlanFacts(
        "adopted",
        revision=1,
        has_content=True,
        revision_frozen=True,
        adopted_revisions=frozenset({1}),
    )
    t = move(wf, facts, "revise", comment="Redigerad 2019-11-28")
    assert isinstance(t, Transition) and t.new_revision == 2
    assert apply(facts, t).adopted_revisions == frozenset({1})
