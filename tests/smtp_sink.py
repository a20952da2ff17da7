"""A real SMTP server on loopback for the tests (aiosmtpd), and what it received.

The handler can answer 451 for the first N messages (a server that is busy for
a while), 550 or 451 for chosen recipients, take its time over each message, or
hold messages at a gate until the test opens it (so a test can act while a
deliverer is known to be in the middle of a send, instead of guessing with
sleeps). Retries and failures are shown against a real protocol exchange, not a
mocked client.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any


def free_port() -> int:
    # aiosmtpd's Controller connects to its own port to see that it is up, so it
    # cannot be given port 0: take a free one first
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Handler:
    busy_for: int = 0  # answer 451 to this many messages first
    refuse: set[str] = field(default_factory=set)  # answer 550 to these recipients
    defer: set[str] = field(default_factory=set)  # answer 451 to these recipients
    delay: float = 0.0  # per message, one at a time (the server's loop sleeps)
    slow: float = 0.0  # per message, all connections at once (each waits on its own)
    # DATA waits while the gate is shut; `hold_after` shuts it once that many
    # messages have arrived; `waiting` counts the messages held there now
    gate: threading.Event = field(default_factory=threading.Event)
    hold_after: int | None = None
    waiting: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.gate.set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        if address in self.defer:
            return "451 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.busy_for > 0:
                self.busy_for -= 1
                return "451 4.3.0 Try again later"
            if self.hold_after is not None and len(self.received) >= self.hold_after:
                self.hold_after = None
                self.gate.clear()
            held = not self.gate.is_set()
            self.waiting += held
        if held:
            try:
                while not self.gate.is_set():
                    await asyncio.sleep(0.01)
            finally:
                with self.lock:
                    self.waiting -= 1
        if self.slow:
            await asyncio.sleep(self.slow)
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
            )
        return "250 Message accepted"


class Sink:
    def __init__(self, handler: Handler | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.handler = handler or Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> Sink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return list(self.handler.received)
