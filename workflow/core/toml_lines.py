"""Finding the line of a key in TOML text, so that errors can name it.

tomllib gives values without positions; pydantic gives a path such as
('budget', 'lines', 3, 'amounts', '2017'). This walks the text for the table
headers and keys on that path. It understands the TOML a person writes by hand
(tables, arrays of tables, keys, inline tables); where it cannot follow, it
answers the nearest line it found, which is still where to look.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r'^\s*("[^"]*"|[A-Za-z0-9_-]+)\s*(\.|=)')


def _name(part: str) -> str:
    return part.strip().strip('"')


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """1-based line number where `path` is written, or None when not even its start is found."""
    lines = text.splitlines()
    headers = []  # (dotted name, is [[array]], line)
    for no, line in enumerate(lines, 1):
        m = _HEADER.match(line)
        if m:
            name = tuple(_name(p) for p in m.group(2).split("."))
            headers.append((name, m.group(1) == "[[", no))
    header: tuple[str, ...] = ()
    start, end = 0, len(lines)
    best: int | None = None
    i = 0
    while i < len(path):
        step = _header_step(headers, header, path, i, start, end)
        if step is None:
            if isinstance(path[i], int):
                return best
            return _key_line(lines, start, end, str(path[i])) or best
        header, best, i = step
        start = best
        following = [n for _, _, n in headers if n > best]
        end = following[0] - 1 if following else len(lines)
    return best


def _header_step(
    headers: list[tuple[tuple[str, ...], bool, int]],
    header: tuple[str, ...],
    path: Sequence[str | int],
    i: int,
    start: int,
    end: int,
) -> tuple[tuple[str, ...], int, int] | None:
    """The longest table header continuing `header` with path[i:j]: (name, line, next i)."""
    for j in range(len(path), i, -1):
        parts = path[i:j]
        if any(isinstance(p, int) for p in parts):
            continue
        name = (*header, *(str(p) for p in parts))
        index = path[j] if j < len(path) and isinstance(path[j], int) else None
        matches = [
            no
            for h, is_array, no in headers
            if h == name and is_array == (index is not None) and no > start
        ]
        if index is None:
            matches = [no for no in matches if no <= end] if header else matches
        if matches and (index is None or index < len(matches)):
            return name, matches[index or 0], j + (1 if index is not None else 0)
    return None


def _key_line(lines: list[str], start: int, end: int, key: str) -> int | None:
    for no in range(start + 1, end + 1):
        m = _KEY.match(lines[no - 1])
        if m and _name(m.group(1)) == key:
            return no
    return None
