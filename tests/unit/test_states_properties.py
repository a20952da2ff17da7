"""Property tests: no sequence of actions escapes the workflow, and adoption is once per revision.

The machine is driven with arbitrary actions by arbitrary people on several
workflows (the default, an LLG instead of a beredningsgrupp), exactly as the
service layer drives it: decide, and apply what was decided.
"""

from __future__ import annotations

from datetime import date

from helpers import ALE_FILE, SOS_FILE
from hypothesis import given, settings
from hypothesis import strategies as st

from states.definition import WorkflowDef
from states.machine import Move, PlanFacts, Transition, apply, decide
from states.roles import ROLES, Actor
from workflow.config import load_forbund

WORKFLOWS = {
    "sos": load_forbund(SOS_FILE).workflow_def,
    "ale": load_forbund(ALE_FILE).workflow_def,
}
BODIES = ["styrelse", "presidium", "beredningsgrupp", "llg"]
TODAY = date(2026, 11, 24)

actors = st.builds(
    lambda ms: Actor("p@x.example", "P", frozenset(ms)),
    st.sets(st.tuples(st.sampled_from(BODIES), st.sampled_from(ROLES)), max_size=3),
)


def step_strategy(wf: WorkflowDef) -> st.SearchStrategy[Move]:
    return st.builds(
        Move,
        action=st.sampled_from([*wf.action_names(), "bogus"]),
        actor=actors,
        today=st.just(TODAY),
        comment=st.sampled_from([None, "", "Motivering"]),
        meeting=st.sampled_from([None, date(2026, 11, 9), date(2026, 12, 1)]),
        paragraph=st.sampled_from([None, "7"]),
        target=st.sampled_from([None, *wf.states]),
    )


def run(wf: WorkflowDef, moves: list[Move], has_content: bool) -> None:
    facts = PlanFacts(state=wf.initial, has_content=has_content)
    adoptions: dict[int, int] = {}
    for m in moves:
        verdict = decide(wf, facts, m)
        if not isinstance(verdict, Transition):
            continue
        action = verdict.action
        assert action.leaves(facts.state), "a transition left a state it is not defined out of"
        if action.kind != "force":
            assert verdict.to_state == action.target
        assert m.actor.matching(action.roles) is not None
        if action.kind == "decision" and action.outcome == "adopt":
            adoptions[facts.revision] = adoptions.get(facts.revision, 0) + 1
        if action.outcome in ("send_back", "reject") or action.kind == "force":
            assert m.comment
        facts = apply(facts, verdict)
        assert facts.state in wf.states
        if wf.states[facts.state].editable:
            assert not facts.revision_frozen, "an editable state holds a frozen revision"
    assert all(n == 1 for n in adoptions.values()), adoptions
    assert set(adoptions) == set(facts.adopted_revisions)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), has_content=st.booleans())
def test_default_workflow_never_escapes(data: st.DataObject, has_content: bool) -> None:
    wf = WORKFLOWS["sos"]
    run(wf, data.draw(st.lists(step_strategy(wf), max_size=40)), has_content)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_llg_workflow_never_escapes(data: st.DataObject) -> None:
    wf = WORKFLOWS["ale"]
    run(wf, data.draw(st.lists(step_strategy(wf), max_size=40)), True)


chief = Actor(
    "c@x.example", "C", frozenset({("styrelse", "förbundschef"), ("presidium", "ordförande")})
)


@settings(max_examples=300, deadline=None)
@given(
    actions=st.lists(st.sampled_from(WORKFLOWS["sos"].action_names()), max_size=60),
    targets=st.lists(st.sampled_from(list(WORKFLOWS["sos"].states)), min_size=60, max_size=60),
)
def test_a_capable_actor_reaches_only_allowed_states(
    actions: list[str], targets: list[str]
) -> None:
    """With everything permitted, many more moves succeed; the invariants still hold."""
    wf = WORKFLOWS["sos"]
    moves = [
        Move(a, chief, TODAY, comment="Skäl", meeting=TODAY, paragraph="1", target=t)
        for a, t in zip(actions, targets, strict=False)
    ]
    run(wf, moves, True)
