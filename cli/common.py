"""What every command shares: error handling, options, parsing of dates and the app."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

import typer

from cli.output import error

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (a stable shape for scripts).")]
ForbundOpt = Annotated[
    str | None,
    typer.Option("--forbund", help="Förbund key; needed when the database holds several."),
]
AsOpt = Annotated[
    str | None,
    typer.Option("--as", envvar="FINSAM_USER", help="E-mail of the person acting ($FINSAM_USER)."),
]


def handled(fn: F) -> F:
    """Turn finsam's errors into one message on stderr and their exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # start-up: loaded when the command runs, so `finsam --help` stays quick
        from workflow.core.exceptions import FinsamError

        try:
            return fn(*args, **kwargs)
        except FinsamError as exc:
            error(exc.message)
            if exc.hint:
                sys.stderr.write(f"hint: {exc.hint}\n")
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def parse_date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.core.exceptions import UsageError

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a real date", "give it as YYYY-MM-DD, e.g. 2026-11-24"
        ) from None


def app_for_command() -> Any:
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.bootstrap import bootstrap

    return bootstrap()
