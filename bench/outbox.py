"""The outbox against raw senders, sending the same messages to the same sink.

The sink is an aiosmtpd server in a separate process that accepts and discards.
Each round queues batches of 2 000 messages and sends them with:

- naive: raw aiosmtplib, a new connection per message (the strawman);
- raw N (N = 2, 4, 8, 16): raw aiosmtplib `sendmail` over N kept connections,
  each taking the next message as the outbox's connections do. The best of
  these is the ceiling: what an aiosmtplib client gets out of this sink at all;
- pipelined: raw sockets that write MAIL, RCPT and DATA in one go (RFC 2920)
  with no library: the sink's own capacity. aiosmtpd does not offer PIPELINING,
  so no SMTP client that keeps to the protocol gets there; shown for scale;
- outbox N: the outbox itself (claim, send, mark) over N connections
  (FINSAM_MAIL_CONCURRENCY=N), on a SQLite file or on BENCH_DATABASE_URL (e.g.
  a PostgreSQL database to be filled with a förbund).

Like with like: every sender sends the same kind of message (the same
template, so the same size to a few bytes) to the same one recipient, and the
outbox is compared with the raw sender at the same number of connections; the
headline ratio is the outbox at the ceiling's number of connections against the
ceiling. The sink shares the machine's cores with this process, so the client's
CPU time per message (this process's, during the run) is shown beside each rate:
every millisecond the client spends is one the sink does not get.

The rounds are interleaved (each round runs every sender once, in turn), so
noise hits them alike; the figures are medians. The last line is JSON with the
rates and the ratios of the outbox to each. Not part of the tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = tuple(int(n) for n in os.environ.get("BENCH_CONNECTIONS", "2,4,8,16").split(","))
PIPELINED = int(os.environ.get("BENCH_PIPELINED", "2"))
DATABASE = os.environ.get("BENCH_DATABASE_URL")

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

Message = tuple[str, list[str], bytes]
T = TypeVar("T")


def start_sink() -> tuple[subprocess.Popen[str], int]:
    from smtp_sink import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc, port


def messages(app: object, round_no: int = 0) -> list[Message]:
    from helpers import queue_arrivals

    return [
        (m.sender, list(m.recipients), m.raw)
        for m in queue_arrivals(app, MESSAGES, f"bench:{round_no}")
    ]


async def naive(port: int, batch: list[Message]) -> None:
    import aiosmtplib

    for sender, rcpts, raw in batch:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        await client.sendmail(sender, rcpts, raw)
        await client.quit()


async def pooled(port: int, batch: list[Message], connections: int) -> None:
    """Raw aiosmtplib over kept connections, each taking the next message as the outbox's do."""
    import aiosmtplib

    queue: asyncio.Queue[Message] = asyncio.Queue()
    for item in batch:
        queue.put_nowait(item)

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        while not queue.empty():
            sender, rcpts, raw = queue.get_nowait()
            await client.sendmail(sender, rcpts, raw)
        await client.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))


async def pipelined(port: int, batch: list[Message], connections: int = PIPELINED) -> None:
    """Raw sockets, each message's envelope in one write and its answers read after."""

    async def sender(share: list[Message]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        writer.write(b"EHLO bench\r\n")
        while (await reader.readline())[3:4] != b" ":
            pass
        for sender, rcpts, raw in share:
            envelope = b"MAIL FROM:<%s>\r\n" % sender.encode()
            envelope += b"".join(b"RCPT TO:<%s>\r\n" % r.encode() for r in rcpts)
            writer.write(envelope + b"DATA\r\n")
            for _ in range(len(rcpts) + 2):
                answer = await reader.readline()
            assert answer.startswith(b"354"), answer
            data = re.sub(rb"\r?\n", b"\r\n", raw).replace(b"\r\n.", b"\r\n..")
            writer.write(data + (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\n")
            answer = await reader.readline()
            assert answer.startswith(b"250"), answer
        writer.write(b"QUIT\r\n")
        await reader.readline()
        writer.close()
        await writer.wait_closed()

    await asyncio.gather(*(sender(batch[i::connections]) for i in range(connections)))


class Figures:
    """Per sender, its rate (messages a second) and this process's CPU per message (ms)."""

    def __init__(self, names: list[str]) -> None:
        self.rates: dict[str, list[float]] = {name: [] for name in names}
        self.cpu: dict[str, list[float]] = {name: [] for name in names}

    def run(self, name: str, count: int, go: Callable[..., T], *args: Any) -> T:
        """`go(*args)`, timed as sending `count` messages; what it returned."""
        start, used = time.perf_counter(), time.process_time()
        result = go(*args)
        took, used = time.perf_counter() - start, time.process_time() - used
        self.rates[name].append(count / took)
        self.cpu[name].append(used / count * 1000)
        return result

    def rate(self, name: str) -> float:
        return median(self.rates[name])

    def ms(self, name: str) -> float:
        return median(self.cpu[name])


def main() -> None:
    from helpers import make_app

    from workflow.core.clock import FixedClock
    from workflow.mail import delivery as outbox

    sink, port = start_sink()
    raw = [f"raw {n}" for n in CONNECTIONS]
    ours = [f"outbox {n}" for n in CONNECTIONS]
    names = ["naive", *raw, "pipelined", *ours]
    figures = Figures(names)
    try:
        folder = Path(tempfile.mkdtemp(prefix="finsam-bench-"))
        url = DATABASE or f"sqlite:///{folder / 'bench.db'}"
        app = make_app(url, FixedClock(datetime(2027, 1, 10, 9, tzinfo=UTC)))
        os.environ["FINSAM_MAIL_URL"] = f"smtp://127.0.0.1:{port}"
        for round_no in range(ROUNDS):  # interleaved, so noise hits them all alike
            batch = messages(app, round_no)
            figures.run("naive", len(batch), asyncio.run, naive(port, batch))
            for name, n in zip(raw, CONNECTIONS, strict=True):
                figures.run(name, len(batch), asyncio.run, pooled(port, batch, n))
            figures.run("pipelined", len(batch), asyncio.run, pipelined(port, batch))
            for i, (name, n) in enumerate(zip(ours, CONNECTIONS, strict=True)):
                # the round's batch, still queued, then the same kind queued afresh
                queued = batch if i == 0 else messages(app, round_no * 100 + n)
                os.environ["FINSAM_MAIL_CONCURRENCY"] = str(n)
                result = figures.run(name, len(queued), outbox.send, app)
                assert result["sent"] == len(queued), (result, len(queued))
    finally:
        sink.terminate()
        sink.wait(10)
    rate = {name: figures.rate(name) for name in names}
    best = max(CONNECTIONS, key=lambda n: rate[f"raw {n}"])
    ceiling = rate[f"raw {best}"]
    same = rate[f"outbox {best}"]  # the outbox at the ceiling's number of connections
    top = max(CONNECTIONS, key=lambda n: rate[f"outbox {n}"])
    where = "PostgreSQL" if url.startswith("postgresql") else "SQLite"

    def line(label: str, name: str) -> str:
        return f"{label:<44} {rate[name]:7.0f} msg/s  {figures.ms(name):6.3f} ms CPU/msg"

    print(f"medians of {ROUNDS} interleaved rounds of {MESSAGES} messages (outbox on {where})")
    print(line("naive aiosmtplib (a connection per message)", "naive"))
    for n in CONNECTIONS:
        print(line(f"raw aiosmtplib, {n} kept connections", f"raw {n}"))
    print(line(f"pipelined raw sockets ({PIPELINED} senders)", "pipelined"))
    for n in CONNECTIONS:
        print(line(f"finsam outbox, {n} connections", f"outbox {n}"))
    print(f"ceiling: raw aiosmtplib over {best} connections, {ceiling:.0f} msg/s")
    print(f"outbox over {best} connections / ceiling: {same / ceiling:.2f}")
    print(
        json.dumps(
            {
                "messages": MESSAGES,
                "rounds": ROUNDS,
                "database": where,
                "naive": round(rate["naive"]),
                "raw": {str(n): round(rate[f"raw {n}"]) for n in CONNECTIONS},
                "outbox": {str(n): round(rate[f"outbox {n}"]) for n in CONNECTIONS},
                "cpu_ms": {name: round(figures.ms(name), 3) for name in names},
                "pipelined": round(rate["pipelined"]),
                "ceiling": round(ceiling),
                "ceiling_connections": best,
                "outbox_at_ceiling_connections": round(same),
                "vs_ceiling": round(same / ceiling, 2),
                "best_outbox_vs_ceiling": round(rate[f"outbox {top}"] / ceiling, 2),
                "vs_naive": round(same / rate["naive"], 2),
                "vs_pipelined": round(same / rate["pipelined"], 2),
                "same_connections": {
                    str(n): round(rate[f"outbox {n}"] / rate[f"raw {n}"], 2) for n in CONNECTIONS
                },
            }
        )
    )


if __name__ == "__main__":
    main()
