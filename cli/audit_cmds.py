"""`finsam audit ...`: the hash-chained trail, its head and its verification."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import ForbundOpt, JsonOpt, app_for_command, handled
from cli.output import console, emit, emit_json, older_line, sv_date, sv_datetime, table
from workflow.core import audit
from workflow.core.exceptions import AuditBroken, UsageError
from workflow.core.views import AuditEventView

app = typer.Typer(help="Read and verify the audit trail.", no_args_is_help=True)
# the page size without --limit (the services' own default, `paging.PAGE_SIZE`)
PAGE_SIZE = 50


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
    forbund: Annotated[
        str | None,
        typer.Option(
            "--forbund",
            help="Verify only this förbund's own chain, plans, reports and file (its key).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Exit 0 when the trail is intact and agrees with the plans, reports and förbund files.

    Exit 1 naming what is off: the first row that breaks the chain, every row
    dated before its predecessor, and every plan, report obligation and förbund
    whose current state disagrees with its last row (a removed tail shows so,
    even without --head). Without --forbund: the whole trail's chain and every
    förbund's own chain; with it: that förbund's rows alone.
    """

    if head is not None and (
        len(head) < 12 or any(c not in "0123456789abcdef" for c in head.lower())
    ):
        raise UsageError(
            f"--head {head!r} is not a hash prefix",
            "give at least 12 hex digits, as printed by 'finsam audit head'",
        )
    result = audit.verify_database(app_for_command(), head, forbund)
    data = {
        "forbund": result.forbund,
        "ok": result.ok,
        "rows": result.rows,
        "head": result.head,
        "first_bad_seq": result.first_bad_seq,
        "problem": result.problem or None,
        "problems": list(result.problems),
        "expected_head_found": result.expected_head_found,
        "heads": result.heads,
    }
    if as_json:
        emit_json(data)
    elif result.ok:
        _print_intact(result)
    if not result.ok:
        # exit 1 through the one error path: the listing on stderr (with --json, the count)
        summary = f"audit chain BROKEN: {len(result.problems)} problem(s) in {result.rows} rows"
        listing = "" if as_json else "".join(f"\n- {p}" for p in result.problems)
        raise AuditBroken(summary + listing)


def _print_intact(result: audit.Verification) -> None:
    short = audit.SHORT
    if result.forbund is not None:
        console().print(
            f"audit chain of förbund {result.forbund} intact: {result.rows} rows, "
            f"head {result.head[:short]}"
        )
        return
    console().print(f"audit chain intact: {result.rows} rows, head {result.head[:short]}")
    for key, digest in result.heads.items():
        console().print(f"  förbund {key}: head {digest[:short]}")


@app.command("head")
@handled
def head(forbund: ForbundOpt = None, as_json: JsonOpt = False) -> None:
    """The head of the förbund's own chain, short enough to write into its board's minutes."""

    data = audit.head_of(app_for_command(), forbund)
    emit(data, as_json, _print_head)


def _print_head(d: audit.ForbundHead) -> None:
    of = f" of förbund {d['forbund']}" if d["forbund"] else ""
    console().print(f"{d['short']}  (row {d['seq']}{of}, {d['hash']})")


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
    limit: Annotated[
        int, typer.Option("--limit", help="Show at most this many (1 to 1000).")
    ] = PAGE_SIZE,
    before: Annotated[
        int | None,
        typer.Option("--before", help="Only rows with a lower # than this (the next page): a seq."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The audit rows, newest first, a page at a time (or those of a plan, subject or förbund).

    Below the table (in --json: "next") is how to see the older ones.

    With --forbund the rows carry that förbund's own seq and hashes (not the whole
    trail's), so the export says nothing of another förbund; --before takes that seq.
    """

    page = audit.log_page(
        app_for_command(), plan, subject=subject, forbund_key=forbund, limit=limit, before=before
    )

    def human(p: audit.AuditPage) -> None:
        _log_table(p["rows"])
        if p["next"] is not None:
            options = [("--plan", plan), ("--subject", subject), ("--forbund", forbund)]
            options.append(("--limit", None if limit == PAGE_SIZE else limit))
            console().print(older_line("audit log", options, p["next"]["before"]))

    emit(page, as_json, human)


def _subject(row: AuditEventView) -> str:
    return f"plan:{row['plan']}" if row["plan"] is not None else row["subject"] or ""


def _log_table(rows: list[audit.ChainedEventView]) -> None:
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
