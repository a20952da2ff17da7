"""A workflow definition checks itself and says where the data is wrong."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from states import diagram
from states.definition import WorkflowDef, WorkflowError
from workflow.forbund.file import default_workflow_data


def data() -> dict[str, Any]:
    return copy.deepcopy(default_workflow_data())


def broken(mutate: Any) -> WorkflowError:
    d = data()
    mutate(d)
    with pytest.raises(WorkflowError) as exc:
        WorkflowDef.from_mapping(d, bodies=["styrelse", "presidium", "beredningsgrupp"])
    return exc.value


def test_unknown_target_state() -> None:
    err = broken(lambda d: d["actions"][0].update(to="nowhere"))
    assert err.key == "workflow.actions[0] (submit).to"
    assert "must be one of the states" in err.message


def test_unknown_role_names_the_roles() -> None:
    err = broken(lambda d: d["actions"][0].update(roles=["kassör"]))
    assert "unknown role 'kassör'" in err.message and "förbundschef" in err.message


def test_unknown_body_in_a_role() -> None:
    err = broken(lambda d: d["actions"][1].update(roles=["ordförande@llg"]))
    assert "unknown body 'llg'" in err.message
    assert "allowed: beredningsgrupp, presidium, styrelse" in err.message


def test_unknown_guard() -> None:
    err = broken(lambda d: d["actions"][0].update(guards=["has_money"]))
    assert "unknown guard 'has_money'" in err.message and "has_content" in err.message


def test_unreachable_state() -> None:
    def cut(d: dict[str, Any]) -> None:
        d["actions"] = [a for a in d["actions"] if a["name"] != "reject"]

    err = broken(cut)
    assert err.key == "workflow.states" and "rejected" in err.message


def test_duplicate_action_out_of_one_state() -> None:
    err = broken(lambda d: d["actions"].append(dict(d["actions"][0])))
    assert "defined twice out of state 'draft'" in err.message


def test_decision_needs_outcome_and_body() -> None:
    err = broken(lambda d: d["actions"][7].pop("outcome"))
    assert err.key.endswith(".outcome")


def test_unknown_key_in_an_action() -> None:
    err = broken(lambda d: d["actions"][0].update(colour="red"))
    assert "unknown key(s) colour" in err.message


def test_no_presidium_is_only_data() -> None:
    d = data()
    del d["states"]["presidium"]
    d["actions"] = [a for a in d["actions"] if a.get("body") != "presidium"]
    for a in d["actions"]:
        if a["name"] == "submit":
            a["to"] = "beredningsgrupp"
        a["from"] = [s for s in a["from"] if s != "presidium"]
    wf = WorkflowDef.from_mapping(d, bodies=["styrelse", "beredningsgrupp"])
    assert wf.action("submit", "draft").target == "beredningsgrupp"  # type: ignore[union-attr]


def test_diagrams_are_drawn_from_the_data() -> None:
    wf = WorkflowDef.from_mapping(data())
    text = diagram.mermaid(wf)
    assert text.startswith("stateDiagram-v2\n    [*] --> draft")
    assert "styrelse --> draft : send-back" in text
    dot = diagram.dot(wf)
    assert '"styrelse" -> "adopted" [label="adopt"];' in dot
    assert '"rejected" [label="Avslagen\\n(rejected)", peripheries=2];' not in dot  # force leaves


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (
            lambda d: d["actions"][0].update({"from": [["draft"]]}),
            "workflow.actions[0] (submit).from",
        ),
        (lambda d: d["actions"][0].update(to=["x"]), "workflow.actions[0] (submit).to"),
        (lambda d: d.update(initial=["draft"]), "workflow.initial"),
        (lambda d: d["actions"][0].update(guards=5), "workflow.actions[0] (submit).guards"),
        (lambda d: d["actions"][0].update(guards=[["x"]]), "workflow.actions[0] (submit).guards"),
    ],
)
def test_a_value_of_the_wrong_type_is_named_not_a_crash(mutate: Any, key: str) -> None:
    """A list or number where a name belongs (a slip in the TOML) is a WorkflowError, not a
    TypeError from deep inside."""
    assert broken(mutate).key == key
