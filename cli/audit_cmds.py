"""`finsam audit ...`: the hash-chained trail, its head and its verification."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOpt, app_for_command, handled
from cli.output import console, emit, emit_json, sv_date, sv_datetime, table
from workflow.core import audit
from workflow.core.exceptions import AuditBroken, UsageError
from workflow.core.views import AuditEventView

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
    """Exit 0 when the trail is intact and agrees with the plans, reports and förbund files.

    Exit 1 naming what is off: the first row that breaks the chain, every row
    dated before its predecessor, and every plan, report obligation and förbund
    whose current state disagrees with its last row (a removed tail shows so,
    even without --head).
    """

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
        "problems": list(result.problems),
        "expected_head_found": result.expected_head_found,
    }
    if as_json:
        emit_json(data)
    elif result.ok:
        console().print(f"audit chain intact: {result.rows} rows, head {result.head[:16]}")
    if not result.ok:
        # exit 1 through the one error path: the listing on stderr (with --json, the count)
        summary = f"audit chain BROKEN: {len(result.problems)} problem(s) in {result.rows} rows"
        listing = "" if as_json else "".join(f"\n- {p}" for p in result.problems)
        raise AuditBroken(summary + listing)


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
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject",
            help="Only the rows about one thing: meeting:14, insats:3, obligation:7, "
            "plan:5, forbund:KEY.",
        ),
    ] = None,
    forbund: Annotated[
        str | None, typer.Option("--forbund", help="Only this förbund's rows (its key).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every audit row, oldest first (or those of one plan, subject or förbund)."""

    data = audit.log(app_for_command(), plan, subject=subject, forbund_key=forbund)
    emit(data, as_json, _log_table)


def _subject(row: AuditEventView) -> str:
    return f"plan:{row['plan']}" if row["plan"] is not None else row["subject"] or ""


def _log_table(rows: list[AuditEventView]) -> None:
    table(
        "Granskningslogg",
        ["#", "när", "gäller", "vem (roll)", "åtgärd", "från → till", "rev.", "möte", "kommentar"],
        [
            [
                r["seq"],
                sv_datetime(r["at"]),
                _subject(r),
                f"{r['actor_name']} ({r['role']})",
                r["action"],
                f"{r['from'] or '–'} → {r['to']}",
                (str(r["revision"]) + (f"→{r['new_revision']}" if r["new_revision"] else ""))
                if r["plan"] is not None
                else "",
                " ".join(x for x in (sv_date(r["meeting"]), r["paragraph"] or "") if x),
                r["comment"],
            ]
            for r in rows
        ],
    )
