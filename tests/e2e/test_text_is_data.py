"""What people and files write is shown as written: a "[/]" or "[bold]" in a title or
a name is text, never a Rich style, and never breaks a listing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CHEF, run_cli

HOSTILE = ["[/]", "[bold]fet[/bold]", "[utkast]", "[red]rött", "[link=x]y"]


@pytest.mark.parametrize("title", HOSTILE)
def test_plan_titles_are_shown_literally(year_db: str, tmp_path: Path, title: str) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("# Plan\n", encoding="utf-8")
    made = run_cli(
        "plan", "new", "--year", "2028", "--file", str(plan), "--title", title, "--as", CHEF,
        "--json",
    )  # fmt: skip
    pid = json.loads(made.stdout)["id"]
    assert title in run_cli("plan", "list").stdout
    assert f"Plan {pid}: {title} (" in run_cli("plan", "show", str(pid)).stdout


@pytest.mark.parametrize("name", HOSTILE)
def test_insats_names_are_shown_literally(year_db: str, name: str) -> None:
    added = run_cli(
        "insats", "add", "--name", name, "--owner", "ystad", "--start", "2027-03-01", "--json",
        "--as", CHEF,
    )  # fmt: skip
    insats = json.loads(added.stdout)["id"]
    run_cli("reports", "generate", "--year", "2027", "--as", CHEF)
    assert name in run_cli("insats", "list").stdout
    assert run_cli("insats", "show", str(insats)).stdout.startswith(f"{name} (")
    assert name in run_cli("reports", "status", "--year", "2027").stdout
