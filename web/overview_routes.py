"""The tertial overview in the browser: the board's page, and the CSV and XLSX downloads.

The same overview the CLI prints (`reports overview`): the page shows its chart
(`workflow.reports.chart`), then the table with the same figures (the chart's
accessible alternative), the missing reports, the downloads and the förbund's
other overviews. The downloads are the very bytes `--csv` and `--xlsx` write. Any
role in the förbund may read it (`member`); another förbund answers 404 from the
guard, and so does a year outside 2000–2100 or a report kind the förbund file does
not name, as any unknown address does.

The download routes are registered before the page: Starlette tries routes in order,
and the page's `{kind}` would also match `tertial-1.csv`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup

from notifications.render import sv_date
from web.guard import MEMBER, finsam, visitor
from web.responses import page
from web.routes import route
from workflow.core.exceptions import NotFound
from workflow.forbund.report_rules import FINAL_KIND, FINAL_NAME
from workflow.identity.people import Membership
from workflow.reports import chart, periods
from workflow.reports import overview as reports_overview
from workflow.reports.obligations import YEARS
from workflow.reports.overview import OverviewView

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERCENT_TYPES = ("percent", "share")


def _membership(request: Request, forbund_key: str) -> Membership:
    """The visitor's membership in the route's förbund (the guard let only members in)."""
    person = visitor(request).person
    assert person is not None  # the guard let only a person in
    return next(m for m in person.memberships if m.forbund_key == forbund_key)


def _kinds(m: Membership) -> dict[str, str]:
    """The förbund's report kinds, key -> name, in its file's order, the final report last."""
    return {k.key: k.name for k in m.cfg.reports.kinds} | {FINAL_KIND: FINAL_NAME}


def _overview(request: Request, forbund: str, year: int, kind: str) -> OverviewView:
    """The overview asked for; a year or kind there can be none of is an unknown page."""
    if year not in YEARS:
        raise NotFound(
            f"no overview for the year {year}", f"give a year from {YEARS[0]} to {YEARS[-1]}"
        )
    if kind not in _kinds(_membership(request, forbund)):
        raise NotFound(
            f"unknown report kind {kind[:64]!r}",
            "the förbund's overviews are linked on each overview's page",
        )
    return reports_overview.overview(finsam(request), forbund, year, kind)


# ---------------------------------------------------------------- downloads


def _download(content: bytes, media_type: str, filename: str) -> Response:
    """An attachment with its Swedish file name; the security headers (nosniff, no-store)
    come with every response from `web.responses.Safety`."""
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _filename(forbund: str, year: int, kind: str, suffix: str) -> str:
    """`oversikt-sydostra-skane-2027-tertial-1.xlsx`: the keys are checked lower-case
    letters, digits, - and _, so the name needs no quoting beyond its quotes."""
    return f"oversikt-{forbund}-{year}-{kind}.{suffix}"


@route("GET", "/{forbund}/oversikt/{year:int}/{kind}.csv", MEMBER)
def overview_csv(request: Request, forbund: str, year: int, kind: str) -> Response:
    """`reports overview --csv`: UTF-8 with BOM, `;` and decimal commas, for Excel."""
    view = _overview(request, forbund, year, kind)
    name = _filename(forbund, year, kind, "csv")
    return _download(reports_overview.to_csv(view), CSV_TYPE, name)


@route("GET", "/{forbund}/oversikt/{year:int}/{kind}.xlsx", MEMBER)
def overview_xlsx(request: Request, forbund: str, year: int, kind: str) -> Response:
    """`reports overview --xlsx`: numbers as numbers, the sum row in bold."""
    view = _overview(request, forbund, year, kind)
    name = _filename(forbund, year, kind, "xlsx")
    return _download(reports_overview.to_xlsx(view), XLSX_TYPE, name)


# ---------------------------------------------------------------- the page


@route("GET", "/{forbund}/oversikt/{year:int}/{kind}", MEMBER)
def overview_page(request: Request, forbund: str, year: int, kind: str) -> Response:
    """The chart, the table with the same figures, the missing reports, the downloads
    and the förbund's other overviews. Three statements besides the guard's, whatever
    the number of insatser: the overview's two and the other overviews' one."""
    view = _overview(request, forbund, year, kind)
    m = _membership(request, forbund)
    base = f"/{forbund}/oversikt/{year}/{kind}"
    context = {
        "forbund_name": m.forbund_name,
        "view": view,
        "chart": Markup(chart.svg(view, m.forbund_name)),
        "participant_labels": [c["label"] for c in chart.participant_columns(view)],
        "table": _table(view),
        "texts": _texts(view),
        "missing": [_missing(r) for r in view["missing"]],
        "csv_url": f"{base}.csv",
        "xlsx_url": f"{base}.xlsx",
        "others": _others(request, m, year, kind),
    }
    return page(request, "reports/overview.html", context)


@dataclass(frozen=True)
class Cell:
    text: str
    number: bool  # right-aligned, figures lined up


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[Cell]]  # one per insats; the first cell names it
    total: list[Cell]  # the sum row


def _table(view: OverviewView) -> Table:
    """`sheet`'s columns without the text figures (they follow the table, per insats):
    the same headers and figures as the CSV and XLSX, written as a Swedish reader expects."""
    headers, rows, types = reports_overview.sheet(view)
    shown = [i for i, t in enumerate(types) if i < 3 or t != "text"]
    numeric = {i for i in shown if types[i] != "text"}

    def line(values: list[Any]) -> list[Cell]:
        return [Cell(_sv(values[i], types[i]), i in numeric) for i in shown]

    return Table(
        headers=[headers[i] for i in shown],
        rows=[line(r) for r in rows[:-1]],
        total=line(rows[-1]),
    )


def _sv(value: Any, kind: str) -> str:
    """'1 234', '1 234,5', '45 %', 'ja'; a figure not given as a dash."""
    if value is None or value == "":
        return "–" if kind != "text" else ""
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, int | float):
        # start-up: babel loads with the first page that formats a number
        from babel.numbers import format_decimal

        text = str(format_decimal(value, format="#,##0.#", locale="sv_SE"))
        return f"{text}\u00a0%" if kind in PERCENT_TYPES else text
    return str(value)


@dataclass(frozen=True)
class TextFigures:
    insats_name: str
    figures: list[tuple[str, str]]  # (label, text)


def _texts(view: OverviewView) -> list[TextFigures]:
    """The text figures (goal fulfilment, deviations) of each insats that gave any."""
    columns = [c for c in view["columns"] if c["type"] == "text"]
    found = []
    for r in view["rows"]:
        given = [(c["label"], r["figures"][c["key"]]) for c in columns]
        shown = [(label, text) for label, text in given if isinstance(text, str) and text]
        if shown:
            found.append(TextFigures(r["insats_name"], shown))
    return found


def _missing(m: reports_overview.MissingReport) -> dict[str, str]:
    return {
        "insats_name": m["insats_name"],
        "owner_name": m["owner_name"],
        "state": reports_overview.STATE_SV.get(m["state"], m["state"]),
        "due": sv_date(date.fromisoformat(m["due"])),
    }


@dataclass(frozen=True)
class OtherLink:
    name: str
    url: str
    current: bool


def _others(
    request: Request, m: Membership, year: int, kind: str
) -> list[tuple[int, list[OtherLink]]]:
    """The förbund's overviews by year, each year's kinds in the file's order (a kind the
    file no longer names last, by its key)."""
    names = _kinds(m)
    rank = {k: i for i, k in enumerate(names)}
    by_year: dict[int, list[str]] = {}
    for y, k in periods.with_obligations(finsam(request), m.forbund_key):
        by_year.setdefault(y, []).append(k)

    def link(y: int, k: str) -> OtherLink:
        url = f"/{m.forbund_key}/oversikt/{y}/{k}"
        return OtherLink(names.get(k, k), url, (y, k) == (year, kind))

    return [
        (y, [link(y, k) for k in sorted(kinds, key=lambda k: (rank.get(k, len(rank)), k))])
        for y, kinds in sorted(by_year.items())
    ]
