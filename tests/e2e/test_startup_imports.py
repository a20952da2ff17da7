"""A command loads what it uses: a read loads no mail, no templates and no handler
table; a write that records an event loads the handlers it needs (decision 55)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers import ROOT, draft_plan, make_app

# modules a read command has no use for: the handler table and what it wires in
NOT_FOR_A_READ = ("workflow.handlers", "workflow.mail.compose", "jinja2", "alembic")
PROBE = """
import sys
from typer.testing import CliRunner
from cli.main import app
result = CliRunner().invoke(app, sys.argv[1:])
assert result.exit_code == 0, result.output
print(sorted(m for m in {names!r} if m in sys.modules))
"""


def loaded(url: str, *args: str) -> list[str]:
    """Which of NOT_FOR_A_READ a fresh process has imported after running `finsam ARGS`."""
    env = {"FINSAM_DATABASE_URL": url, "PATH": "/usr/bin:/bin", "FINSAM_NOW": "2027-03-01"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(names=NOT_FOR_A_READ), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return ast.literal_eval(out.strip().splitlines()[-1])


def test_reads_load_no_mail_and_no_handlers(tmp_path: Path, clock: Any) -> None:
    url = f"sqlite:///{tmp_path / 'finsam.db'}"
    app = make_app(url, clock)
    plan = draft_plan(app)
    app.engine.dispose()
    assert loaded(url, "plan", "show", str(plan)) == []
    assert loaded(url, "outbox", "list") == []


GC_PROBE = """
import gc, sys
import cli.main as main
from cli.common import handled

@main.app.command("probe")
@handled
def probe() -> None:
    garbage = []
    garbage.append(garbage)  # a cycle: only the collector frees it
    del garbage
    print(gc.isenabled(), gc.get_freeze_count() > 0, gc.collect() > 0)

sys.argv = ["finsam", "probe"]
main.run()
"""


def test_a_command_runs_with_the_collector_on_and_the_start_up_frozen() -> None:
    """`finsam` loads with the collector off and freezes what loading made before the
    command runs (an idle tick on 80 förbund spent a third of its work walking it):
    a command itself, `finsam web` and `scheduler run` above all, runs with it on."""
    out = subprocess.run(
        [sys.executable, "-c", GC_PROBE],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == ["True", "True", "True"]
