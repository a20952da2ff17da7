"""The shapes the core's services hand the CLI: the audit trail's rows and head, a database copy.

They are plain dicts at runtime (`--json` prints them as they are); the types
name their keys. A key named `from` (a Python keyword) is declared in the
functional form, and a class over it adds the docstring.
"""

from typing import TypedDict

_AuditEventKeys = TypedDict(
    "_AuditEventKeys",
    {
        "seq": int,
        "at": str,
        "forbund": str,
        "plan": int | None,
        "subject": str | None,
        "year": int | None,
        "revision": int,
        "new_revision": int | None,
        "action": str,
        "kind": str,
        "outcome": str | None,
        "from": str | None,
        "to": str,
        "actor": str,
        "actor_name": str,
        "role": str,
        "body": str | None,
        "meeting": str | None,
        "paragraph": str | None,
        "comment": str | None,
        "follows_recommendation": bool | None,
        "content_sha256": str,
        "hash": str,
    },
)


class AuditEventView(_AuditEventKeys):
    """The CLI's JSON shape for one row of the audit trail (`audit log`, a plan's history)."""


class AuditHead(TypedDict):
    """The CLI's JSON shape for the head of the audit chain (`audit head`)."""

    seq: int
    hash: str
    short: str
    at: str | None


_DatabaseCopyKeys = TypedDict(
    "_DatabaseCopyKeys",
    {"from": str, "to": str, "rows": dict[str, int]},
)


class DatabaseCopy(_DatabaseCopyKeys):
    """The CLI's JSON shape for a copy to another database: both URLs, rows per table."""
