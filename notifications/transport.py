"""How messages leave: SMTP (aiosmtplib), .eml files, or the console, chosen by FINSAM_MAIL_URL.

One interface for all (after Django's e-mail backends): a transport opens
connections, a connection sends one message at a time and says, per recipient,
whether it went, failed for now (4xx, a dropped connection, a timeout: try again
later) or failed for good (5xx).

The recipients given to `send` are the envelope (RCPT TO), not the headers: a
retry after a partial failure sends the same raw message, with the same To and
Cc, to only those who have not accepted it yet.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, unquote, urlparse

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Outcome = Literal["sent", "transient", "permanent"]


class MailSettings(BaseSettings):
    """Mail settings from the environment (FINSAM_MAIL_URL, FINSAM_MAIL_CONCURRENCY, ...)."""

    model_config = SettingsConfigDict(env_prefix="FINSAM_MAIL_", extra="ignore")

    url: str = "console:"
    concurrency: int = Field(4, ge=1)
    timeout: float = Field(30.0, gt=0)
    lease_seconds: int = Field(300, ge=1)
    max_attempts: int = Field(8, ge=1)


class TransportError(ValueError):
    """FINSAM_MAIL_URL cannot be used; the message says what would be right."""


@dataclass
class Result:
    """What happened to one message: per recipient, an outcome and the server's words."""

    per_recipient: dict[str, tuple[Outcome, str]] = field(default_factory=dict)

    @property
    def outcome(self) -> Outcome:
        outcomes = {o for o, _ in self.per_recipient.values()}
        if outcomes == {"sent"}:
            return "sent"
        return "transient" if "transient" in outcomes else "permanent"

    @property
    def accepted(self) -> list[str]:
        """The recipients whose server took the message."""
        return [r for r, (o, _) in self.per_recipient.items() if o == "sent"]

    def detail(self) -> str:
        return "; ".join(f"{r}: {d}" for r, (o, d) in self.per_recipient.items() if o != "sent")


# Awaited by a connection once the envelope of a message is accepted and before
# the message itself goes: the deliverer finishes writing down the previous one
# meanwhile, and a message goes only once that is done. Raising stops the send.
Ready = Callable[[], Awaitable[None]]


class Connection(Protocol):
    """One open channel to the mail system; a deliverer keeps it for many messages."""

    async def send(
        self,
        sender: str,
        recipients: list[str],
        raw: bytes,
        message_id: str,
        ready: Ready | None = None,
    ) -> Result: ...

    async def close(self) -> None: ...


class Transport(Protocol):
    """How messages leave finsam (SMTP, .eml files, the console), chosen by FINSAM_MAIL_URL."""

    name: str

    async def open(self) -> Connection: ...


def parse(url: str, settings: MailSettings | None = None) -> Transport:
    settings = settings or MailSettings(url=url)
    parsed = urlparse(url)
    hint = (
        "use smtp://[user:password@]host[:port][?starttls=true], smtps://..., "
        "file:///folder or console:"
    )
    if parsed.scheme == "console":
        return ConsoleTransport()
    if parsed.scheme == "file":
        if not parsed.path:
            raise TransportError(f"FINSAM_MAIL_URL {url!r} names no folder; {hint}")
        return FileTransport(Path(unquote(parsed.path)))
    if parsed.scheme in ("smtp", "smtps"):
        if not parsed.hostname:
            raise TransportError(f"FINSAM_MAIL_URL {url!r} names no host; {hint}")
        try:
            port = parsed.port
        except ValueError:
            raise TransportError(f"FINSAM_MAIL_URL {url!r} has a bad port; {hint}") from None
        query = {k: v[-1].lower() for k, v in parse_qs(parsed.query).items()}
        starttls = query.get("starttls")
        if starttls not in (None, "true", "false"):
            raise TransportError(f"FINSAM_MAIL_URL: starttls={starttls!r}; use true or false")
        tls = parsed.scheme == "smtps"
        return SmtpTransport(
            host=parsed.hostname,
            port=port or (465 if tls else 25),
            use_tls=tls,
            start_tls=(starttls == "true") if starttls else None,
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            timeout=settings.timeout,
            verify=query.get("verify", "true") != "false",
        )
    raise TransportError(f"FINSAM_MAIL_URL {url!r} is not a mail address finsam knows; {hint}")


class ConsoleTransport:
    name = "console"

    async def open(self) -> ConsoleTransport:
        return self

    async def send(
        self,
        sender: str,
        recipients: list[str],
        raw: bytes,
        message_id: str,
        ready: Ready | None = None,
    ) -> Result:
        if ready is not None:
            await ready()
        # on stdout, apart from the scheduler's log on stderr (so not for --json output)
        sys.stdout.write(raw.decode("utf-8", "replace") + "\n" + "-" * 72 + "\n")
        return Result({r: ("sent", "printed") for r in recipients})

    async def close(self) -> None:
        return None


class FileTransport:
    """One .eml file per message, named by its Message-ID (so a repeat overwrites)."""

    name = "file"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def open(self) -> FileTransport:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    async def send(
        self,
        sender: str,
        recipients: list[str],
        raw: bytes,
        message_id: str,
        ready: Ready | None = None,
    ) -> Result:
        if ready is not None:
            await ready()
        safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in message_id.strip("<>"))
        (self.folder / f"{safe}.eml").write_bytes(raw)
        return Result({r: ("sent", "written") for r in recipients})

    async def close(self) -> None:
        return None


class SmtpTransport:
    """aiosmtplib, one connection per concurrent sender, reconnecting when dropped."""

    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        use_tls: bool,
        start_tls: bool | None,
        username: str | None,
        password: str | None,
        timeout: float,
        verify: bool = True,
    ) -> None:
        self.options = {
            "hostname": host,
            "port": port,
            "use_tls": use_tls,
            "start_tls": start_tls,
            "username": username,
            "password": password,
            "timeout": timeout,
            "validate_certs": verify,
        }

    async def open(self) -> SmtpConnection:
        conn = SmtpConnection(self.options)
        await conn.connect()
        return conn


class SmtpConnection:
    """One aiosmtplib connection, sending one message at a time over it.

    A message goes as its own MAIL, RCPT and DATA commands rather than through
    `SMTP.sendmail`: the protocol exchange is the same, but sendmail parses
    every address twice per message (to check it, then to quote it) and scans
    the message twice for its size, the bulk of the client's own work per
    message. Here an address is checked and quoted once (`_path`, by
    aiosmtplib's own rule) and the size is counted, not rewritten.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        # start-up: aiosmtplib loads only when mail is sent
        import aiosmtplib

        self.client = aiosmtplib.SMTP(**options)

    async def connect(self) -> None:
        await self.client.connect()

    async def send(
        self,
        sender: str,
        recipients: list[str],
        raw: bytes,
        message_id: str,
        ready: Ready | None = None,
    ) -> Result:
        # start-up: aiosmtplib loads only when mail is sent
        import aiosmtplib

        if not self.client.is_connected:
            await self.client.connect()
        try:
            return await self._transaction(sender, recipients, raw, ready)
        except aiosmtplib.SMTPServerDisconnected:
            # the server dropped an idle connection: one reconnect, then the real answer
            self.client.close()
            await self.client.connect()
            return await self._transaction(sender, recipients, raw, ready)

    async def _transaction(
        self, sender: str, recipients: list[str], raw: bytes, ready: Ready | None
    ) -> Result:
        """MAIL, RCPT per recipient, (`ready`), DATA: per recipient whether the server took it.

        The answers are judged as `SMTP.sendmail` judges them: a refused sender
        or message is every recipient's answer, a refused recipient its own; an
        envelope left unfinished is reset (RSET) for the next message.
        """
        # start-up: aiosmtplib loads only when mail is sent
        import aiosmtplib

        client = self.client
        if client.is_ehlo_or_helo_needed:
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        options: tuple[bytes, ...] = ()
        if client.supports_extension("size"):
            # RFC 1870: the octets as sent, each line ending as CRLF
            options = (b"SIZE=%d" % _wire_size(raw),)
        # every address checked before anything goes: a bad one leaves no envelope behind
        paths = [b"TO:" + _path(r) for r in recipients]
        answer = await client.execute_command(b"MAIL", b"FROM:" + _path(sender), *options)
        if answer.code != 250:
            await self._reset()
            return _everyone(recipients, answer.code, answer.message)
        result = Result()
        for r, path in zip(recipients, paths, strict=True):
            answer = await client.execute_command(b"RCPT", path)
            if answer.code in (250, 251):
                result.per_recipient[r] = ("sent", "250")
            else:
                result.per_recipient[r] = (_outcome(answer.code), f"{answer.code} {answer.message}")
        if not result.accepted:
            await self._reset()
            return result
        if ready is not None:
            try:
                await ready()
            except Exception:  # the message does not go: the envelope is undone for the next
                await self._reset()
                raise
        try:
            await client.data(raw)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            return _everyone(recipients, exc.code, exc.message)
        return result

    async def _reset(self) -> None:
        """RSET after a refusal, so the next message starts a clean envelope; a connection
        already gone or a server that refuses the RSET is left as it is (the next send
        reconnects or hears the real answer)."""
        # start-up: aiosmtplib loads only when mail is sent
        import aiosmtplib

        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await self.client.rset()

    async def close(self) -> None:
        try:
            await self.client.quit()
        except Exception:
            self.client.close()


@functools.lru_cache(maxsize=4096)
def _path(address: str) -> bytes:
    """`<address>` for MAIL FROM and RCPT TO, checked and quoted by aiosmtplib's own rule
    (a bad address raises ValueError); once per address, as the same few come back in
    every message."""
    # start-up: aiosmtplib loads only when mail is sent
    from aiosmtplib.email import quote_address

    return quote_address(address).encode("ascii")


def _wire_size(raw: bytes) -> int:
    """The length of `raw` as DATA sends it: every line ending as CRLF (a lone LF or CR grows
    by one), and a CRLF after a last line that has none."""
    crlf = raw.count(b"\r\n")
    ended = raw.endswith((b"\n", b"\r"))
    return len(raw) + raw.count(b"\n") - crlf + raw.count(b"\r") - crlf + (0 if ended else 2)


def _everyone(recipients: list[str], code: int, message: str) -> Result:
    """One answer for every recipient (the server refused the sender or the message)."""
    return Result({r: (_outcome(code), f"{code} {message}") for r in recipients})


def _outcome(code: int) -> Outcome:
    return "permanent" if 500 <= code < 600 else "transient"
