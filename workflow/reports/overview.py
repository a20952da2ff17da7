"""The tertial overview the board reads: one report kind of one year across the insatser.

Each insats's figures (`[[reports.fields]]`), its budget for the year, the costs
so far set against it, sums, and the reports still missing; as a view for the
CLI's table and JSON, and as CSV and XLSX for Excel. Figures count only once a
report is handed in (submitted or approved): what a pending or returned report
holds may be a draft, and the board sees the overview, not the drafts.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypedDict

import sqlalchemy as sa

from workflow.core.app import App
from workflow.core.clock import local_today
from workflow.core.exceptions import UsageError
from workflow.core.models import Insats, Obligation
from workflow.core.uow import read
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.forbund.report_rules import FINAL_KIND, FINAL_NAME, ReportField
from workflow.reports.obligations import OPEN, YEARS

NUMBERS = ("integer", "tkr", "percent")  # figures that are numbers
SUMMED = ("integer", "tkr")  # a sum of percentages says nothing; counts and amounts add up
HANDED_IN = ("submitted", "approved")
STATE_SV = {
    "pending": "väntar",
    "late": "försenad",
    "submitted": "inlämnad",
    "approved": "godkänd",
    "returned": "åter för komplettering",
}


class OverviewColumn(TypedDict):
    key: str
    label: str
    type: str


class OverviewRow(TypedDict):
    obligation: int | None
    insats: int
    insats_name: str
    owner: str
    owner_name: str
    state: str  # pending, late, submitted, approved or returned
    due: str
    figures: dict[str, Any]  # by column key; None where not given (or not handed in)
    budget_tkr: int | None  # the insats's budget for the year the report covers
    costs_tkr: float | None  # the first tkr figure (costs so far)
    share_used: float | None  # costs against budget, %, one decimal


class MissingReport(TypedDict):
    obligation: int | None
    insats: int
    insats_name: str
    owner_name: str
    state: str
    due: str


class OverviewView(TypedDict):
    """The CLI's JSON shape for `reports overview`."""

    year: int
    kind: str
    name: str
    budget_year: int
    columns: list[OverviewColumn]
    costs_key: str | None
    rows: list[OverviewRow]
    sums: dict[str, Any]  # the summed figures, budget_tkr, costs_tkr and share_used
    missing: list[MissingReport]


# ---------------------------------------------------------------- the view


def overview(app: App, forbund_key: str | None, year: int, kind: str) -> OverviewView:
    """One row per insats owing a `kind` report for `year`, its sums and the missing ones.

    Two statements whatever the number of insatser: the förbund (its members come
    from its file) and the obligations joined with their insatser.
    """
    if year not in YEARS:
        raise UsageError(
            f"--year {year} is out of range", f"give a year from {YEARS[0]} to {YEARS[-1]}"
        )
    with read(app) as uow:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        cfg = forbunds.config_of(row)
        name, previous = _kind(cfg, kind)
        pairs = s.execute(
            sa.select(Obligation, Insats)
            .join(Insats, Insats.id == Obligation.insats_id)
            .where(
                Insats.forbund_id == row.id,
                Obligation.year == year,
                Obligation.kind == kind,
                Obligation.state != "cancelled",
            )
            .order_by(Insats.name, Insats.id)
        ).all()
        fields = cfg.reports.fields_for(kind)
        costs = next((f.key for f in fields if f.type == "tkr"), None)
        members = {m.key: m.name for m in cfg.members}
        today = local_today(app.clock)
        budget_year = year - 1 if previous else year
        rows = [_row(o, i, fields, costs, members, budget_year, today) for o, i in pairs]
    return {
        "year": year,
        "kind": kind,
        "name": name,
        "budget_year": budget_year,
        "columns": [{"key": f.key, "label": f.label, "type": f.type} for f in fields],
        "costs_key": costs,
        "rows": rows,
        "sums": _sums(rows, fields),
        "missing": [_missing(r) for r in rows if r["state"] not in HANDED_IN],
    }


def _kind(cfg: ForbundFile, kind: str) -> tuple[str, bool]:
    """The kind's name and whether it covers the year before; an unknown kind is refused."""
    known = {k.key: (k.name, k.previous_year) for k in cfg.reports.kinds}
    known[FINAL_KIND] = (FINAL_NAME, False)
    if kind not in known:
        raise UsageError(f"unknown report kind {kind[:64]!r}", f"give one of: {', '.join(known)}")
    return known[kind]


def _row(
    o: Obligation,
    i: Insats,
    fields: list[ReportField],
    costs: str | None,
    members: dict[str, str],
    budget_year: int,
    today: date,
) -> OverviewRow:
    late = o.state in OPEN and today > date.fromisoformat(o.due)
    given = o.figures if o.state in HANDED_IN and isinstance(o.figures, dict) else {}
    figures = {f.key: _value(f, given.get(f.key)) for f in fields}
    budget = _budget(i.budget, budget_year)
    spent = figures.get(costs) if costs else None
    return {
        "obligation": o.id,
        "insats": i.id or 0,
        "insats_name": i.name,
        "owner": i.owner,
        "owner_name": members.get(i.owner, i.owner),
        "state": "late" if late else o.state,
        "due": o.due,
        "figures": figures,
        "budget_tkr": budget,
        "costs_tkr": spent,
        "share_used": _share(spent, budget),
    }


def _value(f: ReportField, value: Any) -> Any:
    """A stored figure as its type holds it; anything else (an older or odd row) as not given."""
    if f.type in NUMBERS:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return value if ok else None
    if f.type == "yes-no":
        return value if isinstance(value, bool) else None
    return value if isinstance(value, str) else None


def _budget(budget: Any, year: int) -> int | None:
    amount = budget.get(str(year)) if isinstance(budget, dict) else None
    return amount if isinstance(amount, int) and not isinstance(amount, bool) else None


def _share(spent: float | None, budget: int | None) -> float | None:
    """Costs against budget in %, one decimal rounded half up (41.15 is 41.2, as by hand)."""
    if spent is None or not budget:
        return None
    share = Decimal(str(spent)) * 100 / Decimal(budget)
    return float(share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _sums(rows: list[OverviewRow], fields: list[ReportField]) -> dict[str, Any]:
    """Sums of the counts and amounts and of the budgets; the share used over the insatser
    that give both costs and a budget (a missing report must not look like money unspent)."""
    sums: dict[str, Any] = {
        f.key: _total(r["figures"][f.key] for r in rows) for f in fields if f.type in SUMMED
    }
    sums["budget_tkr"] = _total(r["budget_tkr"] for r in rows)
    both = [r for r in rows if r["costs_tkr"] is not None and r["budget_tkr"]]
    sums["costs_tkr"] = _total(r["costs_tkr"] for r in rows)
    sums["share_used"] = _share(
        _total(r["costs_tkr"] for r in both), _total(r["budget_tkr"] for r in both)
    )
    return sums


def _total(values: Any) -> Any:
    """The sum of the numbers given; None when none was."""
    given = [v for v in values if v is not None]
    return sum(given) if given else None


def _missing(r: OverviewRow) -> MissingReport:
    return {
        "obligation": r["obligation"],
        "insats": r["insats"],
        "insats_name": r["insats_name"],
        "owner_name": r["owner_name"],
        "state": r["state"],
        "due": r["due"],
    }


# ---------------------------------------------------------------- the sheet


def sheet(view: OverviewView) -> tuple[list[str], list[list[Any]], list[str]]:
    """The overview as a sheet: Swedish headers, one row per insats and the sum row, and
    each column's type (text, state, integer, tkr, percent, yes-no, share). The figures
    of type text come last: they are long, and the numbers belong together."""
    figures = [c for c in view["columns"] if c["type"] != "text"]
    texts = [c for c in view["columns"] if c["type"] == "text"]
    year = view["budget_year"]
    headers = [
        "Insats",
        "Projektägare",
        "Status",
        *(c["label"] for c in figures),
        f"Budget {year} (tkr)",
        "Andel av budgeten använd (%)",
        *(c["label"] for c in texts),
    ]
    types = [
        "text",
        "text",
        "text",
        *(c["type"] for c in figures),
        "tkr",
        "share",
        *("text" for _ in texts),
    ]
    body = [
        [
            r["insats_name"],
            r["owner_name"],
            STATE_SV.get(r["state"], r["state"]),
            *(r["figures"][c["key"]] for c in figures),
            r["budget_tkr"],
            r["share_used"],
            *(r["figures"][c["key"]] for c in texts),
        ]
        for r in view["rows"]
    ]
    sums = view["sums"]
    total = [
        "Summa",
        "",
        "",
        *(sums.get(c["key"]) for c in figures),
        sums["budget_tkr"],
        sums["share_used"],
        *("" for _ in texts),
    ]
    return headers, [*body, total], types


_FORMULA = re.compile(r"^[=+\-@\t\r]")  # what a spreadsheet may read as a formula


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, int | float):
        return str(value).replace(".", ",")
    text = str(value)
    return "'" + text if _FORMULA.match(text) else text


def to_csv(view: OverviewView) -> bytes:
    """UTF-8 with BOM, `;` between fields and `,` before decimals: what Swedish Excel opens."""
    headers, rows, _ = sheet(view)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers)
    for r in rows:
        writer.writerow([_csv_cell(v) for v in r])
    return buffer.getvalue().encode("utf-8-sig")


_NUMBER_FORMAT = {"integer": "#,##0", "tkr": "#,##0", "percent": "0.0", "share": "0.0"}
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")  # characters a sheet's name cannot hold


def to_xlsx(view: OverviewView) -> bytes:
    """One sheet named after the kind: a bold header row, numbers as numbers (never text),
    the sum row in bold, widths to fit."""
    # start-up: openpyxl loads only when a workbook is written
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    headers, rows, types = sheet(view)
    book = Workbook()
    ws = book.active
    ws.title = _SHEET_NAME.sub("-", view["name"]).strip("'")[:31] or view["kind"][:31]
    bold = Font(bold=True)
    for r, values in enumerate([headers, *rows], start=1):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c)
            if isinstance(value, bool):
                cell.value = "ja" if value else "nej"
            elif isinstance(value, int | float) or value is None:
                cell.value = value
                cell.number_format = _NUMBER_FORMAT.get(types[c - 1], "General")
            else:
                cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
                cell.data_type = "s"  # a text beginning with = stays text, never a formula
            if r == 1 or r == len(rows) + 1:
                cell.font = bold
    for c, header in enumerate(headers, start=1):
        longest = max([len(header), *(len(_csv_cell(r[c - 1])) for r in rows)])
        ws.column_dimensions[get_column_letter(c)].width = min(max(longest, 6) + 2, 60)
    ws.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
