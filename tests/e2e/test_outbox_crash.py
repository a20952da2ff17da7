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


def queue_many(app: Any) -> set[str]:
    return {m.message_id for m in queue_arrivals(app, MESSAGES, "crash")}


def test_sigkill_mid_batch_then_restart(tmp_path: Path, clock: Any) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    app = make_app(url, clock)
    expected = queue_many(app)
    app.engine.dispose()
    with Sink(Handler(delay=0.005)) as sink:
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
        deadline = time.monotonic() + 60
        while len(sink.received) < MESSAGES // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        arrived_before = len(sink.received)
        assert 0 < arrived_before < MESSAGES
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
    with Sink(Handler(delay=0.002)) as sink:
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
        outputs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), outputs
    ids = Counter(r.message["Message-ID"] for r in sink.received)
    assert set(ids) == expected and max(ids.values()) == 1
    # both took a share of the work
    assert all("sent 0," not in out for out, _ in outputs), outputs
