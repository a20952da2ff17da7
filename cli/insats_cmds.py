"""`finsam insats ...` and `finsam reports ...`: the insatser and the reports they owe."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import AsOpt, ForbundOpt, JsonOpt, app_for_command, handled, parse_date
from cli.output import console, emit, emit_json, older_line, styled, sv_date, table
from workflow.core.exceptions import UsageError
from workflow.plans import decided
from workflow.reports import figures as report_figures
from workflow.reports import insatser
from workflow.reports import obligations as reports

insats_app = typer.Typer(help="The insatser the förbund funds.", no_args_is_help=True)
reports_app = typer.Typer(
    help="The reports the insatser owe: due dates, submissions, the late list.",
    no_args_is_help=True,
)

InsatsId = Annotated[int, typer.Argument(help="The insats's id (see 'finsam insats list').")]
ReportId = Annotated[int, typer.Argument(help="The obligation's id (see 'finsam reports status').")]
STATE_SV = {
    "pending": "väntar",
    "submitted": "inlämnad",
    "approved": "godkänd",
    "returned": "åter för komplettering",
    "cancelled": "utgår",
}


def _budget(values: list[str] | None, removable: bool = False) -> dict[int, int | None]:
    """YEAR=TKR options as {year: tkr}; with `removable`, YEAR= (no amount) is None."""
    out: dict[int, int | None] = {}
    for v in values or []:
        year, sign, amount = v.partition("=")
        try:
            if not sign or len(v) > 40:
                raise ValueError(v)
            out[int(year)] = None if removable and not amount.strip() else int(amount)
        except ValueError:
            raise UsageError(
                f"--budget {v[:40]!r} is not YEAR=TKR",
                "give e.g. --budget 2027=3000 (whole tkr)"
                + ("; YEAR= removes that year" if removable else ""),
            ) from None
    return out


def _amounts(values: list[str] | None) -> dict[int, int]:
    return {y: a for y, a in _budget(values).items() if a is not None}


@insats_app.command("add")
@handled
def add(
    name: Annotated[str | None, typer.Option(help="The insats's name.")] = None,
    owner: Annotated[str | None, typer.Option(help="Projektägare: a member key.")] = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD.")] = None,
    leader_name: Annotated[str, typer.Option(help="Project leader's name.")] = "",
    leader_email: Annotated[str, typer.Option(help="Project leader's e-mail.")] = "",
    contact_name: Annotated[str, typer.Option(help="The owner's contact person.")] = "",
    contact_email: Annotated[str, typer.Option(help="The owner's contact's e-mail.")] = "",
    budget: Annotated[
        list[str] | None, typer.Option(help="YEAR=TKR, repeat for several years.")
    ] = None,
    sus: Annotated[bool, typer.Option(help="Participants are registered in SUS.")] = False,
    from_plan: Annotated[
        int | None,
        typer.Option("--from-plan", help="Add the decided insatser of this plan instead."),
    ] = None,
    forbund: ForbundOpt = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an insats (or all the decided insatser of a plan with --from-plan).

    Needs [permissions] insatser of the förbund file (the förbundschef by default).
    """

    app = app_for_command()
    if from_plan is not None:
        data: Any = decided.insatser_from_plan(app, from_plan, actor_email=actor)
    else:
        if not (name and owner and start):
            raise UsageError(
                "an insats needs --name, --owner and --start",
                "or take the plan's decided insatser with --from-plan ID",
            )
        data = insatser.add(
            app,
            forbund,
            actor_email=actor,
            name=name,
            owner=owner,
            start=parse_date(start, "--start"),
            end=parse_date(end, "--end"),
            leader_name=leader_name,
            leader_email=leader_email,
            contact_name=contact_name,
            contact_email=contact_email,
            budget=_amounts(budget),
            sus=sus,
        )
    rows = data if isinstance(data, list) else [data]
    emit(
        data,
        as_json,
        lambda _: [
            console().print(f"Added insats {r['id']}: {r['name']} ({r['owner_name']})")
            for r in rows
        ],
    )


@insats_app.command("list")
@handled
def list_(forbund: ForbundOpt = None, as_json: JsonOpt = False) -> None:
    """The insatser, with owner, period and status."""

    data = insatser.list_insatser(app_for_command(), forbund)
    emit(
        data,
        as_json,
        lambda rows: table(
            "Insatser",
            ["id", "namn", "projektägare", "projektledare", "period", "status", "SUS"],
            [
                [
                    r["id"],
                    r["name"],
                    r["owner_name"],
                    r["leader_name"],
                    f"{r['start']} – {r['end'] or ''}",
                    r["status"],
                    "ja" if r["sus"] else "nej",
                ]
                for r in rows
            ],
        ),
    )


@insats_app.command("show")
@handled
def show(insats_id: InsatsId, as_json: JsonOpt = False) -> None:
    """One insats, its contacts, budget and report obligations."""

    data = insatser.show(app_for_command(), insats_id)

    def human(d: dict[str, Any]) -> None:
        out = console()
        out.print(
            styled(
                (d["name"], "bold"),
                f" ({d['owner_name']}), {d['start']} – {d['end'] or ''}, "
                f"{d['status']}, SUS: {'ja' if d['sus'] else 'nej'}",
            )
        )
        out.print(
            f"Projektledare: {d['leader_name']} {d['leader_email']}; kontakt: "
            f"{d['contact_name']} {d['contact_email']}"
        )
        if d["budget"]:
            out.print("Budget: " + ", ".join(f"{y}: {v} tkr" for y, v in d["budget"].items()))
        _status_table(d["obligations"])

    emit(data, as_json, human)


@insats_app.command("edit")
@handled
def edit(
    insats_id: InsatsId,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    owner: Annotated[str | None, typer.Option(help="Projektägare: a member key.")] = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD.")] = None,
    no_end: Annotated[bool, typer.Option("--no-end", help="Remove the planned last day.")] = False,
    leader_name: Annotated[str | None, typer.Option(help="Project leader's name.")] = None,
    leader_email: Annotated[
        str | None, typer.Option(help="Project leader's e-mail ('' for none).")
    ] = None,
    contact_name: Annotated[str | None, typer.Option(help="The owner's contact person.")] = None,
    contact_email: Annotated[
        str | None, typer.Option(help="The owner's contact's e-mail ('' for none).")
    ] = None,
    budget: Annotated[
        list[str] | None,
        typer.Option(help="YEAR=TKR sets a year's amount, YEAR= removes it; repeat for several."),
    ] = None,
    sus: Annotated[
        bool | None, typer.Option("--sus/--no-sus", help="Participants are registered in SUS.")
    ] = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Correct an insats: name, owner, period, contacts, budget, SUS (each change audited).

    A new period carries the insats's reports along: pending ones get the new
    period (or fall away, or are created), and a change that would alter a report
    already handed in is refused. Needs [permissions] insatser of the förbund file.
    """

    changes = insatser.InsatsChanges(
        name=name,
        owner=owner,
        start=parse_date(start, "--start"),
        end=parse_date(end, "--end"),
        no_end=no_end,
        leader_name=leader_name,
        leader_email=leader_email,
        contact_name=contact_name,
        contact_email=contact_email,
        budget=_budget(budget, removable=True) if budget else None,
        sus=sus,
    )
    data = insatser.edit(app_for_command(), insats_id, changes, actor_email=actor)

    def human(d: dict[str, Any]) -> None:
        out = console()
        if not d["changed"]:
            out.print(f"Insats {d['id']} unchanged: {d['name']}")
        else:
            out.print(f"Insats {d['id']} changed: {d['name']}")
        for line in d["changed"]:
            out.print(f"  {line}")

    emit(data, as_json, human)


@insats_app.command("end")
@handled
def end(
    insats_id: InsatsId,
    on: Annotated[str, typer.Option("--date", help="The last day, YYYY-MM-DD.")],
    reason: Annotated[
        str | None, typer.Option(help="Why it ends (kept in the audit trail).")
    ] = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """End an insats: later tertial reports fall away, a final report is owed.

    Needs [permissions] insatser of the förbund file (the förbundschef by default).
    """

    day = parse_date(on, "--date")
    assert day is not None
    data = reports.end_insats(app_for_command(), insats_id, day, actor_email=actor, reason=reason)

    def human(d: dict[str, Any]) -> None:
        console().print(f"Insats {d['insats']} ended {d['end']}")
        for o in d["cancelled"]:
            console().print(f"  no longer owed: {o['name']} {o['year']}")
        if d["final"]:
            console().print(f"  owed: {d['final']['name']}, due {d['final']['due']}")

    emit(data, as_json, human)


@reports_app.command("generate")
@handled
def generate(
    year: Annotated[int, typer.Option("--year", help="The year.")],
    forbund: ForbundOpt = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the year's report obligations of every active insats from the rules.

    Needs [permissions] reports of the förbund file (the förbundschef by default).
    """

    data = reports.generate(app_for_command(), forbund, year, actor_email=actor)
    emit(
        data,
        as_json,
        lambda rows: (
            console().print(f"{len(rows)} obligation(s) created for {year}")
            if not rows
            else _status_table(rows)
        ),
    )


def _status_table(rows: list[dict[str, Any]]) -> None:
    table(
        "Rapporter",
        ["id", "insats", "rapport", "period", "senast", "tillstånd", "inlämnad", "dagar sen"],
        [
            [
                r["id"],
                r["insats_name"],
                f"{r['name']} {r['year']}",
                r["period"],
                sv_date(r["due"]),
                STATE_SV[r["state"]],
                sv_date(r["submitted"]),
                r["days_late"] or "",
            ]
            for r in rows
        ],
    )


@reports_app.command("status")
@handled
def status(
    year: Annotated[int, typer.Option("--year", help="The year.")],
    late: Annotated[bool, typer.Option("--late", help="Only the late ones.")] = False,
    insats: Annotated[int | None, typer.Option("--insats", help="Only this insats.")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV for Excel (UTF-8 with BOM).")] = False,
    forbund: ForbundOpt = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", help="Show at most this many (1 to 1000; 50 unless --csv, which has all)."
        ),
    ] = None,
    before: Annotated[
        str | None,
        typer.Option(
            "--before", help="Only those due before this DATE:ID (the next page, as printed)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """One row per report obligation: insats, report and period, due date, state, days late.

    The latest due date first, a page at a time: 'older:' below the table shows the next.

    In --json "next" says it; --csv has every row, unless --limit (then 'older:' on stderr).
    """
    # start-up: the cursor's parser loads when the command runs, as the services do
    from workflow.core import paging

    cursor = None if before is None else paging.parse_date_cursor(before)
    paging.check_limit(limit)
    app = app_for_command()

    def read(size: int | None, after: tuple[str, int] | None) -> reports.ObligationPage:
        return reports.status_page(
            app, forbund, year, late_only=late, insats_id=insats, limit=size, before=after
        )

    def older(page: reports.ObligationPage) -> str | None:
        if page["next"] is None:
            return None
        options = [("--year", year), ("--late", late), ("--insats", insats)]
        options += [("--csv", as_csv and not as_json), ("--forbund", forbund), ("--limit", limit)]
        return older_line("reports status", options, page["next"]["before"])

    if as_csv and not as_json:
        # without --limit every row of the year, in one query: pages read one after the
        # other could show an obligation twice, or not at all, if a meeting moved its due
        # date between them (a year's obligations are a few thousand rows at most)
        out = sys.stdout.buffer
        out.write("\ufeff".encode())  # the BOM: Excel then reads å, ä, ö as UTF-8
        out.write(_csv_line(CSV_HEADER))
        page = read(limit, cursor)
        out.writelines(_csv_row(r) for r in page["obligations"])
        hint = older(page)
        if hint is not None:
            console(stderr=True).print(hint)
        return
    page = read(paging.PAGE_SIZE if limit is None else limit, cursor)
    if as_json:
        emit_json(page)
    elif not page["obligations"] and before is None:
        console().print("No report obligations" + (" are late." if late else f" for {year}."))
    else:
        _status_table(page["obligations"])
        hint = older(page)
        if hint is not None:
            console().print(hint)


CSV_HEADER = ["id", "insats", "rapport", "period", "senast", "tillstånd", "inlämnad", "dagar sen"]


def _csv_row(r: reports.ObligationView) -> bytes:
    return _csv_line(
        [
            r["id"],
            r["insats_name"],
            f"{r['name']} {r['year']}",
            r["period"],
            r["due"],
            STATE_SV[r["state"]],
            r["submitted"] or "",
            r["days_late"],
        ]
    )


def _csv_line(values: list[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerow(values)
    return buffer.getvalue().encode("utf-8")


@reports_app.command("submit")
@handled
def submit(
    report_id: ReportId,
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            help="The report document: PDF, DOCX, XLSX, ODT, ODS, plain text or CSV, "
            "at most FINSAM_MAX_UPLOAD_MB (25) MB; a regular file, not a link.",
        ),
    ],
    figures_file: Annotated[
        Path | None,
        typer.Option(
            "--figures",
            help="The report's figures: a TOML file of key = value lines "
            "(the keys of the förbund file's [[reports.fields]]).",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="A figure as key=value, repeat for several; wins over --figures.",
        ),
    ] = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hand in a report: a copy is kept by content hash, with its name, size and sha256,
    and the figures given, checked against what the report's kind asks for.

    The type is read from the content, not the name; anything else is refused. Without
    --figures and --set the file alone is taken; with either, every required figure must
    be given."""

    given = report_figures.gather(figures_file, set_)
    data = reports.submit(app_for_command(), report_id, file, actor, given)
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"Report {d['id']} ({d['name']} {d['year']}, {d['insats_name']}) submitted: "
            f"{d['file_name']}, {d['file_size']} bytes, sha256 {d['file_sha256'][:12]}"
            + (f"; {len(d['figures'])} figures" if given is not None and d["figures"] else "")
        ),
    )


@reports_app.command("approve")
@handled
def approve(report_id: ReportId, actor: AsOpt = None, as_json: JsonOpt = False) -> None:
    """The förbundschef approves a submitted report."""

    data = reports.decide(app_for_command(), report_id, "approve", actor)
    emit(data, as_json, lambda d: console().print(f"Report {d['id']} approved"))


@reports_app.command("return")
@handled
def return_(
    report_id: ReportId,
    comment: Annotated[str | None, typer.Option(help="What to complete.")] = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The förbundschef returns a submitted report for komplettering."""

    data = reports.decide(app_for_command(), report_id, "return", actor, comment)
    emit(
        data,
        as_json,
        lambda d: console().print(f"Report {d['id']} returned for komplettering: {d['comment']}"),
    )
