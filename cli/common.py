"""What every command shares: error handling, options, parsing of dates and the app."""

from __future__ import annotations

import functools
import gc
import math
import os
import sys
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, NoReturn, TypeVar

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


# Every whole number a command takes (ids, counts, versions) fits a signed 64-bit
# database column; none is negative. Years (--year, --until) are finsam's years.
INT_MAX = 2**63 - 1
FIRST_YEAR, LAST_YEAR = 1900, 2199
DEBUG_VARIABLE = "FINSAM_DEBUG"


def handled(fn: F) -> F:
    """Turn finsam's errors into one message on stderr and their exit code.

    Before the command runs, every number given is checked against what a database
    column holds. After it, a database failure that escaped (a locked, damaged or
    vanished database) is named (exit 2, or 3 when another attempt may win), and
    anything else is a bug: one line (exit 1), the traceback only with FINSAM_DEBUG=1.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # start-up: loaded when the command runs, so `finsam --help` stays quick
        from workflow.core.exceptions import FinsamError

        loaded()
        try:
            check_numbers(fn, kwargs)
            return fn(*args, **kwargs)
        except FinsamError as exc:
            _refuse(exc)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # Typer's own ends of a command: an exit code, an abort, a usage error
        except Exception as exc:
            _last_resort(exc)

    return wrapper  # type: ignore[return-value]


def loaded() -> None:
    """The command's group is loaded: when `finsam` turned the collector off for that
    (`cli.main.run`), what loading made is frozen out of its reach (it lives as long as
    the process) and the collector is on again for the command's own work, including
    what the command imports itself. In a process that left it on (the tests run
    commands in theirs), nothing changes."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _refuse(exc: Any) -> NoReturn:
    error(exc.message)
    if exc.hint:
        sys.stderr.write(f"hint: {exc.hint}\n")
    raise typer.Exit(exc.exit_code) from None


def _last_resort(exc: Exception) -> NoReturn:
    known = _known_failure(exc)
    if known is not None:
        _refuse(known)
    # start-up: loaded only when a command failed unexpectedly
    from workflow.core.settings import mask_secrets

    if os.environ.get(DEBUG_VARIABLE) == "1":
        import traceback

        traceback.print_exception(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = _printable(mask_secrets(text))[:500]
    error(
        f"internal error ({type(exc).__name__}): {text}; this is a bug in finsam — "
        f"rerun with {DEBUG_VARIABLE}=1 for the traceback"
    )
    raise typer.Exit(1) from None


def _known_failure(exc: Exception) -> Any:
    """A FinsamError for failures that are the surroundings' and not finsam's, else None."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError):
        # start-up: loaded only when a database failure escaped a command
        from workflow.core.db_errors import database_error

        return database_error(exc, _database_url())
    if isinstance(exc, OSError) and exc.filename is not None:
        # start-up: loaded only when a file failure escaped a command
        from workflow.core.exceptions import UsageError

        return UsageError(
            f"{_printable(str(exc.filename))}: {exc.strerror or 'cannot be used'}",
            "check the path, that it is the kind of file meant, and its permissions",
        )
    return None


def _database_url() -> str | None:
    # start-up: loaded only when a database failure escaped a command
    from workflow.core.settings import database_location

    try:
        return database_location().url
    except Exception:  # the location itself is broken: the message goes without it
        return None


def _printable(text: str) -> str:
    """Control characters shown as escapes: a message never moves the terminal's cursor."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def check_numbers(fn: Callable[..., Any], values: dict[str, Any]) -> None:
    """Refuse (exit 2) a number no command can use, naming the option or argument."""
    for name, value in values.items():
        for one in value if isinstance(value, list | tuple) else (value,):
            if isinstance(one, bool) or not isinstance(one, int | float):
                continue
            shown = _param_name(fn, name)
            problem = _number_problem(shown, name, one)
            if problem:
                # start-up: loaded when the command runs, so `finsam --help` stays quick
                from workflow.core.exceptions import UsageError

                raise UsageError(f"{shown} {one} {problem[0]}", problem[1])


def _number_problem(shown: str, name: str, value: int | float) -> tuple[str, str] | None:
    if isinstance(value, float):
        if math.isfinite(value) and abs(value) <= INT_MAX:
            return None
        return "is not a usable number", "give a finite number"
    if "year" in name or "year" in shown or shown == "--until":
        if FIRST_YEAR <= value <= LAST_YEAR:
            return None
        return "is out of range", f"give a year from {FIRST_YEAR} to {LAST_YEAR}"
    if value < 0:
        return "is negative", f"give a whole number from 0 to {INT_MAX}"
    if value > INT_MAX:
        return "is out of range", f"give a whole number from 0 to {INT_MAX}"
    return None


@functools.cache
def _declared(fn: Callable[..., Any]) -> dict[str, Any]:
    """The typer.Option/typer.Argument of each parameter of a command (read from its
    annotations, as Typer does, the first time a number needs naming)."""
    import typing

    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # a name the annotations cannot resolve: the messages use plain names
        return {}
    return {n: m for n, h in hints.items() for m in getattr(h, "__metadata__", ())}


def _param_name(fn: Callable[..., Any], name: str) -> str:
    """How the user wrote it: the longest option name (--year), or an argument's PLAN_ID."""
    info = _declared(fn).get(name)
    if isinstance(info, typer.models.ArgumentInfo):
        return name.upper()
    # with Annotated, Typer reads a string default as the first name: typer.Option("--from")
    given = [getattr(info, "default", None), *(getattr(info, "param_decls", None) or ())]
    decls = [d for d in given if isinstance(d, str) and d.startswith("--")]
    return max(decls, key=len) if decls else "--" + name.replace("_", "-")


def parse_date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.core.exceptions import UsageError

    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a real date", "give it as YYYY-MM-DD, e.g. 2026-11-24"
        ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise UsageError(
            f"{option} {text!r} is out of range",
            f"give a date from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31",
        )
    return day


def app_for_command() -> Any:
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.bootstrap import bootstrap

    return bootstrap()
