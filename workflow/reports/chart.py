"""The tertial overview drawn as SVG for the board's page: participants and budget used
per insats, one row each, beside the table that holds the same figures.

Plain SVG written by hand, as the årshjul is: a pure function of the overview (no
database, no clock), so the same view always gives the same drawing. Every name in
it comes from people (an insats called `<script>` is drawn as that text), so every
text and attribute value is escaped here, and the drawing holds only `svg`, `title`,
`text`, `rect` and `line`: nothing that runs or loads.

Which figures are participants: the integer figures whose key starts with
`participants_`, except `participants_new` (the new ones are already counted among
the others). With the default fields that is women + men + other; a förbund that
adds `participants_youth` or the like gets it summed too, so its own split by
gender, age or anything else stays one count of people. A report that gives none of
them has no participant bar (never a bar of 0).

Budget used is the overview's own `share_used` (costs so far against the insats's
budget for the year, %); the dashed line marks 100 %. Colour is never the only
sign: every bar carries its figure as text, and a share above 100 % is red.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

from workflow.reports.overview import HANDED_IN, OverviewColumn, OverviewRow, OverviewView

PARTICIPANTS_PREFIX = "participants_"
COUNTED_AMONG_OTHERS = frozenset({"participants_new"})

WIDTH = 900
NAME_X = 16
NAME_CHARS = 30  # an insats's name longer than this is cut, whole in its tooltip
PEOPLE_X, PEOPLE_BAR = 290, 200  # the participants' column: where it starts, longest bar
BUDGET_X, BUDGET_BAR = 580, 220  # the budget's column
TOP = 100  # the first row's top
ROW = 28  # a row's height
BAR = 14  # a bar's height
MOST_SHOWN = 200  # % the budget's scale reaches at most; a larger share is written, not drawn

INK = "#1b1b1b"  # text: 17:1 on white
MUTED = "#555555"  # notes and missing figures: 7.5:1
PEOPLE = "#0b5394"  # the site's accent: 7.9:1
WITHIN = "#2e7d5b"  # budget used up to 100 %: 5.0:1
OVER = "#a30000"  # above 100 %: 8.2:1
RULE = "#c8c8c8"  # lines between parts, decoration only
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


@dataclass(frozen=True)
class _Line:
    """One insats as the drawing shows it."""

    name: str
    handed_in: bool
    people: int | None
    share: float | None
    has_budget: bool


# ---------------------------------------------------------------- what is drawn


def participant_columns(view: OverviewView) -> list[OverviewColumn]:
    """The figures summed into the participants (see the module's note)."""
    return [
        c
        for c in view["columns"]
        if c["type"] == "integer"
        and c["key"].startswith(PARTICIPANTS_PREFIX)
        and c["key"] not in COUNTED_AMONG_OTHERS
    ]


def participants(row: OverviewRow, columns: list[OverviewColumn]) -> int | None:
    """The row's participants: the sum of the figures given; None when none was."""
    given = [row["figures"].get(c["key"]) for c in columns]
    numbers = [int(v) for v in given if isinstance(v, int | float) and not isinstance(v, bool)]
    return sum(numbers) if numbers else None


def _lines(view: OverviewView) -> list[_Line]:
    columns = participant_columns(view)
    return [
        _Line(
            name=r["insats_name"],
            handed_in=r["state"] in HANDED_IN,
            people=participants(r, columns),
            share=r["share_used"],
            has_budget=bool(r["budget_tkr"]),
        )
        for r in view["rows"]
    ]


# ---------------------------------------------------------------- the drawing


def svg(view: OverviewView, forbund_name: str) -> str:
    """The overview of `forbund_name` as an SVG element, to be put inline in a page.

    Sized 900 wide and as high as its rows need, scaled to the page's width."""
    lines = _lines(view)
    title = f"{view['name']} {view['year']}"
    label = (
        f"Diagram: deltagare och använd budget per insats, {title}, {forbund_name}. "
        "Samma siffror finns i tabellen under diagrammet."
    )
    drawn = [ln for ln in lines if ln.people is not None or ln.share is not None]
    if not drawn:
        body, height = _nothing(bool(lines))
    else:
        body, height = _rows(lines, view)
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="oversikt-diagram" role="img" '
        f'aria-label="{_attr(label)}" width="100%" viewBox="0 0 {WIDTH} {height}" '
        f'font-family="{FONT}" font-size="14" fill="{INK}">',
        f"<title>{_text(label)}</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{NAME_X}" y="24" font-size="17" font-weight="bold">'
        "Deltagare och använd budget per insats</text>",
        f'<text x="{NAME_X}" y="46" fill="{MUTED}">'
        f"{_text(title)} · {_text(forbund_name)} · budgetår {view['budget_year']}</text>",
    ]
    return "\n".join([*head, *body, "</svg>"]) + "\n"


def _nothing(any_rows: bool) -> tuple[list[str], int]:
    """No report has a figure to draw: a drawing that says so, not an empty chart."""
    said = (
        "Ingen inlämnad rapport har deltagare eller kostnader ännu."
        if any_rows
        else "Ingen insats ska lämna den här rapporten."
    )
    return [f'<text x="{NAME_X}" y="90" font-size="15">{_text(said)}</text>'], 120


def _rows(lines: list[_Line], view: OverviewView) -> tuple[list[str], int]:
    most_people = max((ln.people for ln in lines if ln.people is not None), default=0)
    shares = [ln.share for ln in lines if ln.share is not None]
    scale = _budget_scale(max(shares, default=0.0))
    year = view["budget_year"]
    parts = [
        f'<text x="{NAME_X}" y="74" font-weight="bold">Insats</text>',
        f'<text x="{PEOPLE_X}" y="74" font-weight="bold">Deltagare</text>',
        f'<text x="{BUDGET_X}" y="74" font-weight="bold">Använd budget {year}</text>',
    ]
    for i, ln in enumerate(lines):
        y = TOP + i * ROW
        parts.append(_name(ln.name, y))
        parts.extend(_people(ln, y, most_people))
        parts.extend(_budget(ln, y, scale))
    sum_y = TOP + len(lines) * ROW + 8
    parts.append(
        f'<line x1="{NAME_X}" y1="{sum_y - 4}" x2="{WIDTH - NAME_X}" y2="{sum_y - 4}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    parts.extend(_sums(lines, view, sum_y, scale))
    mark = BUDGET_X + _length(100.0, scale, BUDGET_BAR)
    bottom = sum_y + ROW
    parts.append(
        f'<line x1="{mark:.1f}" y1="{TOP - 6}" x2="{mark:.1f}" y2="{bottom - 6}" '
        f'stroke="{INK}" stroke-width="1.5" stroke-dasharray="5 3"/>'
    )
    parts.append(
        f'<text x="{mark:.1f}" y="{TOP - 9}" text-anchor="middle" font-size="11">100\u00a0%</text>'
    )
    note = (
        "Staplarna visar inlämnade rapporter. Deltagare: summan av deltagarsiffrorna. "
        f"Streckad linje: hela budgeten för {year} (100\u00a0%)."
    )
    parts.append(
        f'<text x="{NAME_X}" y="{bottom + 18}" font-size="12" fill="{MUTED}">{_text(note)}</text>'
    )
    return parts, bottom + 34


def _budget_scale(largest: float) -> float:
    """The share the budget's longest bar stands for: 100 %, or above it in steps of 25
    up to MOST_SHOWN when a share goes over."""
    if largest <= 100:
        return 100.0
    return float(min(math.ceil(largest / 25) * 25, MOST_SHOWN))


def _length(value: float, scale: float, longest: int) -> float:
    return round(min(value, scale) / scale * longest, 1) if scale > 0 else 0.0


def _name(name: str, y: int) -> str:
    shown = name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"
    tip = f"<title>{_text(name)}</title>" if shown != name else ""
    return f'<text x="{NAME_X}" y="{y + BAR - 2}">{tip}{_text(shown)}</text>'


def _absent(ln: _Line) -> str:
    """Why a figure is not drawn: no report handed in, or a report that did not give it."""
    return "–" if ln.handed_in else "ingen rapport"


def _people(ln: _Line, y: int, most: int) -> list[str]:
    if ln.people is None:
        return [f'<text x="{PEOPLE_X}" y="{y + BAR - 2}" fill="{MUTED}">{_absent(ln)}</text>']
    length = round(ln.people / most * PEOPLE_BAR, 1) if most else 0.0
    return [
        f'<rect x="{PEOPLE_X}" y="{y}" width="{length}" height="{BAR}" fill="{PEOPLE}"/>',
        f'<text x="{PEOPLE_X + length + 6:.1f}" y="{y + BAR - 2}">{_number(ln.people)}</text>',
    ]


def _budget(ln: _Line, y: int, scale: float) -> list[str]:
    if ln.share is None:
        said = _absent(ln) if ln.has_budget else "ingen budget"
        return [f'<text x="{BUDGET_X}" y="{y + BAR - 2}" fill="{MUTED}">{said}</text>']
    return _share_bar(ln.share, y, scale)


def _share_bar(share: float, y: int, scale: float) -> list[str]:
    length = _length(share, scale, BUDGET_BAR)
    colour = OVER if share > 100 else WITHIN
    return [
        f'<rect x="{BUDGET_X}" y="{y}" width="{length}" height="{BAR}" fill="{colour}"/>',
        f'<text x="{BUDGET_X + length + 6:.1f}" y="{y + BAR - 2}">{_percent(share)}</text>',
    ]


def _sums(lines: list[_Line], view: OverviewView, y: int, scale: float) -> list[str]:
    """The sum row: all participants as a figure (a bar of the sum would dwarf the
    rows'), and the share used over the insatser that gave costs and have a budget."""
    counted = [ln.people for ln in lines if ln.people is not None]
    total = _number(sum(counted)) if counted else "–"
    parts = [
        f'<text x="{NAME_X}" y="{y + BAR - 2}" font-weight="bold">Summa</text>',
        f'<text x="{PEOPLE_X}" y="{y + BAR - 2}" font-weight="bold">{total}</text>',
    ]
    share = view["sums"].get("share_used")
    if isinstance(share, int | float) and not isinstance(share, bool):
        parts.extend(_share_bar(float(share), y, scale))
    else:
        parts.append(f'<text x="{BUDGET_X}" y="{y + BAR - 2}" fill="{MUTED}">–</text>')
    return parts


# ---------------------------------------------------------------- text


def _number(value: float) -> str:
    """'1 234' and '12,5', as the table writes them (a no-break space between groups)."""
    # start-up: babel loads only when a drawing is made
    from babel.numbers import format_decimal

    return str(format_decimal(value, format="#,##0.#", locale="sv_SE"))


def _percent(value: float) -> str:
    return f"{_number(value)}\u00a0%"


def _text(value: str) -> str:
    return escape(value)


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;", "'": "&#39;", "\n": "&#10;"})
