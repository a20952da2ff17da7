"""TOML from a person or a file, parsed without surprises.

tomllib parses nested arrays and inline tables by recursion: `a = [[[[…]]]]`
a few hundred levels deep ends in a RecursionError, which is no message for a
user. Text is measured first (a plain scan, no recursion) and refused beyond
`MAX_NESTING` levels, far more than any förbund or plan file needs, so that
every later parse of the same text is safe too.
"""

from __future__ import annotations

import tomllib
from typing import Any

from workflow.core.exceptions import UsageError

# arrays and inline tables inside each other, counting a [table] header as one
MAX_NESTING = 32


def nesting_depth(text: str) -> int:
    """How deep brackets and braces go outside strings and comments."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c in "\"'":
            i = _string_end(text, i)
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def _string_end(text: str, i: int) -> int:
    """The index of the last character of the string starting at `i`."""
    quote = text[i]
    triple = text.startswith(quote * 3, i)
    closing = quote * 3 if triple else quote
    j = i + len(closing)
    while j < len(text):
        c = text[j]
        if c == "\\" and quote == '"':
            j += 2
            continue
        if not triple and c == "\n":  # an unclosed string; the parser will say so
            return j
        if text.startswith(closing, j):
            end = j + len(closing) - 1
            while triple and text.startswith(quote, end + 1):  # """a"""" ends later
                end += 1
            return end
        j += 1
    return len(text)


def check_nesting(text: str, source: str, error: type[UsageError] = UsageError) -> None:
    """Refuse TOML nested deeper than `MAX_NESTING` (exit 2), naming the file."""
    depth = nesting_depth(text)
    if depth > MAX_NESTING:
        raise error(
            f"{source}: arrays or inline tables are nested {depth} levels deep; "
            f"finsam reads at most {MAX_NESTING}",
            "write the values flatter (a [table] or [[array of tables]] per level)",
        )


def loads(text: str, source: str, error: type[UsageError] = UsageError) -> dict[str, Any]:
    """The TOML document in `text`, or `error` naming `source` and what is wrong."""
    check_nesting(text, source, error)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:  # only past the check above, on a very small stack
        raise error(
            f"{source}: nested too deeply to read",
            f"write the values flatter (at most {MAX_NESTING} levels)",
        ) from None
