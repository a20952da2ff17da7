"""The shapes the mail services hand the CLI: messages in the outbox, how a delivery
went, who holds claims.

They are plain dicts at runtime (`--json` prints them as they are); the types
name their keys.
"""

from typing import NotRequired, TypedDict


class MessageView(TypedDict):
    """The CLI's JSON shape for one message (`outbox list`, `outbox retry`)."""

    id: int | None
    key: str
    kind: str
    subject: str
    recipients: list[str]
    state: str
    attempts: int
    not_before: str
    next_attempt_at: str | None
    sent_at: str | None
    message_id: str
    last_error: str | None
    accepted: list[str]
    raw: NotRequired[str]  # `outbox show` only


class AttemptView(TypedDict):
    """One try at one recipient, as `outbox show` lists them."""

    at: str
    worker: str
    recipient: str
    outcome: str
    detail: str | None


class MessageDetail(MessageView):
    """`outbox show`: the message, its raw text and every attempt."""

    attempts_log: list[AttemptView]


class Delivery(TypedDict):
    """How one `outbox send` (or the outbox sweep) went, message by message."""

    sent: int
    transient: int
    failed: int
    skipped: int
    lost: int  # claims that ran out in our hands and went to another deliverer


class HeldClaims(TypedDict):
    """Another deliverer's unexpired claims: who, how many messages, until when."""

    by: str | None
    messages: int
    until: str
