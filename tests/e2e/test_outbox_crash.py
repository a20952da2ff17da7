"""A deliverer killed with SIGKILL mid-batch, then restarted: all arrives, at most one twice.

The deliverer runs as a real process against a real SMTP server on loopback;
one connection (FINSAM_MAIL_CONCURRENCY=1), so at most the one message in
flight when the process died can arrive twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from helpers import make_app, queue_arrivals
from smtp_sink import Handler, Sink

FINSAM = str(Path(sys.executable).with_name("finsam"))
MESSAGES = 300


def wait_for(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def queue_many(app: Any) -> set[str]:
    return {m.message_id for m in queue_arrivals(app, MESSAGES, "crash")}


def test_sigkill_mid_batch_then_restart(tmp_path: Path, clock: Any) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    app = make_app(url, clock)
    expected = queue_many(app)
    app.engine.dispose()
    # the server takes the first third, then holds the next message at its gate:
    # the deliverer is killed with that one on the wire
    handler = Handler(delay=0.005, hold_after=MESSAGES // 3)
    with Sink(handler) as sink:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FINSAM_")},
            "FINSAM_DATABASE_URL": url,
            "FINSAM_MAIL_URL": sink.url,
            "FINSAM_MAIL_CONCURRENCY": "1",
            "FINSAM_NOW": clock.now().isoformat(),
        }
        first = subprocess.Popen(
            [FINSAM, "outbox", "send"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_for(lambda: handler.waiting == 1, "a message held mid-send")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert len(sink.received) == MESSAGES // 3
        handler.gate.set()
        # later, when the dead deliverer's lease has run out, another one takes over
        later = clock.now() + timedelta(hours=1)
        second = subprocess.run(
            [FINSAM, "outbox", "send"],
            env={**env, "FINSAM_NOW": later.isoformat()},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 0, second.stderr
    ids = Counter(r.message["Message-ID"] for r in sink.received)
    assert set(ids) == expected
    assert sum(n - 1 for n in ids.values()) <= 1


def test_two_deliverers_share_the_queue_without_sending_twice(db_url: str, clock: Any) -> None:
    """Two `outbox send` processes at once on one database (SQLite or PostgreSQL)."""
    app = make_app(db_url, clock)
    expected = queue_many(app)
    app.engine.dispose()
    # the server holds every message at its gate until both deliverers have one
    # on the wire (two connections each): both have a share, however late one starts
    handler = Handler(delay=0.002)
    handler.gate.clear()
    with Sink(handler) as sink:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FINSAM_")},
            "FINSAM_DATABASE_URL": db_url,
            "FINSAM_MAIL_URL": sink.url,
            "FINSAM_MAIL_CONCURRENCY": "2",
            "FINSAM_NOW": clock.now().isoformat(),
        }
        procs = [
            subprocess.Popen(
                [FINSAM, "outbox", "send"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            wait_for(lambda: handler.waiting == 4, "both deliverers sending")
        finally:
            handler.gate.set()
        outputs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), outputs
    ids = Counter(r.message["Message-ID"] for r in sink.received)
    assert set(ids) == expected and max(ids.values()) == 1
    # both took a share of the work
    assert all("sent 0," not in out for out, _ in outputs), outputs
