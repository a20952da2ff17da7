"""The förbund file: the examples load, and every mistake names the file, the key and what fits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import ALE_FILE, SOS_FILE

from workflow.core.exceptions import ConfigError
from workflow.forbund.file import load_forbund


def test_sydostra_skane_example() -> None:
    cfg = load_forbund(SOS_FILE)
    assert cfg.forbund.key == "sydostra-skane"
    assert [m.name for m in cfg.members][-4:] == [
        "Simrishamns kommun",
        "Sjöbo kommun",
        "Tomelilla kommun",
        "Ystads kommun",
    ]
    board = next(b for b in cfg.bodies if b.kind == "styrelse")
    # one ordinary member and one deputy per member organisation, and the förbundschef
    assert sum(p.role in ("ordförande", "vice ordförande", "ledamot") for p in board.people) == 7
    assert sum(p.role == "ersättare" for p in board.people) == 7
    assert list(cfg.workflow_def.states)[:4] == [
        "draft",
        "presidium",
        "beredningsgrupp",
        "styrelse",
    ]
    assert all(p.email.endswith(".example") for b in cfg.bodies for p in b.people)


def test_ale_example_prepares_in_an_llg() -> None:
    cfg = load_forbund(ALE_FILE)
    assert "beredningsgrupp" not in cfg.workflow_def.states
    assert list(cfg.workflow_def.states)[:4] == ["draft", "presidium", "llg", "styrelse"]
    board = next(b for b in cfg.bodies if b.kind == "styrelse")
    assert sum(p.role == "ersättare" for p in board.people) == 6  # seed 001: six deputies


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "forbund.toml"
    p.write_text(text, encoding="utf-8")
    return p


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = SOS_FILE.read_text(encoding="utf-8")
    assert old in text
    return write(tmp_path, text.replace(old, new, 1))


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_forbund(path)
    assert exc.value.exit_code == 2
    return str(exc.value)


def test_bad_role_names_key_and_allowed_values(tmp_path: Path) -> None:
    path = edited(tmp_path, 'role = "ordförande"', 'role = "ordf"')
    msg = error_of(path)
    assert msg.startswith(f"{path}: invalid förbund file:")
    assert "bodies[0].people[0].role: Input should be 'ordförande', 'vice ordförande'" in msg


def test_bad_email(tmp_path: Path) -> None:
    msg = error_of(
        edited(
            tmp_path,
            'registrator = "registrator@ystad.example"',
            'registrator = "registrator.ystad.example"',
        )
    )
    assert "members[6].registrator: value is not a valid email address" in msg


def test_unknown_member_reference(tmp_path: Path) -> None:
    msg = error_of(edited(tmp_path, 'member = "ystad"', 'member = "malmo"'))
    assert "bodies[0].people[0].member: unknown member 'malmo'" in msg
    assert "members: af, fk, region-skane, simrishamn, sjobo, tomelilla, ystad" in msg


def test_unknown_key(tmp_path: Path) -> None:
    msg = error_of(
        edited(
            tmp_path,
            'name = "Samordningsförbundet Sydöstra Skåne"',
            'name = "Samordningsförbundet Sydöstra Skåne"\ncolour = "blue"',
        )
    )
    assert "forbund.colour: unknown key" in msg


def test_the_law_fixes_the_members(tmp_path: Path) -> None:
    msg = error_of(edited(tmp_path, 'kind = "region"', 'kind = "kommun"'))
    assert "exactly one member of kind 'region' is required (found 0)" in msg


def test_not_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[forbund\nkey = 1")
    assert re.match(rf"{re.escape(str(path))}: not valid TOML: ", error_of(path))


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in error_of(tmp_path / "nope.toml")


def test_workflow_errors_are_reported_with_the_file(tmp_path: Path) -> None:
    text = ALE_FILE.read_text(encoding="utf-8").replace('to = "llg"', 'to = "beredningsgrupp"', 1)
    msg = error_of(write(tmp_path, text))
    assert "workflow.actions[1] (recommend-adopt).to: must be one of the states" in msg


def test_beredningsgrupp_first_is_only_data(tmp_path: Path) -> None:
    """Swap the order of the preparing bodies by editing the file, not the code."""
    text = SOS_FILE.read_text(encoding="utf-8") + "\n" + _swapped_workflow()
    cfg = load_forbund(write(tmp_path, text))
    wf = cfg.workflow_def
    assert wf.action("submit", "draft").target == "beredningsgrupp"  # type: ignore[union-attr]
    assert wf.action("recommend-adopt", "presidium").target == "styrelse"  # type: ignore[union-attr]


def _swapped_workflow() -> str:
    from workflow.forbund.file import default_workflow_data

    d = default_workflow_data()
    out = ["[workflow]", 'initial = "draft"']
    for name, st in d["states"].items():
        out.append(f"[workflow.states.{name}]")
        out += [f"{k} = {_toml(v)}" for k, v in st.items()]
    for a in d["actions"]:
        a = dict(a)
        if a["name"] == "submit":
            a["to"] = "beredningsgrupp"
        elif a.get("kind") == "recommendation":
            a["to"] = "presidium" if a["body"] == "beredningsgrupp" else "styrelse"
        out.append("[[workflow.actions]]")
        out += [f"{k} = {_toml(v)}" for k, v in a.items()]
    return "\n".join(out) + "\n"


def _toml(v: object) -> str:
    import json

    return json.dumps(v, ensure_ascii=False) if not isinstance(v, bool) else str(v).lower()
