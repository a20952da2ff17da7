"""Registering a förbund again: people and rules may change, plans may not be stranded."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from helpers import CHEF, SOS_FILE, draft_plan, dump

from workflow.core.exceptions import ConfigError
from workflow.forbund import registry as forbunds
from workflow.forbund.file import default_workflow_data, load_forbund, parse_forbund
from workflow.plans import services as plans


def test_same_file_again_is_unchanged(app: Any) -> None:
    assert forbunds.register(app, load_forbund(SOS_FILE))["outcome"] == "unchanged"


def test_a_new_forbund_is_answered_with_its_id(app: Any, tmp_path: Path) -> None:
    text = SOS_FILE.read_text(encoding="utf-8").replace(
        'key = "sydostra-skane"', 'key = "sydostra-skane-2"', 1
    )
    (tmp_path / "f.toml").write_text(text, encoding="utf-8")
    made = forbunds.register(app, load_forbund(tmp_path / "f.toml"))
    assert made["outcome"] == "created" and isinstance(made["id"], int)


def test_new_people_are_taken_up(app: Any, tmp_path: Path) -> None:
    text = SOS_FILE.read_text(encoding="utf-8").replace("Karin Holm", "Karin Holm-Berg")
    (tmp_path / "f.toml").write_text(text, encoding="utf-8")
    assert forbunds.register(app, load_forbund(tmp_path / "f.toml"), CHEF)["outcome"] == "updated"
    pid = draft_plan(app)
    plans.move(app, pid, "submit", actor_email=CHEF)
    people = plans.show(app, pid)["open_actions"][0]["people"]
    assert people[0] == "Karin Holm-Berg"


def test_a_workflow_that_strands_a_plan_is_refused(app: Any) -> None:
    pid = draft_plan(app)
    plans.move(app, pid, "submit", actor_email=CHEF)
    flow = json.loads(json.dumps(default_workflow_data()).replace('"presidium"', '"presidiet"'))
    flow["states"]["presidiet"].pop("body")
    for action in flow["actions"]:
        action["roles"] = [r.replace("@presidiet", "@presidium") for r in action["roles"]]
        if action.get("body") == "presidiet":
            action["body"] = "presidium"
    data = tomllib.loads(SOS_FILE.read_text(encoding="utf-8")) | {"workflow": flow}
    cfg = parse_forbund(data, "renamed presidium")
    before = dump(app.url)
    with pytest.raises(ConfigError, match=r"lacks states that plans are in: plan 1 in 'presidium'"):
        forbunds.register(app, cfg)
    assert dump(app.url) == before
