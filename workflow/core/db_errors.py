"""What a database failure means: whether a fresh attempt may win it (the one retry
rule's test, used by the unit of work), and else what to tell the user.

Kept apart from the engine (db.py) and the unit of work (uow.py), which both use it.
"""

from __future__ import annotations

import sqlalchemy as sa

from workflow.core.exceptions import Busy, FinsamError, UsageError
from workflow.core.settings import mask_secrets, shown_url, sqlite_path

# What a database URL may be; said in every refusal of one.
SUPPORTED_URLS = "sqlite:////absolute/path/finsam.db or postgresql://USER:PASSWORD@HOST/DATABASE"

# SQLite result codes (low byte of the extended code): SQLITE_BUSY, SQLITE_LOCKED
_SQLITE_BUSY = {5, 6}
# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available
_PG_TRANSIENT = {"40001", "40P01", "55P03"}
# the audit chain's unique columns: another writer took the head we read
_AUDIT_HEAD = ("audit_event.seq", "audit_event.prev_hash", "audit_event_seq", "audit_event_prev")
# PostgreSQL: unique_violation. Under READ COMMITTED a check-then-insert that lost to
# a concurrent insert of the same key fails so (SQLite's writers take turns instead).
_PG_UNIQUE = "23505"


class Retry(Exception):
    """Raised inside a unit of work: it lost a race that a fresh attempt may win
    (a compare-and-set found the row changed). Nothing of the attempt is kept."""


def transient(exc: BaseException) -> bool:
    """Whether a fresh attempt of the same work may succeed where this one failed."""
    if isinstance(exc, Retry):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        if code & 0xFF in _SQLITE_BUSY:
            return True
    elif getattr(orig, "sqlstate", None) in _PG_TRANSIENT:
        return True
    if isinstance(exc, sa.exc.IntegrityError):
        text = str(orig)
        return any(name in text for name in _AUDIT_HEAD) or duplicate(exc)
    return False


def duplicate(exc: BaseException) -> bool:
    """A unique key another writer inserted first (PostgreSQL), other than the audit head."""
    if not isinstance(exc, sa.exc.IntegrityError):
        return False
    if getattr(exc.orig, "sqlstate", None) != _PG_UNIQUE:
        return False
    return not any(name in str(exc.orig) for name in _AUDIT_HEAD)


def database_error(exc: BaseException, url: str | None) -> FinsamError:
    """What a database failure that escaped a command means, in words: exit 3 for one
    that a fresh attempt may win (busy, locked), else exit 2 naming the database.

    An unreachable server is exit 2, not 3: finsam cannot tell a server that is down
    from a wrong host or port, and a script that retries on 3 would retry forever."""
    if transient(exc):
        return Busy()
    orig = getattr(exc, "orig", None) or exc
    detail = mask_secrets(str(orig).strip().splitlines()[0] if str(orig).strip() else "")
    where = f"the database {shown_url(url)}" if url else "the database"
    hint = f"check FINSAM_DATABASE_URL (or finsam.toml): it takes {SUPPORTED_URLS}"
    server = url is None or sqlite_path(url) is None
    lowered = detail.lower()
    if "not a database" in lowered:
        return UsageError(f"{where} is not a finsam database: it is not an SQLite file", hint)
    if "malformed" in lowered or "corrupt" in lowered:
        return UsageError(
            f"{where} is damaged ({detail})",
            "restore it from a backup; 'sqlite3 FILE .recover' may save what is left",
        )
    if "readonly" in lowered or "read-only" in lowered:
        return UsageError(f"{where} cannot be written: {detail}", "check the file's permissions")
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        check = (
            "is the server running, and are the host, port, user and password right? "
            if server
            else "does the file exist, and may you read and write it and its folder? "
        )
        at = f" ({shown_url(url)})" if url else ""
        return UsageError(f"cannot open the database: {detail}{at}", check + hint)
    return UsageError(f"{where} failed: {detail}", hint)
