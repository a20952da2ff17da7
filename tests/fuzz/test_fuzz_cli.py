"""Every command, found in the Typer app (a new one is fuzzed without editing this file),
run with hostile arguments against a realistic year: no traceback, no hang, exit 0-3,
and a refused command changes nothing.

FINSAM_FUZZ_EXAMPLES sets the examples per test for a long run, e.g.
`FINSAM_FUZZ_EXAMPLES=3000 .venv/bin/python -m pytest tests/fuzz -n 0 -s`;
FINSAM_FUZZ_REPORT=FILE collects the grouped failures there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fuzzing import (
    FUZZ_SETTINGS,
    HANG_SECONDS,
    Command,
    Findings,
    Harness,
    Param,
    all_commands,
    arguments,
    environments,
    examples,
)
from helpers import CHEF, dump
from hypothesis import given, settings
from hypothesis import strategies as st

COMMANDS = all_commands()
ANY_EXIT = {0, 1, 2, 3}


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_command_with_hostile_arguments(harness: Harness, command: Command) -> None:
    """Random arguments, option subsets, people, clocks and databases; every failure is
    collected, so the message lists each distinct one (grouped by where it happened)."""
    findings = Findings()

    @settings(FUZZ_SETTINGS, max_examples=examples(4))
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        args = data.draw(arguments(harness, command), label="args")
        env = data.draw(environments(harness), label="env")
        findings.add(harness.run(args, env, ANY_EXIT), command.name)

    run()
    print(f"\n{command.name}: {findings.summary()}")
    findings.write(f"command: {command.name}")
    if findings.groups:
        pytest.fail(findings.report(), pytrace=False)


# ---------------------------------------------------------------- special files

# parameters that name a file finsam writes: a FIFO there waits for its reader, as it should
OUTPUTS = {"output", "ics"}
PLAUSIBLE = {
    "int": "1",
    "year": "2027",
    "action": "submit",
    "to": "2027-10-04",
    "on": "2027-10-04",
    "body": "styrelse",
    "target": "1",
    "actor": CHEF,
}


def plausible_args(harness: Harness, command: Command, under_test: Param, path: str) -> list[str]:
    """The command with its required parameters filled sensibly and `under_test` = path."""
    args = list(command.path)
    for param in command.params:
        if param is under_test:
            value = path
        elif param.required or param.name == "actor":
            if param.annotation == "Path":
                value = str(harness.inputs / "report.txt")
            else:
                value = PLAUSIBLE.get(param.name) or PLAUSIBLE.get(param.annotation) or "x"
        else:
            continue
        args += [param.opts[0], value] if param.opts else [value]
    return args


PATH_PARAMS = [
    (command, param)
    for command in COMMANDS
    for param in command.params
    if param.annotation == "Path" or param.name == "target"
]


def _special(harness: Harness, kind: str) -> str:
    return {"fifo": str(harness.fifo), "zero": "/dev/zero", "dir": str(harness.inputs / "dir")}[
        kind
    ]


@pytest.mark.parametrize("kind", ["fifo", "zero", "dir"])
def test_path_parameters_refuse_special_files(harness: Harness, kind: str) -> None:
    """A FIFO, /dev/zero and a directory in every path parameter: a quick answer, no
    traceback (a FIFO is only tried where finsam reads)."""
    findings = Findings()
    for command, param in PATH_PARAMS:
        if kind == "fifo" and param.name in OUTPUTS:
            continue
        args = plausible_args(harness, command, param, _special(harness, kind))
        findings.add(harness.run(args, {}, ANY_EXIT), command.name)
    print(f"\n{kind}: {findings.summary()}")
    findings.write(f"special files: {kind}")
    if findings.groups:
        pytest.fail(findings.report(), pytrace=False)


# ---------------------------------------------------------------- whole processes

FINSAM = str(Path(sys.executable).with_name("finsam"))


def _process(harness: Harness, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FINSAM_") and k not in {"COLUMNS", "LINES"}
    }
    environment.update(
        {k: v for k, v in harness.env().items() if v is not None}, **env, FINSAM_MAIL_URL="console:"
    )
    return subprocess.run(
        [FINSAM, *args],
        env=environment,
        cwd=harness.root,
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS + 10,
    )


def _cases(harness: Harness) -> list[tuple[list[str], dict[str, str]]]:
    """Few, as a process costs seconds here: the rest of these run in-process above."""
    return [
        (["init", "--forbund", str(harness.fifo)], {}),
        (["db", "status"], {"FINSAM_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}),
        (["db", "upgrade"], {"FINSAM_DATABASE_URL": f"sqlite:///{harness.inputs / 'random.bin'}"}),
    ]


CASE_IDS = ["init-fifo", "url-postgres-unreachable", "url-garbage-file"]


@pytest.mark.parametrize("case", range(len(CASE_IDS)), ids=CASE_IDS)
def test_whole_process_answers(harness: Harness, case: int) -> None:
    """What only a real process shows: a FIFO on the command line and database URLs
    from the environment answer at once with exit 2, no traceback, nothing changed."""
    args, env = _cases(harness)[case]
    harness.dirty = True
    harness.restore()
    try:
        result = _process(harness, args, **env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"finsam {' '.join(args)} {env}: no answer in {HANG_SECONDS + 10:g} s")
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == 2, (result.returncode, output)
    assert dump(harness.url) == harness.pristine_dump
