"""`finsam audit ...`: the hash-chained trail, its head and its verification."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOpt, app_for_command, handled
from cli.output import console, emit, emit_json
from cli.plan_cmds import history_table
from workflow.core import audit
from workflow.core.exceptions import UsageError

app = typer.Typer(help="Read and verify the audit trail.", no_args_is_help=True)


@app.command("verify")
@handled
def verify(
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            help="A head hash (or its first 12+ digits) from the minutes that must be "
            "in the chain.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Exit 0 when the chain is intact, 1 naming the first bad row when not."""

    if head is not None and (
        len(head) < 12 or any(c not in "0123456789abcdef" for c in head.lower())
    ):
        raise UsageError(
            f"--head {head!r} is not a hash prefix",
            "give at least 12 hex digits, as printed by 'finsam audit head'",
        )
    result = audit.verify_database(app_for_command(), head)
    data = {
        "ok": result.ok,
        "rows": result.rows,
        "head": result.head,
        "first_bad_seq": result.first_bad_seq,
        "problem": result.problem or None,
        "expected_head_found": result.expected_head_found,
    }
    if as_json:
        emit_json(data)
    elif result.ok:
        console().print(f"audit chain intact: {result.rows} rows, head {result.head[:16]}")
    else:
        console(stderr=True).print(f"audit chain BROKEN: {result.problem}")
    if not result.ok:
        raise typer.Exit(1)


@app.command("head")
@handled
def head(as_json: JsonOpt = False) -> None:
    """The current head hash, short enough to write into the board's minutes."""

    data = audit.head_of(app_for_command())
    emit(data, as_json, lambda d: console().print(f"{d['short']}  (row {d['seq']}, {d['hash']})"))


@app.command("log")
@handled
def log(
    plan: Annotated[int | None, typer.Option("--plan", help="Only this plan's rows.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every audit row, oldest first."""

    data = audit.log(app_for_command(), plan)
    emit(data, as_json, lambda rows: history_table("Granskningslogg", rows))
