"""One way to print: JSON for scripts, rich tables with Swedish dates for people."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

_TZ = "Europe/Stockholm"
WIDE = 160  # columns when the output is a file or a pipe (the demo, logs)

# what a terminal acts on instead of showing: C0 controls but newline and tab, DEL, C1
# controls (0x9B is a CSI on some terminals), bidi overrides and isolates, line and
# paragraph separators, and lone surrogates (which cannot even be written out)
_UNSEEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _sign(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the control pictures: ␀ ␛ ␍ ...
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` as a reader should see it: every character a terminal would act on instead
    of showing (ESC, NUL, CR, bidi overrides, ...) replaced by a visible sign (␛, ␀,
    ␍, \\u202e); newlines and tabs stay.

    Text in the database was checked when it came in, but an old database's was
    not, and what it holds must never take over a terminal or hide a line.
    """
    return _UNSEEN.sub(_sign, text)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def emit(data: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    if as_json:
        emit_json(data)
    else:
        human(data)


def console(stderr: bool = False) -> Any:
    out = sys.stderr if stderr else sys.stdout
    width = None if out.isatty() or os.environ.get("COLUMNS") else WIDE
    # markup off: titles, names and comments come from people and files, and a
    # "[/]" or "[bold]" in them is text to show, never a style (styles: `styled`)
    return _console_class()(
        stderr=stderr, highlight=False, soft_wrap=False, width=width, markup=False
    )


@functools.cache
def _console_class() -> Any:
    """A Rich console whose `print` shows the control characters of strings (`visible`)."""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from rich.console import Console

    class VisibleConsole(Console):
        def print(self, *objects: Any, **kwargs: Any) -> None:
            shown = (visible(o) if isinstance(o, str) else o for o in objects)
            super().print(*shown, **kwargs)

    return VisibleConsole


def styled(*parts: str | tuple[str, str]) -> Any:
    """A line of text with some parts styled: `styled(("Plan 3", "bold"), ": ", title)`.
    Every part is shown literally, whatever it contains (control characters `visible`)."""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from rich.text import Text

    return Text.assemble(
        *(visible(p) if isinstance(p, str) else (visible(p[0]), p[1]) for p in parts)
    )


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_lines=False)
    for c in columns:
        t.add_column(visible(c))
    for row in rows:
        t.add_row(*("" if v is None else visible(str(v)) for v in row))
    console().print(t)


def sv_date(value: str | date | None) -> str:
    """'24 nov. 2026' for a date (ISO text or date)."""
    if value is None:
        return ""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from babel.dates import format_date

    d = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(d, "d MMM y", locale="sv_SE")


def sv_datetime(value: str | datetime | None) -> str:
    """'24 nov. 2026 15:02' in Europe/Stockholm for an instant (ISO text or datetime)."""
    if value is None:
        return ""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from babel.dates import format_datetime

    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(dt.astimezone(ZoneInfo(_TZ)), "d MMM y HH:mm", locale="sv_SE")


def older_line(command: str, options: Sequence[tuple[str, object]], before: object) -> str:
    """'older: finsam COMMAND --option value … --before CURSOR': the command that shows the
    next page of a listing, with the filters and page size the person gave (an option
    whose value is None or False is left out; True stands alone, a flag)."""
    words = [f"finsam {command}"]
    for option, value in options:
        if value is True:
            words.append(option)
        elif value is not None and value is not False:
            words.append(f"{option} {value}")
    return "older: " + " ".join([*words, f"--before {before}"])


def error(message: str) -> None:
    sys.stderr.write(f"error: {visible(message)}\n")


def write_or_print(text: str, output: Any) -> None:
    """A rendered document to a file (saying so on stderr) or to standard output."""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    import typer

    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.core.files import write_output

    if output is None:
        typer.echo(visible(text), nl=False)
        return
    size = write_output(output, text)
    console(stderr=True).print(f"Wrote {output} ({size} bytes)")
