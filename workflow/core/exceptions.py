"""One base error for everything a user can get wrong or run into.

Each subclass carries its exit code, so the CLI catches `FinsamError` in one
place and never guesses: 2 for usage and validation, 3 for a lost race, 1 for
a check that failed (a broken audit chain).
"""

from __future__ import annotations


class FinsamError(Exception):
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class UsageError(FinsamError):
    """The request itself is wrong: bad input, unknown things, refused moves."""

    exit_code = 2


class ConfigError(UsageError):
    """A förbund file or setting that cannot be used; names the file and the key."""


class NotFound(UsageError):
    pass


class NotAllowed(UsageError):
    """A move the workflow refuses: not open now, wrong role, or a failed guard."""


class DatabaseMissing(UsageError):
    pass


class ConflictError(FinsamError):
    """Someone else changed the same thing first; nothing of ours was written."""

    exit_code = 3


class Busy(FinsamError):
    """The database stayed busy (another finsam writing) past the deadline; nothing changed."""

    exit_code = 3

    def __init__(self) -> None:
        super().__init__(
            "the database is busy: another finsam is writing; nothing was changed; try again"
        )


class AuditBroken(FinsamError):
    exit_code = 1
