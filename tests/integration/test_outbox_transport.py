"""The SMTP connection's own MAIL, RCPT and DATA against a real server on loopback, and the
outbox's promise that a message's mark is written before the next one on its connection
goes: the leaner send must judge every answer as aiosmtplib's sendmail did."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiosmtplib.protocol import normalize_message_line_endings
from helpers import CHEF, queue_arrivals
from smtp_sink import Handler, Sink

from notifications.transport import Result, SmtpTransport, _wire_size
from workflow.mail import delivery as outbox

SENDER = "finsam@sydostraskane.example"
RAW = b"From: finsam@sydostraskane.example\r\nSubject: Hej\r\n\r\nEn rad.\r\n.punkt\r\n"


def transport(sink: Sink) -> SmtpTransport:
    return SmtpTransport(
        host="127.0.0.1",
        port=sink.port,
        use_tls=False,
        start_tls=None,
        username=None,
        password=None,
        timeout=10,
    )


def on_one_connection(sink: Sink, work: Callable[[Any], Awaitable[list[Result]]]) -> list[Result]:
    """`work(connection)` over one connection to `sink`, closed after."""

    async def run() -> list[Result]:
        conn = await transport(sink).open()
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"a",
        b"a\r\nb",
        b"a\r\nb\r\n",
        b"a\nb\n",
        b"a\rb\r",
        b"a\r\r\nb\n\r",
        b"\n\n\r\r\r\n",
        RAW,
    ],
)
def test_the_size_counted_is_the_size_sent(raw: bytes) -> None:
    """SIZE names the octets as they go, every line ending as CRLF (RFC 1870)."""
    assert _wire_size(raw) == len(normalize_message_line_endings(raw))


def test_answers_per_recipient_and_a_clean_envelope_after_each_refusal() -> None:
    """A refused recipient is refused alone; an envelope all refused, a bad address and a
    message the server turned down each leave the connection ready for the next."""
    handler = Handler(refuse={"nej@example.org"}, defer={"sen@example.org"})
    with Sink(handler) as sink:

        async def work(conn: Any) -> list[Result]:
            results = [
                await conn.send(SENDER, ["ja@example.org", "nej@example.org"], RAW, "<1@x>"),
                await conn.send(SENDER, ["nej@example.org", "sen@example.org"], RAW, "<2@x>"),
            ]
            with pytest.raises(ValueError):
                await conn.send(SENDER, ["ja@example.org", "inte en adress<>"], RAW, "<3@x>")
            handler.busy_for = 1  # the next DATA is answered 451
            results.append(await conn.send(SENDER, ["ja@example.org"], RAW, "<4@x>"))
            results.append(await conn.send(SENDER, ["ja@example.org"], b"a\nb\n", "<5@x>"))
            return results

        partly, none, busy, plain = on_one_connection(sink, work)
        received = sink.received
    assert partly.per_recipient == {
        "ja@example.org": ("sent", "250"),
        "nej@example.org": ("permanent", "550 5.1.1 Mailbox unavailable"),
    }
    assert none.per_recipient == {
        "nej@example.org": ("permanent", "550 5.1.1 Mailbox unavailable"),
        "sen@example.org": ("transient", "451 4.2.1 Mailbox busy, try again later"),
    }
    assert busy.per_recipient == {"ja@example.org": ("transient", "451 4.3.0 Try again later")}
    assert plain.outcome == "sent"
    assert [(r.sender, r.recipients) for r in received] == [
        (SENDER, ["ja@example.org"]),
        (SENDER, ["ja@example.org"]),
    ]
    assert received[0].raw.endswith(b"En rad.\r\n.punkt\r\n")  # the dot came through
    assert received[1].raw.replace(b"\r\n", b"\n").endswith(b"a\nb\n")


def test_ready_is_awaited_after_the_envelope_and_a_refusal_there_stops_the_message() -> None:
    """`ready` runs once the server took the envelope and before the message goes; when it
    raises, nothing is delivered and the connection is left clean for the next."""
    with Sink() as sink:
        seen: list[int] = []

        async def counted() -> None:
            seen.append(len(sink.received))

        async def refused() -> None:
            raise RuntimeError("the previous mark was not written")

        async def work(conn: Any) -> list[Result]:
            first = await conn.send(SENDER, ["ja@example.org"], RAW, "<1@x>", counted)
            second = await conn.send(SENDER, ["ja@example.org"], RAW, "<2@x>", counted)
            with pytest.raises(RuntimeError):
                await conn.send(SENDER, ["ja@example.org"], RAW, "<3@x>", refused)
            return [first, second, await conn.send(SENDER, ["ja@example.org"], RAW, "<4@x>")]

        results = on_one_connection(sink, work)
        received = len(sink.received)
    assert seen == [0, 1]
    assert [r.outcome for r in results] == ["sent", "sent", "sent"]
    assert received == 3


def test_each_message_is_marked_before_the_next_on_its_connection_goes(
    app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next envelope may go while a mark is being written, the next message not: when
    the server holds a message, every message it accepted before is already marked sent,
    so a crash then would repeat none of them."""
    queue_arrivals(app, 6, "order")
    handler = Handler(hold_after=3)
    with Sink(handler) as sink:
        monkeypatch.setenv("FINSAM_MAIL_URL", sink.url)
        monkeypatch.setenv("FINSAM_MAIL_CONCURRENCY", "1")
        runs: list[Any] = []
        deliverer = threading.Thread(target=lambda: runs.append(outbox.send(app)))
        deliverer.start()
        try:
            deadline = time.monotonic() + 30
            while handler.waiting != 1:
                assert time.monotonic() < deadline, "no message held"
                time.sleep(0.005)
            marked = outbox.counts(app)
        finally:
            handler.gate.set()
            deliverer.join(30)
        received = sink.received
    assert marked == {"sent": 3, "sending": 3}
    assert runs == [{"sent": 6, "transient": 0, "failed": 0, "skipped": 0, "lost": 0}]
    assert [r.recipients for r in received] == [[CHEF]] * 6
