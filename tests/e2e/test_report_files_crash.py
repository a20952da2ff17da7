"""Submissions killed with SIGKILL at any moment: `db check --repair` always leaves a clean
store, and every committed row's file is there with the recorded hash.

A child process runs many submissions of different files through the service. It is
killed at two exact points (before the commit, and between the commit and putting the
file in place: the child replaces one function with a suicide, a hook that lives only
here) and at random moments in a loop of submissions. No assertion depends on when a
kill landed.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import ROOT, make_app, owe_reports

CHILD = """
import os, signal, sys
from pathlib import Path

from workflow.bootstrap import bootstrap
from workflow.core.exceptions import FinsamError
from workflow.reports import files, obligations


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


mode, jobs = sys.argv[1], sys.argv[2:]
if mode == "before-commit":
    obligations.write = die
elif mode == "after-commit":
    files.publish = die
app = bootstrap()
print("ready", flush=True)
for job in jobs:
    report, email, path = job.split("|")
    try:
        obligations.submit(app, int(report), Path(path), email)
    except FinsamError:
        pass  # submitted by an earlier child already
print("done", flush=True)
"""


@pytest.fixture
def setting(tmp_path: Path, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    store = tmp_path / "files"
    monkeypatch.setenv("FINSAM_DATA_DIR", str(store))
    app = make_app(url, clock)
    owe_reports(app, 30, "2027-06-01", year=2026)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINSAM_")}
    env.update(
        FINSAM_DATABASE_URL=url, FINSAM_DATA_DIR=str(store), FINSAM_NOW=clock.now().isoformat()
    )
    yield app, store, script, env, _jobs(app, tmp_path)
    app.engine.dispose()


def _jobs(app: Any, folder: Path) -> list[str]:
    """One different text file per owed report, 64 kB to 1 MB: `id|leader|path`."""
    from workflow.core.models import Insats, Obligation

    with app.engine.connect() as conn:
        rows = conn.execute(
            sa.select(Obligation.id, Insats.leader_email)
            .join(Insats, Insats.id == Obligation.insats_id)
            .order_by(Obligation.id)
        ).all()
    jobs = []
    for n, (report, email) in enumerate(rows):
        doc = folder / f"rapport-{report}.txt"
        doc.write_bytes(f"Slutrapport {report}, rad {n}\n".encode() * (3000 + 1500 * n))
        jobs.append(f"{report}|{email}|{doc}")
    return jobs


def _child(script: Path, env: dict[str, str], mode: str, jobs: list[str]) -> Any:
    return subprocess.Popen(
        [sys.executable, str(script), mode, *jobs],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _dies_by_itself(script: Path, env: dict[str, str], mode: str, job: str) -> None:
    child = _child(script, env, mode, [job])
    _, err = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL, err


def _submitted(app: Any) -> dict[int, str]:
    from workflow.core.models import Obligation

    with app.engine.connect() as conn:
        return dict(
            conn.execute(
                sa.select(Obligation.id, Obligation.file_sha256).where(
                    Obligation.file_sha256.is_not(None)
                )
            ).all()
        )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_killed_before_the_commit_leaves_a_staged_file_repair_removes(setting: Any) -> None:
    from workflow.reports import files

    app, store, script, env, jobs = setting
    _dies_by_itself(script, env, "before-commit", jobs[0])
    found = files.check(app)
    assert (len(found["staging"]), found["dangling"], found["orphans"]) == (1, [], [])
    assert _submitted(app) == {}
    repaired = files.check(app, repair=True)
    assert repaired["clean"] and repaired["repaired"][0].endswith("its submission never committed)")
    assert [p for p in store.rglob("*") if p.is_file()] == []


def test_killed_between_commit_and_publish_the_next_submission_publishes(
    setting: Any,
) -> None:
    from workflow.reports import files, obligations

    app, store, script, env, jobs = setting
    _dies_by_itself(script, env, "after-commit", jobs[0])
    sha = next(iter(_submitted(app).values()))
    found = files.check(app)
    assert [(d["sha256"], d["problem"]) for d in found["dangling"]] == [(sha, "missing")]
    assert len(found["staging"]) == 1 and not found["clean"]
    # the next submission settles what the killed one left, before its own file
    other, email, path = jobs[1].split("|")
    obligations.submit(app, int(other), Path(path), email)
    assert files.check(app)["clean"]
    assert _sha(files.stored_path(store, sha)) == sha == _sha(Path(jobs[0].split("|")[2]))


def test_submissions_killed_at_random_moments_leave_nothing_repair_cannot_settle(
    setting: Any,
) -> None:
    from workflow.reports import files

    app, store, script, env, jobs = setting
    rng = random.Random(13)
    for _ in range(3):
        child = _child(script, env, "random", jobs)
        assert child.stdout.readline() == "ready\n", child.stderr.read()
        try:
            child.wait(timeout=rng.uniform(0.0, 0.4))  # a moment somewhere in the submissions
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
        child.communicate(timeout=120)
    files.check(app, repair=True)
    after = files.check(app)
    assert after["clean"], after
    assert not list((store / ".staging").iterdir())
    for report, sha in _submitted(app).items():
        assert _sha(files.stored_path(store, sha)) == sha, report
    stored = {p.name for p in store.rglob("*") if p.is_file()}
    assert stored == set(_submitted(app).values())
