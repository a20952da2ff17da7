"""Eight writer processes on one database, each keeping up a spread of writes.

Each writer is a process of its own (`writers.py`) that builds its app the way
the CLI does and calls the services the CLI commands call, so that each process
gets through many commands in the time (a `finsam` process start-up costs most
of a second of CPU). The writers race on the same plans (some with
`--if-version`), the same meetings, report obligations and insats names.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import writers
from helpers import make_app

from workflow.core.clock import FixedClock, parse_instant

PROCESSES = 8
# Wall time the writers keep writing, as the issue asks (start-up, set-up and the
# checks come on top; in a parallel run the suite still ends well within 5 minutes).
# how long the writers write: the 30 s the issue asks of one SQLite file, a shorter
# run on PostgreSQL (its row locks contend less; the suite's time is shared)
SECONDS = {"sqlite": 30.0, "postgres": 12.0}
WRITER = str(Path(writers.__file__))
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def set_up(url: str) -> None:
    """Sydöstra Skåne, its 2027 cycle, four draft plans and six insatser owing reports."""
    from datetime import date

    from workflow.cycle import meetings
    from workflow.plans import services as plans
    from workflow.plans.content import Content
    from workflow.reports import insatser
    from workflow.reports import obligations as reports

    app = make_app(url, FixedClock(parse_instant(writers.NOW)))
    try:
        meetings.generate(app, None, 2027, actor_email=writers.CHEF)
        for year in writers.PLAN_YEARS:
            plans.create(
                app,
                forbund_key=None,
                year=year,
                last_year=None,
                title=None,
                actor_email=writers.CHEF,
                content=Content(f"# Verksamhetsplan {year}\n\nText.", "markdown"),
            )
        for i in range(writers.INSATSER):
            insatser.add(
                app,
                None,
                actor_email=writers.CHEF,
                name=f"Insats {i}",
                owner="region-skane",
                start=date(2026, 1, 1),
                leader_name=f"Ledare {i}",
                leader_email=f"ledare{i}@insats.example",
            )
        reports.generate(app, None, 2027, actor_email=writers.CHEF)
    finally:
        app.engine.dispose()


def run_writers(url: str, tmp_path: Path, seconds: float) -> list[dict[str, Any]]:
    """Start the writers, let them all begin at once, and collect what each did."""
    env = writers.environment(url, FINSAM_NOW=writers.NOW, FINSAM_DATA_DIR=str(tmp_path / "files"))
    procs = []
    logs = []
    started = time.monotonic()
    for i in range(PROCESSES):
        folder = tmp_path / f"writer-{i}"
        folder.mkdir()
        logs.append((folder / "stderr").open("w"))
        procs.append(
            subprocess.Popen(
                [sys.executable, WRITER, str(i), str(seconds), str(folder / "results.json")],
                env=env,
                cwd=tmp_path,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=logs[-1],
                text=True,
            )
        )
    try:
        for i, p in enumerate(procs):  # every writer has built its app: all start at once
            assert p.stdout is not None
            line = p.stdout.readline()
            assert line == "ready\n", (line, (tmp_path / f"writer-{i}" / "stderr").read_text())
        print(f"\nwriters ready after {time.monotonic() - started:.1f} s")
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.close()
        codes = [p.wait(timeout=seconds + 120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()
        for log in logs:
            log.close()
    assert codes == [0] * PROCESSES, [
        (tmp_path / f"writer-{i}" / "stderr").read_text() for i in range(PROCESSES)
    ]
    return [
        json.loads((tmp_path / f"writer-{i}" / "results.json").read_text())
        for i in range(PROCESSES)
    ]


def report(runs: list[dict[str, Any]], backend: str) -> Counter[tuple[str, int]]:
    """Print the commands per kind and exit code, with their durations; the counts."""
    counts: Counter[tuple[str, int]] = Counter()
    times: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        for kind, code, seconds in run["results"]:
            counts[kind, code] += 1
            times[kind].append(seconds)
    print(f"\n{PROCESSES} writers on {backend} for {SECONDS[backend]:g} s:")
    heads = ("exit 0", "exit 2", "exit 3", "other", "mean s", "max s")
    print(f"{'command':<18}" + "".join(f"{h:>8}" for h in heads))
    for kind in sorted(times):
        other = sum(n for (k, c), n in counts.items() if k == kind and c not in (0, 2, 3))
        print(
            f"{kind:<18}{counts[kind, 0]:>8}{counts[kind, 2]:>8}{counts[kind, 3]:>8}{other:>8}"
            f"{sum(times[kind]) / len(times[kind]):>8.3f}{max(times[kind]):>8.2f}"
        )
    per_writer = [len(run["results"]) for run in runs]
    print(f"commands per writer: {per_writer}, in all {sum(per_writer)}")
    print(f"exit 3 for the busy deadline: {sum(run['busy'] for run in runs)} (the rest: conflicts)")
    return counts


def inconsistencies(url: str) -> list[str]:
    """What does not add up: a plan, obligation or meeting whose row disagrees with
    its history, or a history row written from a state its subject had left."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT plan_id, subject, from_state, to_state FROM audit_event ORDER BY seq"
                )
            ).all()
            plans = conn.execute(sa.text("SELECT id, state, version FROM plan")).all()
            obligations = conn.execute(sa.text("SELECT id, state FROM obligation")).all()
            meetings = conn.execute(
                sa.text(
                    "SELECT m.id, m.sequence, count(c.id) FROM meeting m "
                    "LEFT JOIN meeting_change c ON c.meeting_id = m.id GROUP BY m.id, m.sequence"
                )
            ).all()
    finally:
        engine.dispose()
    trail: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
    for plan_id, subject, before, after in rows:
        key = f"plan:{plan_id}" if plan_id is not None else subject
        if key is not None:
            trail[key].append((before, after))
    found = []
    for key, steps in trail.items():
        for (_, left), (came_from, _) in itertools.pairwise(steps):
            if came_from != left:
                found.append(f"{key}: a row from {came_from!r} follows one to {left!r}: {steps}")
    for plan_id, state, version in plans:
        steps = trail[f"plan:{plan_id}"]
        if steps[-1][1] != state:
            found.append(f"plan {plan_id} is {state!r}, its last audit row says {steps[-1][1]!r}")
        # create is version 1; each edit and move adds one version and one row
        if version != len(steps):
            found.append(f"plan {plan_id} is at version {version} after {len(steps)} audit rows")
    for obligation_id, state in obligations:
        steps = trail.get(f"obligation:{obligation_id}")
        if not steps or steps[-1][1] != state:
            found.append(f"obligation {obligation_id} is {state!r}, its audit rows: {steps}")
    for meeting_id, sequence, changes in meetings:
        # each move or cancel adds one to the iCalendar SEQUENCE and records one change
        if sequence != changes:
            found.append(f"meeting {meeting_id} has SEQUENCE {sequence} after {changes} changes")
    return found


@pytest.mark.parametrize("backend", BACKENDS)
def test_eight_writers_keep_the_data_consistent(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Eight processes write at once for SECONDS (30 s on SQLite) of wall time: plan moves
    along the workflow and edits (racing on four plans, half of them with
    `--if-version`), meeting moves and cancels, other years' cycles, new insatser
    (half under names every writer tries), report generation, submissions,
    approvals and returns, and outbox queueing.

    Proves: every command ends with exit 0, 2 or 3, never 1 or a traceback; the
    writers make progress (a good share ends 0, every writer gets through some);
    the audit chain verifies (`finsam audit verify`); each plan and report
    obligation is in the state its last audit row names, every audit row starts
    from the state the row before it on the same subject left, each plan's
    version counts its audit rows and each meeting's iCalendar SEQUENCE counts
    its recorded changes: no write was lost or made from a stale read.
    """
    url = (
        f"sqlite:///{tmp_path / 'finsam.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    set_up(url)
    started = time.monotonic()
    runs = run_writers(url, tmp_path, SECONDS[backend])
    print(f"\nwriters ran {time.monotonic() - started:.1f} s including start-up")
    counts = report(runs, backend)

    crashes = [c for run in runs for c in run["crashes"]]
    assert not crashes, "\n".join(f"{c['kind']}:\n{c['traceback']}" for c in crashes)
    assert {code for _, code in counts} <= {0, 2, 3}, counts
    total = sum(counts.values())
    done = sum(n for (_, code), n in counts.items() if code == 0)
    assert done >= total / 4, counts
    assert all(any(code == 0 for _, code, _ in run["results"]) for run in runs)
    for kind in ("plan move", "meeting move", "reports submit"):
        assert counts[kind, 0] > 0, (kind, counts)

    verify = subprocess.run(
        [writers.FINSAM, "audit", "verify"],
        env=writers.environment(url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, (verify.stdout, verify.stderr)
    found = inconsistencies(url)
    assert not found, "\n".join(found)
