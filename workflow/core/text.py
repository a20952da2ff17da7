"""What text people and files may hand finsam: one line, or lines, and how long.

Names, titles, themes, places and keys are single lines: they end up in mail
headers, table cells and file names, so a CR/LF there is a header injection and
an ESC a terminal takeover. Comments and Markdown may hold newlines and tabs
and nothing else invisible. Every field has a maximum length (`LIMITS`,
documented in docs/forbund-file.md and docs/cli.md); a refusal names the field,
what was wrong and what is allowed, so the caller can exit 2 with nothing
stored.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

from workflow.core.exceptions import UsageError

# the longest text each kind of field takes, in characters
LIMITS: dict[str, int] = {
    "key": 64,  # förbund, member, body and meeting-rule keys
    "name": 200,  # people, förbund, members, bodies, insatser
    "title": 300,  # plans, meetings, reports, themes
    "place": 200,  # where a meeting is held
    "email": 254,  # RFC 5321's path limit
    "line": 500,  # any other single line (a reason, a paragraph, a file name)
    "comment": 10_000,  # comments on moves and decisions, minutes' notes
    "markdown": 1_000_000,  # a plan's text
}

# bidirectional overrides and isolates reorder what a reader sees ("trojan source")
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_MULTI_ALLOWED = {"\n", "\t"}


_NAMES = {"\n": "a line break (LF)", "\r": "a carriage return (CR)", "\t": "a tab",
          "\x00": "NUL", "\x1b": "ESC", "\x7f": "DEL"}  # fmt: skip


# every character of the categories Cc, Zl, Zp and Cs, and the bidirectional controls: one
# search finds the first suspect instead of asking each character its category (a stored
# förbund file holds some ten thousand names and lines, checked on every parse)
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def _bad_char(value: str, allowed: set[str]) -> tuple[int, str] | None:
    """Position and description of the first character a reader could not see or trust."""
    for found in _SUSPECT.finditer(value):
        ch = found.group()
        if ch in allowed:
            continue
        code = f"U+{ord(ch):04X}"
        name = _NAMES.get(ch) or unicodedata.name(ch, "")
        return found.start(), f"{name} ({code})" if name else code
    return None


def line_problem(value: str, max_length: int) -> str | None:
    """Why `value` is not an acceptable single line, or None when it is."""
    found = _bad_char(value, set())
    if found is not None:
        i, name = found
        return (
            f"contains a control character, {name}, at position {i + 1}; "
            f"it must be one line of visible text (no line breaks, tabs or control "
            f"characters), at most {max_length} characters"
        )
    if len(value) > max_length:
        return f"is {len(value)} characters long; at most {max_length} are allowed"
    return None


def text_problem(value: str, max_length: int) -> str | None:
    """Why `value` is not acceptable text of several lines, or None when it is."""
    found = _bad_char(value, _MULTI_ALLOWED)
    if found is not None:
        i, name = found
        return (
            f"contains a control character, {name}, at position {i + 1}; "
            "only line breaks and tabs are allowed besides visible text"
        )
    if len(value) > max_length:
        return f"is {len(value)} characters long; at most {max_length} are allowed"
    return None


def single_line(value: str, field: str, kind: str = "line") -> str:
    """`value` unchanged, or a UsageError naming `field` (e.g. '--title')."""
    problem = line_problem(value, LIMITS[kind])
    if problem is not None:
        raise UsageError(f"{field} {problem}")
    return value


def optional_line(value: str | None, field: str, kind: str = "line") -> str | None:
    return None if value is None else single_line(value, field, kind)


def multi_line(value: str, field: str, kind: str = "comment") -> str:
    """`value` with CRLF as LF (files saved on Windows), or a UsageError naming `field`."""
    value = value.replace("\r\n", "\n")
    problem = text_problem(value, LIMITS[kind])
    if problem is not None:
        raise UsageError(f"{field} {problem}")
    return value


def optional_text(value: str | None, field: str, kind: str = "comment") -> str | None:
    return None if value is None else multi_line(value, field, kind)


# ---------------------------------------------------------------- for pydantic models


def _line_validator(kind: str) -> AfterValidator:
    def check(value: str) -> str:
        problem = line_problem(value, LIMITS[kind])
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def _text_validator(kind: str) -> AfterValidator:
    def check(value: str) -> str:
        value = value.replace("\r\n", "\n")
        problem = text_problem(value, LIMITS[kind])
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


# Field types for the förbund and plan files: the length is also in the JSON Schema
Key = Annotated[str, Field(max_length=LIMITS["key"]), _line_validator("key")]
Name = Annotated[str, Field(min_length=1, max_length=LIMITS["name"]), _line_validator("name")]
Title = Annotated[str, Field(min_length=1, max_length=LIMITS["title"]), _line_validator("title")]
Place = Annotated[str, Field(max_length=LIMITS["place"]), _line_validator("place")]
Line = Annotated[str, Field(max_length=LIMITS["line"]), _line_validator("line")]
Comment = Annotated[str, Field(max_length=LIMITS["comment"]), _text_validator("comment")]
Markdown = Annotated[str, Field(max_length=LIMITS["markdown"]), _text_validator("markdown")]
