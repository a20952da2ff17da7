"""Keyset pages of a listing: the newest first, a page at a time, in constant memory.

A listing is read newest first in a total order (an id, or a sort key and then the
id), one row more than a page asks for: that row only says an older page exists.
The next page starts below the last row shown, so rows added meanwhile neither
repeat nor push rows off a page, and each page is one query with LIMIT whatever the
table's size (docs/decisions.md §52). A cursor names the last row shown: an id, or
`KEY:ID` when the order has a key before the id (`2027:12`, `2027-05-31:123`); the
tools print it and take it back as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TypeVar

from workflow.core.exceptions import UsageError

PAGE_SIZE = 50  # a listing without --limit
MAX_PAGE = 1000  # the most rows one page holds
MAX_ID = 2**63 - 1  # the largest id a database column holds

T = TypeVar("T")


def check_limit(limit: int | None, option: str = "--limit") -> None:
    """Refuse a page size outside 1 to MAX_PAGE (None: every row, for the services' own use)."""
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise UsageError(f"{option} {limit} is out of range", f"use a number from 1 to {MAX_PAGE}")


def check_id(before: int | None, what: str, option: str = "--before") -> None:
    """Refuse an id cursor no row can have."""
    if before is not None and not 1 <= before <= MAX_ID:
        raise UsageError(
            f"{option} {before} is not {what}",
            f"use {what} (1 or more), as 'older:' below the list names it",
        )


def split(
    rows: Sequence[T], limit: int | None, cursor: Callable[[T], int | str]
) -> tuple[list[T], int | str | None]:
    """The rows of a page (asked for with LIMIT limit + 1) and the cursor of the next page,
    None on the last one."""
    if limit is None or len(rows) <= limit:
        return list(rows), None
    shown = list(rows[:limit])
    return shown, cursor(shown[-1])


def year_cursor(year: int, ident: int) -> str:
    return f"{year}:{ident}"


def date_cursor(day: str, ident: int) -> str:
    return f"{day}:{ident}"


def parse_year_cursor(text: str, option: str = "--before") -> tuple[int, int]:
    """`YEAR:ID` (as `year_cursor` prints it) as (year, id); anything else is refused."""
    key, ident = _parts(text, option, "YEAR:ID, e.g. 2027:12")
    if not (len(key) == 4 and key.isascii() and key.isdigit()):
        raise UsageError(
            f"{option} {text!r} is not a page's cursor", "give YEAR:ID, e.g. 2027:12, as printed"
        )
    return int(key), ident


def parse_date_cursor(text: str, option: str = "--before") -> tuple[str, int]:
    """`YYYY-MM-DD:ID` (as `date_cursor` prints it) as (the ISO day, id)."""
    example = "DATE:ID, e.g. 2027-05-31:123"
    key, ident = _parts(text, option, example)
    try:
        day = date.fromisoformat(key) if len(key) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise UsageError(f"{option} {text!r} is not a page's cursor", f"give {example}, as printed")
    return day.isoformat(), ident


def _parts(text: str, option: str, example: str) -> tuple[str, int]:
    key, sep, ident = text.strip().rpartition(":")
    if not (sep and ident.isascii() and ident.isdigit() and len(ident) <= 19) or not (
        1 <= int(ident) <= MAX_ID
    ):
        raise UsageError(f"{option} {text!r} is not a page's cursor", f"give {example}, as printed")
    return key, int(ident)
