"""The CLI through Typer's runner: exit codes, exact messages, JSON shapes, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CHAIR, CHEF, MEMBER, SOS_FILE, dump, run_cli

from cli.main import app as cli_app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'finsam.db'}"
    monkeypatch.setenv("FINSAM_DATABASE_URL", url)
    monkeypatch.setenv("FINSAM_NOW", "2026-11-24T15:00")
    monkeypatch.chdir(tmp_path)
    return {"url": url}


finsam = run_cli


def ready(tmp_path: Path) -> int:
    finsam("init", "--forbund", str(SOS_FILE))
    (tmp_path / "plan.md").write_text("# Plan 2027\n", encoding="utf-8")
    out = finsam(
        "plan", "new", "--year", "2027", "--file", str(tmp_path / "plan.md"), "--as", CHEF, "--json"
    )
    return json.loads(out.stdout)["id"]


def test_missing_database(env: dict[str, str]) -> None:
    result = finsam("plan", "list", code=2)
    assert result.stderr.startswith("error: no finsam database at ")
    assert "finsam init --forbund FILE" in result.stderr


def test_json_shapes(env: dict[str, str], tmp_path: Path) -> None:
    pid = ready(tmp_path)
    page = json.loads(finsam("plan", "list", "--json").stdout)
    assert page["next"] is None and len(page["plans"]) == 1
    rows = page["plans"]
    assert rows[0]["id"] == pid
    assert {
        "id",
        "forbund",
        "year",
        "last_year",
        "title",
        "state",
        "state_label",
        "revision",
        "version",
        "created_at",
        "updated_at",
    } <= set(rows[0])
    shown = json.loads(finsam("plan", "show", str(pid), "--json").stdout)
    assert shown["open_actions"][0] == {
        "action": "submit",
        "label": "Lämna till presidiet",
        "kind": "transition",
        "outcome": None,
        "to": "presidium",
        "body": None,
        "roles": ["förbundschef"],
        "who": "the förbundschef",
        "people": ["Annika Rasmusson"],
    }
    moved = json.loads(finsam("plan", "move", str(pid), "submit", "--as", CHEF, "--json").stdout)
    assert (moved["from"], moved["to"], moved["version"]) == ("draft", "presidium", 2)
    history = json.loads(finsam("plan", "history", str(pid), "--json").stdout)
    assert [h["action"] for h in history] == ["create", "submit"]
    assert json.loads(finsam("audit", "verify", "--json").stdout)["ok"] is True
    head = json.loads(finsam("audit", "head", "--json").stdout)
    # row 1 is the förbund's registration by init
    assert head["seq"] == 3 and head["short"] == head["hash"][:16]
    trail = json.loads(finsam("audit", "log", "--plan", str(pid), "--json").stdout)
    assert len(trail["rows"]) == 2 and trail["next"] is None


def test_finsam_user_names_who_acts(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = ready(tmp_path)
    monkeypatch.setenv("FINSAM_USER", CHEF)
    finsam("plan", "move", str(pid), "submit")
    assert "draft → presidium" not in finsam("plan", "show", str(pid)).stdout
    assert json.loads(finsam("plan", "history", str(pid), "--json").stdout)[-1]["actor"] == CHEF


BAD = [
    (["plan", "show", "42"], 2, "error: unknown plan 42\nhint: plans in this database: 1\n"),
    (
        ["plan", "move", "1", "adopt", "--as", CHEF],
        2,
        "error: plan 1: action 'adopt' is not allowed in state 'draft'. Open now: submit "
        "(the förbundschef); force (the förbundschef)\n",
    ),
    (["plan", "move", "1", "approve", "--as", CHEF], 2, "error: plan 1: unknown action 'approve'"),
    (
        ["plan", "move", "1", "submit", "--as", MEMBER],
        2,
        "error: plan 1: only the förbundschef may take 'submit'; Eva Lind "
        "<eva.lind@simrishamn.example> holds ledamot in styrelse\n",
    ),
    (
        ["plan", "move", "1", "submit", "--as", "x@y.example"],
        2,
        "error: no person with e-mail 'x@y.example' in Samordningsförbundet Sydöstra Skåne\n",
    ),
    (["plan", "move", "1", "submit"], 2, "error: who is acting? nobody was named\n"),
    (
        ["plan", "move", "1", "force", "--to", "styrelse", "--as", CHEF, "--meeting", "2026-02-30"],
        2,
        "error: --meeting '2026-02-30' is not a real date\nhint: give it as YYYY-MM-DD",
    ),
    (
        ["plan", "move", "1", "submit", "--as", CHEF, "--if-version", "7"],
        3,
        "error: plan 1 was changed by someone else by Annika Rasmusson (create): you acted on "
        "version 7, it is now version 1",
    ),
    (
        ["plan", "new", "--year", "2027", "--as", CHEF],
        2,
        "error: Samordningsförbundet Sydöstra Skåne already has a plan for 2027",
    ),
    (["plan", "new", "--year", "20277", "--as", CHEF], 2, "error: --year 20277 is out of range"),
    (["plan", "edit", "1", "--as", CHEF], 2, "error: nothing to change"),
    (
        ["plan", "list", "--forbund", "lund"],
        2,
        "error: unknown förbund 'lund'\nhint: förbund in this database: sydostra-skane\n",
    ),
    (["audit", "verify", "--head", "xyz"], 2, "error: --head 'xyz' is not a hash prefix"),
    (["workflow", "show", "--format", "svg"], 2, "error: --format 'svg' is not known"),
    (["init", "--forbund", "nope.toml"], 2, "error: nope.toml: no such file"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD, ids=[" ".join(a[:3]) for a, _, _ in BAD])
def test_bad_input_is_refused_and_changes_nothing(
    env: dict[str, str], tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    ready(tmp_path)
    before = dump(env["url"])
    result = finsam(*args, code=code)
    assert result.stderr.startswith(message), result.stderr
    assert dump(env["url"]) == before


def test_malformed_forbund_file_changes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    ready(tmp_path)
    before = dump(env["url"])
    bad = tmp_path / "bad.toml"
    bad.write_text(
        SOS_FILE.read_text(encoding="utf-8").replace('kind = "styrelse"', 'kind = "board"')
    )
    result = finsam("init", "--forbund", str(bad), code=2)
    assert result.stderr.startswith(f"error: {bad}: invalid förbund file:\n  bodies[0].kind: ")
    assert "'styrelse', 'presidium', 'beredningsgrupp', 'llg'" in result.stderr
    assert dump(env["url"]) == before


def test_guard_message_says_what_is_missing(env: dict[str, str], tmp_path: Path) -> None:
    finsam("init", "--forbund", str(SOS_FILE))
    finsam("plan", "new", "--year", "2027", "--as", CHEF)
    result = finsam("plan", "move", "1", "submit", "--as", CHEF, code=2)
    assert result.stderr == (
        "error: plan 1: 'submit' cannot be taken: the plan has no content yet "
        "(add it with 'finsam plan edit ID --file FILE')\n"
    )


def test_workflow_show_formats(env: dict[str, str], tmp_path: Path) -> None:
    ready(tmp_path)
    assert finsam("workflow", "show", "--format", "mermaid").stdout.startswith("stateDiagram-v2")
    assert finsam("workflow", "show", "--format", "dot").stdout.startswith("digraph workflow")
    data = json.loads(finsam("workflow", "show", "--json").stdout)
    assert data["initial"] == "draft" and data["actions"][0]["name"] == "submit"
    ale = finsam(
        "workflow",
        "show",
        "--file",
        str(SOS_FILE.parent / "ale-kungalv.toml"),
        "--format",
        "mermaid",
    ).stdout
    assert "llg --> styrelse : recommend-adopt" in ale


def test_several_forbund_need_a_choice(env: dict[str, str], tmp_path: Path) -> None:
    ready(tmp_path)
    finsam("init", "--forbund", str(SOS_FILE.parent / "ale-kungalv.toml"))
    result = finsam("plan", "new", "--year", "2028", "--as", CHEF, code=2)
    assert result.stderr == (
        "error: this database holds several förbund\n"
        "hint: choose one with --forbund KEY: ale-kungalv, sydostra-skane\n"
    )
    finsam("plan", "new", "--year", "2028", "--as", CHEF, "--forbund", "sydostra-skane")
    listed = json.loads(finsam("plan", "list", "--forbund", "ale-kungalv", "--json").stdout)
    assert listed == {"plans": [], "next": None}


def test_recommendation_and_decision_through_the_cli(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = str(ready(tmp_path))
    finsam("plan", "move", pid, "submit", "--as", CHEF)
    finsam(
        "plan",
        "move",
        pid,
        "recommend-reject",
        "--as",
        CHAIR,
        "--meeting",
        "2026-11-09",
        "--comment",
        "Underskottet är för stort",
    )
    finsam("plan", "move", pid, "recommend-adopt", "--as", CHEF, "--meeting", "2026-11-09")
    out = finsam(
        "plan", "move", pid, "adopt", "--as", CHEF, "--meeting", "2026-11-24", "--paragraph", "45"
    ).stdout
    assert "departs from the recommendations" in out
    decision = json.loads(finsam("plan", "history", pid, "--json").stdout)[-1]
    assert (decision["meeting"], decision["paragraph"], decision["follows_recommendation"]) == (
        "2026-11-24",
        "45",
        False,
    )


def test_every_command_has_help_and_is_in_the_readme() -> None:
    import typer.main

    readme = (SOS_FILE.parents[2] / "README.md").read_text(encoding="utf-8")
    group = typer.main.get_command(cli_app)
    ctx = group.make_context("finsam", ["--help"], resilient_parsing=True)
    missing = []
    for name in group.list_commands(ctx):  # type: ignore[attr-defined]
        command = group.get_command(ctx, name)  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None) or {"": command}
        for sub, leaf in subs.items():
            full = f"finsam {name} {sub}".strip()
            assert (leaf.help or "").strip(), f"{full} has no help text"
            if f"`{full}" not in readme:
                missing.append(full)
    assert not missing, f"not in README.md: {missing}"


def test_the_top_level_help_lists_each_group_with_its_own_help() -> None:
    """`finsam --help` prints the groups' help from a table without loading them."""
    from cli.main import GROUPS, load_group

    for name, (_, _, shown) in GROUPS.items():
        assert load_group(name).info.help == shown, name
    out = run_cli("--help").stdout
    assert all(name in out for name in GROUPS)


def test_unreachable_postgresql_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSAM_DATABASE_URL", "postgresql://finsam:hemligt@127.0.0.1:1/finsam")
    result = finsam("plan", "list", code=2)
    assert result.stderr.startswith("error: cannot open the database: ")
    assert "hemligt" not in result.stderr


def test_db_status_says_where_the_database_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FINSAM_DATABASE_URL", f"sqlite:///{tmp_path / 'f.db'}")
    finsam("db", "upgrade")
    data = json.loads(finsam("db", "status", "--json").stdout)
    assert data["up_to_date"] is True and data["found_by"] == "FINSAM_DATABASE_URL"
