"""The tertial overview in the browser: `/{forbund}/oversikt/{year}/{kind}` with its chart
and table, and the CSV and XLSX downloads beside it.

The data is built through the services, as the CLI builds it: the year's meetings,
three insatser, their report obligations, two reports handed in with figures (one
of them by an insats whose name is markup) and one late. The page's figures must be
the ones submitted, the downloads the CLI's, and another förbund's visitor must find
nothing there.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers import CHEF, LEADER, MEMBER, advance_to, run_cli, statements
from webtools import ALE_CHAIR, client_for, signed_in_client

import web.overview_routes  # noqa: F401  (its routes register on import)
from web.server import create_app
from workflow.cycle import meetings
from workflow.reports import chart, insatser
from workflow.reports import obligations as reports
from workflow.reports import overview as ov

SOS = "sydostra-skane"
NORA = "nora.al@ystad.example"
HOSTILE = '<script>alert(1)</script> & "Unga"'
NOW = "2027-04-25T10:00"
PAGE = f"/{SOS}/oversikt/2027/tertial-1"
MARIA = {
    "participants_women": "14",
    "participants_men": "9",
    "participants_new": "5",
    "ended_work_or_studies": "3",
    "sus_up_to_date": "ja",
    "costs_tkr": "1234,5",
    "goal_fulfilment": "=Målen nås",
}
UNGA = {
    "participants_women": "6",
    "participants_men": "11",
    "participants_other": "1",
    "participants_new": "4",
    "ended_work_or_studies": "2",
    "sus_up_to_date": "nej",
    "costs_tkr": "1500",  # of 1 200: over budget
    "goal_fulfilment": "Delvis <b>uppnått</b>",
}
SVG = "{http://www.w3.org/2000/svg}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _add(app: Any, name: str, owner: str, leader: str, budget: int) -> None:
    insatser.add(
        app,
        SOS,
        actor_email=CHEF,
        name=name,
        owner=owner,
        start=date(2019, 3, 1),
        leader_name="Projektledare",
        leader_email=leader,
        budget={2027: budget},
    )


@pytest.fixture
def tertial(
    sqlite_web_app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Three insatser of Sydöstra Skåne owe tertial 1 of 2027: Mariamottagningen handed
    its report in, the one named with markup had its approved, Möjligheternas hus is late.
    On SQLite: the pages add nothing of their own to the database; the overview's service
    is asked on both in tests/integration/test_report_overview.py."""
    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    advance_to(clock, "2027-01-10T09:00")
    meetings.generate(sqlite_web_app, SOS, 2027, actor_email=CHEF)
    _add(sqlite_web_app, "Mariamottagningen", "region-skane", LEADER, 3000)
    _add(sqlite_web_app, HOSTILE, "ystad", NORA, 1200)
    _add(sqlite_web_app, "Möjligheternas hus", "tomelilla", NORA, 800)
    owed = {
        r["insats_name"]: r["id"]
        for r in reports.generate(sqlite_web_app, SOS, 2027, actor_email=CHEF)
        if r["kind"] == "tertial-1"
    }
    doc = tmp_path / "T1.pdf"
    doc.write_bytes(b"%PDF-1.4 rapport")
    advance_to(clock, "2027-04-15T10:00")
    reports.submit(sqlite_web_app, owed["Mariamottagningen"], doc, LEADER, figures=MARIA)
    reports.submit(sqlite_web_app, owed[HOSTILE], doc, NORA, figures=UNGA)
    reports.decide(sqlite_web_app, owed[HOSTILE], "approve", CHEF)
    advance_to(clock, NOW)
    return sqlite_web_app


class _Tables(HTMLParser):
    """The text of every cell of the page's tables, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _table(html: str) -> dict[str, dict[str, str]]:
    """The overview's table: insats (or Summa) -> header -> the cell as shown."""
    parser = _Tables()
    parser.feed(html)
    head, *rows = parser.rows
    return {row[0]: dict(zip(head, row, strict=True)) for row in rows}


def _svg_of(html: str) -> ET.Element:
    found = re.search(r"<svg .*?</svg>", html, re.S)
    assert found, html
    return ET.fromstring(found.group(0))  # well-formed: no name broke out of its text


# ---------------------------------------------------------------- the page


def test_the_tables_figures_and_sums_are_the_ones_submitted(tertial: Any) -> None:
    answer = signed_in_client(tertial, MEMBER).get(PAGE)  # a ledamot: any role may read
    assert answer.status_code == 200
    html = answer.text
    assert "<h1>Tertialrapport 1 2027</h1>" in html
    assert "Samordningsförbundet Sydöstra Skåne" in html
    table = _table(html)
    assert list(table) == [HOSTILE, "Mariamottagningen", "Möjligheternas hus", "Summa"]  # by name
    maria, hus, total = table["Mariamottagningen"], table["Möjligheternas hus"], table["Summa"]
    assert maria["Status"] == "inlämnad" and hus["Status"] == "försenad"
    assert maria["Kostnader hittills i år (tkr)"] == "1\xa0234,5"
    assert maria["Budget 2027 (tkr)"] == "3\xa0000"
    assert maria["Andel av budgeten använd (%)"] == "41,2\xa0%"
    assert maria["Deltagarna är registrerade i SUS"] == "ja"
    assert hus["Deltagare under perioden, kvinnor"] == "–"  # no report handed in
    for key, label in (
        ("participants_women", "Deltagare under perioden, kvinnor"),
        ("participants_men", "Deltagare under perioden, män"),
        ("participants_new", "Nya deltagare under perioden"),
        ("ended_work_or_studies", "Avslutade deltagare som gått till arbete eller studier"),
    ):
        assert total[label] == str(int(MARIA[key]) + int(UNGA[key])), label
    assert total["Kostnader hittills i år (tkr)"] == "2\xa0734,5"
    assert total["Budget 2027 (tkr)"] == "5\xa0000"
    assert total["Andel av budgeten använd (%)"] == "65,1\xa0%"  # 2 734,5 of 4 200
    assert "Måluppfyllelse" not in maria  # the text figures follow the table
    assert "=Målen nås" in html
    assert "Möjligheternas hus (Tomelilla kommun): försenad" in html


def test_the_page_links_the_downloads_and_the_other_overviews(tertial: Any) -> None:
    html = signed_in_client(tertial, CHEF).get(PAGE).text
    assert f'href="{PAGE}.xlsx"' in html and f'href="{PAGE}.csv"' in html
    others = re.findall(
        rf'<a href="/{SOS}/oversikt/(\d+)/([a-z0-9-]+)"( aria-current="page")?', html
    )
    assert [(y, k) for y, k, _ in others] == [
        ("2027", "arsberattelse"),
        ("2027", "tertial-1"),
        ("2027", "tertial-2"),
    ]
    assert [k for _, k, current in others if current] == ["tertial-1"]


def test_the_chart_draws_participants_and_budget_used(tertial: Any) -> None:
    html = signed_in_client(tertial, CHEF).get(PAGE).text
    root = _svg_of(html)
    assert root.get("role") == "img"
    label = root.get("aria-label") or ""
    assert "Tertialrapport 1 2027" in label and "tabellen" in label
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    # participants: women + men + other, the new ones already among them
    assert "23" in texts and "18" in texts and "41" in texts  # the sum row: 23 + 18
    assert "41,2\xa0%" in texts and "125\xa0%" in texts and "65,1\xa0%" in texts
    assert "ingen rapport" in texts  # Möjligheternas hus
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect")}
    assert chart.OVER in fills and chart.WITHIN in fills  # 125 % is drawn as over budget
    view = ov.overview(tertial, SOS, 2027, "tertial-1")
    assert chart.svg(view, "Sydöstra") == chart.svg(view, "Sydöstra")  # the same each time


def test_an_overview_without_figures_says_so(tertial: Any) -> None:
    client = signed_in_client(tertial, CHEF)
    later = client.get(f"/{SOS}/oversikt/2027/tertial-2")
    assert later.status_code == 200
    texts = ["".join(t.itertext()) for t in _svg_of(later.text).iter(f"{SVG}text")]
    assert "Ingen inlämnad rapport har deltagare eller kostnader ännu." in texts
    assert "Mariamottagningen (Region Skåne): väntar" in later.text
    none = client.get(f"/{SOS}/oversikt/2027/slutrapport")  # no insats has ended
    assert none.status_code == 200
    texts = ["".join(t.itertext()) for t in _svg_of(none.text).iter(f"{SVG}text")]
    assert "Ingen insats ska lämna den här rapporten." in texts


def test_a_name_with_markup_stays_text_in_the_page_and_the_chart(tertial: Any) -> None:
    html = signed_in_client(tertial, CHEF).get(PAGE).text
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html
    assert "Delvis &lt;b&gt;uppnått&lt;/b&gt;" in html
    root = _svg_of(html)
    tags = {e.tag.removeprefix(SVG) for e in root.iter()}
    assert tags <= {"svg", "title", "rect", "line", "text"}
    assert not [a for e in root.iter() for a in e.attrib if a.lower().startswith("on")]
    # drawn as the very text people typed: cut to fit, whole in its tooltip
    assert HOSTILE in [t.text for t in root.iter(f"{SVG}title")]
    assert HOSTILE[:20] in "".join(root.itertext())


# ---------------------------------------------------------------- the downloads


def _cli(app: Any, monkeypatch: pytest.MonkeyPatch, option: str, path: Path) -> bytes:
    """What `finsam reports overview` writes on the same database at the same time."""
    monkeypatch.setenv("FINSAM_DATABASE_URL", app.url)
    monkeypatch.setenv("FINSAM_NOW", NOW)
    run_cli(
        *("reports", "overview", "--forbund", SOS, "--year", "2027", "--kind", "tertial-1"),
        *(option, str(path)),
    )
    return path.read_bytes()


def test_the_csv_is_the_clis(tertial: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = signed_in_client(tertial, CHEF).get(f"{PAGE}.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="oversikt-sydostra-skane-2027-tertial-1.csv"'
    )
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.content == _cli(tertial, monkeypatch, "--csv", tmp_path / "t1.csv")
    table = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    assert table[0][:3] == ["Insats", "Projektägare", "Status"]
    assert table[-1][0] == "Summa"


def test_the_xlsx_is_the_clis_with_numbers_as_numbers(
    tertial: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = signed_in_client(tertial, CHEF).get(f"{PAGE}.xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == XLSX
    assert answer.headers["content-disposition"] == (
        'attachment; filename="oversikt-sydostra-skane-2027-tertial-1.xlsx"'
    )
    assert answer.headers["x-content-type-options"] == "nosniff"
    served = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    written = openpyxl.load_workbook(
        io.BytesIO(_cli(tertial, monkeypatch, "--xlsx", tmp_path / "t1.xlsx"))
    ).active
    values = [[c.value for c in r] for r in served.iter_rows()]
    assert values == [[c.value for c in r] for r in written.iter_rows()]
    assert served.title == "Tertialrapport 1"
    head, total = values[0], values[-1]
    maria = next(r for r in values if r[0] == "Mariamottagningen")
    assert head[:3] == ["Insats", "Projektägare", "Status"] and "Budget 2027 (tkr)" in head
    women = head.index("Deltagare under perioden, kvinnor")
    assert maria[women] == 14 and isinstance(maria[women], int)
    assert total[0] == "Summa" and total[women] == 20
    assert total[head.index("Kostnader hittills i år (tkr)")] == 2734.5


# ---------------------------------------------------------------- who and what is refused


@pytest.mark.parametrize("suffix", ["", ".csv", ".xlsx"])
def test_another_forbunds_visitor_finds_nothing(tertial: Any, suffix: str) -> None:
    answer = signed_in_client(tertial, ALE_CHAIR).get(PAGE + suffix)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Mariamottagningen" not in answer.text and "<svg" not in answer.text


@pytest.mark.parametrize("suffix", ["", ".csv", ".xlsx"])
def test_the_anonymous_are_sent_to_sign_in(tertial: Any, suffix: str) -> None:
    answer = client_for(create_app(tertial)).get(PAGE + suffix)
    assert (answer.status_code, answer.headers["location"]) == (303, "/signin")


@pytest.mark.parametrize(
    "path",
    [
        f"/{SOS}/oversikt/2027/tertial-9",  # no such kind in the förbund file
        f"/{SOS}/oversikt/2027/tertial-9.csv",
        f"/{SOS}/oversikt/2027/tertial-1.pdf",
        f"/{SOS}/oversikt/1999/tertial-1",
        f"/{SOS}/oversikt/2101/tertial-1.xlsx",
        f"/{SOS}/oversikt/99999999999999999999999/tertial-1",
        "/no-such-forbund/oversikt/2027/tertial-1",
    ],
)
def test_an_unknown_kind_or_year_is_an_unknown_page(tertial: Any, path: str) -> None:
    answer = signed_in_client(tertial, CHEF).get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Sidan finns inte" in answer.text


# ---------------------------------------------------------------- its cost


def test_the_pages_statements_do_not_grow_with_the_insatser(tertial: Any) -> None:
    client = signed_in_client(tertial, CHEF)

    def counted() -> int:
        assert client.get(PAGE).status_code == 200  # warm: the förbund files are cached
        with statements(tertial) as seen:
            assert client.get(PAGE).status_code == 200
        return len(seen)

    few = counted()
    for n in range(4):
        _add(tertial, f"Insats {n}", "simrishamn", NORA, 100)
    meetings.generate(tertial, SOS, 2028, actor_email=CHEF)
    reports.generate(tertial, SOS, 2028, actor_email=CHEF)  # another year's links too
    reports.generate(tertial, SOS, 2027, actor_email=CHEF)
    assert len(_table(signed_in_client(tertial, CHEF).get(PAGE).text)) == 7 + 1
    assert counted() == few
    assert few < 20
