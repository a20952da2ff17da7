"""`finsam scheduler run` as real processes: one per SQLite file, many on PostgreSQL.

Three nodes share 200 due reminders through a real SMTP server on loopback; one
is killed with SIGKILL while it has a message on the wire, and the others take
over its claims once their lease runs out. Each node has one SMTP connection
(FINSAM_MAIL_CONCURRENCY=1), so the kill can repeat at most the one message in
flight. The test waits on conditions (the server's gate, the database), never on
sleeps, so a slow machine makes it slower, not flaky.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CHEF, advance_to, make_app, owe_reports
from smtp_sink import Handler, Sink

from workflow.cycle import meetings

FINSAM = str(Path(sys.executable).with_name("finsam"))
REMINDERS = 200
CONCURRENCY = 1


def env_for(url: str, sink: Sink | None, now: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINSAM_")}
    env.update(
        FINSAM_DATABASE_URL=url,
        FINSAM_NOW=now,
        FINSAM_MAIL_URL=sink.url if sink else "console:",
        FINSAM_MAIL_CONCURRENCY=str(CONCURRENCY),
        FINSAM_MAIL_LEASE_SECONDS="3",
        FINSAM_SCHEDULER_OUTBOX_SECONDS="0.5",
        FINSAM_SCHEDULER_NOTIFY_SECONDS="1",
        FINSAM_SCHEDULER_HEARTBEAT_SECONDS="1",
    )
    return env


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [FINSAM, "scheduler", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_sqlite_allows_one_daemon_and_sigterm_stops_it_cleanly(tmp_path: Path, clock: Any) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    make_app(url, clock).engine.dispose()
    env = env_for(url, None, clock.now().isoformat())
    log = tmp_path / "first.log"
    first = start(env, log)
    try:
        wait_for(lambda: '"event": "sweep-done"' in log.read_text(), 30, "the first sweeps")
        second = subprocess.run(
            [FINSAM, "scheduler", "run"], env=env, capture_output=True, text=True, timeout=30
        )
        assert second.returncode == 3, (second.stdout, second.stderr)
        assert "a scheduler already runs on" in second.stderr and "PostgreSQL" in second.stderr
        status = subprocess.run(
            [FINSAM, "scheduler", "status", "--json"], env=env, capture_output=True, text=True
        )
        assert status.returncode == 0, status.stderr
        data = json.loads(status.stdout)
        assert [n["alive"] for n in data["nodes"]] == [True], data
    finally:
        first.send_signal(signal.SIGTERM)
        began = time.monotonic()
        assert first.wait(15) == 0, log.read_text()
    assert time.monotonic() - began < 10
    lines = events(log)
    assert lines[0]["event"] == "started" and lines[-1]["event"] == "stopped", lines
    assert all({"ts", "level", "node", "event"} <= set(line) for line in lines)
    # the lock died with the daemon: another one may start now
    again = start(env, tmp_path / "again.log")
    wait_for(lambda: "sweep-done" in (tmp_path / "again.log").read_text(), 30, "the restart")
    again.send_signal(signal.SIGINT)
    assert again.wait(15) == 0, (tmp_path / "again.log").read_text()


def test_sigterm_mid_delivery_finishes_the_message_in_hand_and_gives_the_rest_back(
    tmp_path: Path, clock: Any
) -> None:
    from helpers import queue_arrivals

    from workflow.mail import delivery as outbox

    url = f"sqlite:///{tmp_path / 'f.db'}"
    app = make_app(url, clock)
    queue_arrivals(app, 300, "term")
    app.engine.dispose()
    with Sink(Handler(delay=0.02)) as sink:  # slow: some 6 s for all of them
        log = tmp_path / "node.log"
        node = start(env_for(url, sink, clock.now().isoformat()), log)
        wait_for(lambda: len(sink.received) >= 30, 60, "the first messages")
        node.send_signal(signal.SIGTERM)
        began = time.monotonic()
        assert node.wait(15) == 0
        assert time.monotonic() - began < 10
        arrived = len(sink.received)
    app = make_app(url, clock)
    counts = outbox.counts(app)
    app.engine.dispose()
    # what arrived is marked sent; nothing is left claimed: the rest went back to the queue
    # (300 arrivals, and the catch-up's reminders that 2026 and 2027 have no meetings)
    assert counts == {"sent": arrived, "queued": 302 - arrived}
    assert 0 < arrived < 300


@pytest.mark.postgres
def test_three_nodes_share_200_reminders_and_survive_a_kill(
    pg_url: str, clock: Any, tmp_path: Path
) -> None:
    from workflow.core.models import OutboxAttempt, OutboxMessage
    from workflow.core.uow import read
    from workflow.mail import delivery as outbox

    app = make_app(pg_url, clock)
    clock_now = "2027-01-10T09:00"
    advance_to(clock, clock_now)
    meetings.generate(app, None, 2027, actor_email=CHEF)
    owe_reports(app, REMINDERS, "2027-01-20")  # each one's 14-day reminder has fallen due
    # the server holds each message at its gate until every node has one on the wire
    handler = Handler(delay=0.002)
    handler.gate.clear()
    try:
        with Sink(handler) as sink:
            env = env_for(pg_url, sink, clock_now)
            logs = [tmp_path / f"node{i}.log" for i in range(3)]
            procs = [start(env, log) for log in logs]
            try:
                wait_for(lambda: handler.waiting == 3, 120, "every node sending")
                # each log's first line (the rest may be half written now)
                names = [json.loads(log.read_text().split("\n", 1)[0])["node"] for log in logs]
                procs[0].kill()  # SIGKILL: no chance to give anything back
                procs[0].wait(10)
                with read(app) as uow:
                    orphans = uow.session.scalars(
                        sa.select(OutboxMessage.id).where(
                            OutboxMessage.state == "sending", OutboxMessage.claimed_by == names[0]
                        )
                    ).all()
                assert orphans  # at least the message it had on the wire
                handler.gate.set()
                wait_for(
                    lambda: outbox.counts(app) == {"sent": REMINDERS}, 120, "every reminder sent"
                )
            finally:
                handler.gate.set()
                for p in procs[1:]:
                    p.send_signal(signal.SIGTERM)
                codes = [p.wait(15) for p in procs[1:]]
            assert codes == [0, 0]
        ids = Counter(r.message["Message-ID"] for r in sink.received)
        reminders = {
            r.message["Message-ID"]
            for r in sink.received
            if "Slutrapport" in str(r.message["Subject"])
        }
        assert len(ids) == len(reminders) == REMINDERS  # nothing lost, nothing else sent
        assert sum(n - 1 for n in ids.values()) <= CONCURRENCY  # one kill: its messages in flight
        # the dead node's claims ran out and the others sent those messages
        with read(app) as uow:
            senders = uow.session.execute(
                sa.select(OutboxAttempt.message, OutboxAttempt.worker).where(
                    OutboxAttempt.message.in_(orphans), OutboxAttempt.outcome == "sent"
                )
            ).all()
        assert {m for m, _ in senders} == set(orphans)
        assert {w for _, w in senders} <= set(names[1:])
        # every surviving node sent a share (each had a message on the wire at the gate)
        for log in logs[1:]:
            assert any(e["event"] == "sent" for e in events(log))
    finally:
        app.engine.dispose()
