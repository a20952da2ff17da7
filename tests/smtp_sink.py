"""A real SMTP server on loopback for the tests (aiosmtpd), and what it received.

The handler can answer 451 for the first N messages (a server that is busy for
a while) or 550 for chosen recipients, so retries and failures are shown against
a real protocol exchange, not a mocked client.
"""

from __future__ import annotations

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
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.busy_for > 0:
                self.busy_for -= 1
                return "451 4.3.0 Try again later"
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
