"""The outbox against raw aiosmtplib, sending the same 2 000 messages to the same sink.

The sink is an aiosmtpd server in a separate process that accepts and discards.
Three runs in one process: (a) raw aiosmtplib with a new connection per message,
(b) raw aiosmtplib with the outbox's connection reuse and concurrency, and
(c) the outbox itself (claim, send, mark each message in its own transaction)
on a SQLite file. The last line is JSON with the rates and the ratios
vs_naive = c / a and vs_pooled = c / b. Not part of the tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))

SINK = textwrap.dedent("""
    import signal, sys, threading
    from aiosmtpd.controller import Controller
    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"
    c = Controller(Discard(), hostname="127.0.0.1", port=int(sys.argv[1]))
    c.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    stop.wait()
    c.stop()
""")


def start_sink() -> tuple[subprocess.Popen[str], int]:
    from smtp_sink import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc, port


def messages(app: object, round_no: int = 0) -> list[tuple[str, list[str], bytes]]:
    from helpers import queue_arrivals

    return [
        (m.sender, list(m.recipients), m.raw)
        for m in queue_arrivals(app, MESSAGES, f"bench:{round_no}")
    ]


async def naive(port: int, batch: list[tuple[str, list[str], bytes]]) -> None:
    import aiosmtplib

    for sender, rcpts, raw in batch:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        await client.sendmail(sender, rcpts, raw)
        await client.quit()


async def pooled(port: int, batch: list[tuple[str, list[str], bytes]]) -> None:
    import aiosmtplib

    queue: asyncio.Queue[tuple[str, list[str], bytes]] = asyncio.Queue()
    for item in batch:
        queue.put_nowait(item)

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        while not queue.empty():
            sender, rcpts, raw = queue.get_nowait()
            await client.sendmail(sender, rcpts, raw)
        await client.quit()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def main() -> None:
    from statistics import median

    from helpers import make_app

    from workflow.core.clock import FixedClock
    from workflow.mail import delivery as outbox

    sink, port = start_sink()
    rates: dict[str, list[float]] = {"naive": [], "pooled": [], "outbox": []}
    try:
        folder = Path(tempfile.mkdtemp(prefix="finsam-bench-"))
        app = make_app(
            f"sqlite:///{folder / 'bench.db'}", FixedClock(datetime(2027, 1, 10, 9, tzinfo=UTC))
        )
        os.environ.update(
            FINSAM_MAIL_URL=f"smtp://127.0.0.1:{port}", FINSAM_MAIL_CONCURRENCY=str(CONCURRENCY)
        )
        for round_no in range(ROUNDS):  # interleaved, so noise hits all three alike
            batch = messages(app, round_no)
            start = time.perf_counter()
            asyncio.run(naive(port, batch))
            rates["naive"].append(len(batch) / (time.perf_counter() - start))
            start = time.perf_counter()
            asyncio.run(pooled(port, batch))
            rates["pooled"].append(len(batch) / (time.perf_counter() - start))
            start = time.perf_counter()
            result = outbox.send(app)
            rates["outbox"].append(result["sent"] / (time.perf_counter() - start))
            assert result["sent"] == len(batch), (result, len(batch))
    finally:
        sink.terminate()
        sink.wait(10)
    naive_rate, pooled_rate, outbox_rate = (median(rates[k]) for k in ("naive", "pooled", "outbox"))
    print(f"medians of {ROUNDS} rounds of {MESSAGES} messages")
    print(f"naive aiosmtplib (a connection per message): {naive_rate:7.0f} msg/s")
    print(f"pooled aiosmtplib ({CONCURRENCY} connections):       {pooled_rate:7.0f} msg/s")
    print(f"finsam outbox ({CONCURRENCY} connections, SQLite):   {outbox_rate:7.0f} msg/s")
    print(
        json.dumps(
            {
                "messages": MESSAGES,
                "rounds": ROUNDS,
                "naive": round(naive_rate),
                "pooled": round(pooled_rate),
                "outbox": round(outbox_rate),
                "vs_naive": round(outbox_rate / naive_rate, 2),
                "vs_pooled": round(outbox_rate / pooled_rate, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
