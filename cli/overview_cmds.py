"""`finsam reports overview`: the tertial overview the board reads, as a table, CSV, XLSX
or JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import ForbundOpt, JsonOpt, app_for_command, handled
from cli.insats_cmds import reports_app
from cli.output import console, emit_json, sv_date, visible
from workflow.core.exceptions import UsageError
from workflow.core.files import write_output
from workflow.reports import overview as reports_overview


@reports_app.command("overview")
@handled
def overview(
    year: Annotated[int, typer.Option("--year", help="The year.")],
    kind: Annotated[
        str, typer.Option("--kind", help="The report kind, e.g. tertial-1 (see the förbund file).")
    ],
    to_csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Write CSV for Excel here (UTF-8 with BOM, ';', Swedish)."),
    ] = None,
    to_xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write an XLSX file here.")] = None,
    forbund: ForbundOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A report kind of a year across the insatser: each figure, sums, costs against the
    budget with the share used, and the reports missing.

    Figures count once a report is handed in (submitted or approved)."""

    chosen = [n for n, on in (("--csv", to_csv), ("--xlsx", to_xlsx), ("--json", as_json)) if on]
    if len(chosen) > 1:
        raise UsageError(
            f"{' and '.join(chosen)} cannot be given together", "give one of --csv, --xlsx, --json"
        )
    view = reports_overview.overview(app_for_command(), forbund, year, kind)
    if as_json:
        emit_json(view)
    elif to_csv is not None:
        size = write_output(to_csv, reports_overview.to_csv(view))
        console().print(f"Wrote {to_csv} ({size} bytes)")
    elif to_xlsx is not None:
        size = write_output(to_xlsx, reports_overview.to_xlsx(view))
        console().print(f"Wrote {to_xlsx} ({size} bytes)")
    else:
        _human(view)


def _sv(value: Any, kind: str) -> str:
    """A cell as a Swedish reader expects it: 1 234, 12,5, ja/nej."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, int | float):
        # start-up: loaded when the command runs, so `finsam --help` stays quick
        from babel.numbers import format_decimal

        pattern = "#,##0.0" if kind in ("percent", "share") else "#,##0.##"
        return format_decimal(value, format=pattern, locale="sv_SE")
    return visible(str(value))


def _human(view: reports_overview.OverviewView) -> None:
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from rich.table import Table

    headers, rows, types = reports_overview.sheet(view)
    shown = [i for i, t in enumerate(types) if i < 3 or t != "text"]  # text figures: JSON only
    out = console()
    t = Table(
        title=visible(f"{view['name']} {view['year']}"), title_justify="left", show_lines=False
    )
    for i in shown:
        t.add_column(visible(headers[i]), justify="left" if types[i] == "text" else "right")
    for n, row in enumerate(rows):
        t.add_row(*(_sv(row[i], types[i]) for i in shown), end_section=n == len(rows) - 2)
    out.print(t)
    if not view["missing"]:
        out.print("Alla rapporter är inlämnade.")
        return
    out.print("Rapporter som saknas:")
    for m in view["missing"]:
        state = reports_overview.STATE_SV.get(m["state"], m["state"])
        out.print(f"  {m['insats_name']} ({m['owner_name']}): {state}, senast {sv_date(m['due'])}")
