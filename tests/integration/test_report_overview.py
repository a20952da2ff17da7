"""The tertial overview (`reports.overview`): figures, sums, budget used, the missing reports,
and the CSV and XLSX the board opens in Excel; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from helpers import CHEF, LEADER, add_maria, advance_to, begin_2027, dump, statements

from workflow.core.exceptions import UsageError
from workflow.core.models import Obligation
from workflow.reports import insatser
from workflow.reports import obligations as reports
from workflow.reports import overview as ov

NORA = "nora.al@ystad.example"
MARIA = {
    "participants_women": 14,
    "participants_men": 9,
    "participants_new": 5,
    "ended_work_or_studies": 3,
    "sus_up_to_date": True,
    "costs_tkr": 1234.5,
    "goal_fulfilment": "=Målen nås",  # a text that a spreadsheet must not take for a formula
}
UNGA = {
    "participants_women": 6,
    "participants_men": 11,
    "participants_other": 1,
    "participants_new": 4,
    "ended_work_or_studies": 2,
    "sus_up_to_date": False,
    "costs_tkr": 300,
    "goal_fulfilment": "Delvis",
}


def _figures(app: Any, obligation_id: int, figures: dict[str, Any]) -> None:
    """The figures a submitted report gave (written directly: `reports submit --figures`
    is another part of the work)."""
    with app.engine.begin() as conn:
        conn.execute(
            sa.update(Obligation).where(Obligation.id == obligation_id).values(figures=figures)
        )


def _add(app: Any, name: str, owner: str, budget: dict[int, int] | None = None) -> None:
    insatser.add(
        app,
        None,
        actor_email=CHEF,
        name=name,
        owner=owner,
        start=date(2019, 3, 1),
        leader_name="Nora Al",
        leader_email=NORA,
        budget=budget or {},
    )


@pytest.fixture
def tertial(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Three insatser owe tertial 1 of 2027: two hand it in with figures, one does not."""
    begin_2027(app, clock, tmp_path, monkeypatch)
    add_maria(app, budget={2027: 3000})
    _add(app, "Unga vuxna i arbete", "ystad", {2027: 1200})
    _add(app, "Möjligheternas hus", "tomelilla", {2027: 800})
    owed = {
        r["insats_name"]: r["id"]
        for r in reports.generate(app, None, 2027, actor_email=CHEF)
        if r["kind"] == "tertial-1"
    }
    doc = tmp_path / "T1.pdf"
    doc.write_bytes(b"%PDF-1.4 rapport")
    advance_to(clock, "2027-04-15T10:00")
    reports.submit(app, owed["Mariamottagningen"], doc, LEADER)
    reports.submit(app, owed["Unga vuxna i arbete"], doc, NORA)
    reports.decide(app, owed["Unga vuxna i arbete"], "approve", CHEF)
    _figures(app, owed["Mariamottagningen"], MARIA)
    _figures(app, owed["Unga vuxna i arbete"], UNGA)
    # a draft in a report not handed in is not the board's to see, nor to add up
    _figures(app, owed["Möjligheternas hus"], {"participants_women": 1000, "costs_tkr": 999})
    advance_to(clock, "2027-04-25T10:00")
    return owed


def test_rows_sums_share_used_and_the_missing_reports(app: Any, tertial: Any) -> None:
    view = ov.overview(app, None, 2027, "tertial-1")
    assert (view["name"], view["budget_year"], view["costs_key"]) == (
        "Tertialrapport 1",
        2027,
        "costs_tkr",
    )
    rows = {r["insats_name"]: r for r in view["rows"]}
    assert [r["insats_name"] for r in view["rows"]] == sorted(rows)
    maria, unga, hus = (
        rows["Mariamottagningen"],
        rows["Unga vuxna i arbete"],
        rows["Möjligheternas hus"],
    )
    assert (maria["state"], unga["state"], hus["state"]) == ("submitted", "approved", "late")
    assert maria["owner_name"] == "Region Skåne"
    assert maria["figures"]["participants_women"] == 14
    assert maria["figures"]["participants_other"] is None  # not given
    assert hus["figures"]["participants_women"] is None  # the draft stays out
    assert (maria["budget_tkr"], maria["costs_tkr"], maria["share_used"]) == (3000, 1234.5, 41.2)
    assert unga["share_used"] == 25.0
    assert (hus["budget_tkr"], hus["share_used"]) == (800, None)
    sums = view["sums"]
    for key in ("participants_women", "participants_men", "participants_new"):
        assert sums[key] == MARIA[key] + UNGA[key]
    assert sums["participants_other"] == 1
    assert "sus_up_to_date" not in sums and "goal_fulfilment" not in sums
    assert sums["budget_tkr"] == 3000 + 1200 + 800
    assert sums["costs_tkr"] == 1534.5
    # the share over the insatser that reported costs: a missing report is not money unspent
    assert sums["share_used"] == 36.5  # 1534.5 of 4200
    assert [(m["insats_name"], m["state"]) for m in view["missing"]] == [
        ("Möjligheternas hus", "late")
    ]
    assert [c["key"] for c in view["columns"]][-2:] == ["goal_fulfilment", "deviations"]


def test_csv_reads_back_with_swedish_headers_and_decimal_commas(app: Any, tertial: Any) -> None:
    raw = ov.to_csv(ov.overview(app, None, 2027, "tertial-1"))
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    head = table[0]
    assert head[:3] == ["Insats", "Projektägare", "Status"]
    assert head[-4:] == [
        "Budget 2027 (tkr)",
        "Andel av budgeten använd (%)",
        "Måluppfyllelse",
        "Avvikelser och åtgärder",
    ]
    maria = dict(zip(head, table[1], strict=True))
    assert maria["Insats"] == "Mariamottagningen" and maria["Status"] == "inlämnad"
    assert maria["Kostnader hittills i år (tkr)"] == "1234,5"
    assert maria["Andel av budgeten använd (%)"] == "41,2"
    assert maria["Deltagarna är registrerade i SUS"] == "ja"
    assert maria["Måluppfyllelse"] == "'=Målen nås"
    total = dict(zip(head, table[-1], strict=True))
    assert total["Insats"] == "Summa"
    assert total["Deltagare under perioden, kvinnor"] == "20"
    assert total["Budget 2027 (tkr)"] == "5000"
    assert len(table) == 1 + 3 + 1


def test_xlsx_reads_back_with_numbers_as_numbers(app: Any, tertial: Any) -> None:
    raw = ov.to_xlsx(ov.overview(app, None, 2027, "tertial-1"))
    book = openpyxl.load_workbook(io.BytesIO(raw))
    assert book.sheetnames == ["Tertialrapport 1"]
    ws = book["Tertialrapport 1"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    head = rows[0]
    assert head[0] == "Insats" and "Deltagare under perioden, kvinnor" in head
    assert all(c.font.bold for c in ws[1]) and ws.cell(row=len(rows), column=1).font.bold
    maria = dict(zip(head, rows[1], strict=True))
    women = maria["Deltagare under perioden, kvinnor"]
    assert women == 14 and isinstance(women, int)
    assert maria["Kostnader hittills i år (tkr)"] == 1234.5
    assert maria["Budget 2027 (tkr)"] == 3000
    assert maria["Andel av budgeten använd (%)"] == 41.2
    assert maria["Måluppfyllelse"] == "=Målen nås"  # kept as text, not made a formula
    assert ws.cell(row=2, column=head.index("Måluppfyllelse") + 1).data_type == "s"
    total = dict(zip(head, rows[-1], strict=True))
    assert total["Insats"] == "Summa"
    assert total["Deltagare under perioden, män"] == 20
    assert total["Budget 2027 (tkr)"] == 5000
    assert ws.column_dimensions["A"].width > 10


def test_statements_do_not_grow_with_the_insatser(app: Any, tertial: Any, clock: Any) -> None:
    def counted() -> int:
        with statements(app) as seen:
            ov.overview(app, None, 2027, "tertial-1")
        return len(seen)

    few = counted()
    for n in range(4):
        _add(app, f"Insats {n}", "simrishamn", {2027: 100})
    reports.generate(app, None, 2027, actor_email=CHEF)
    assert len(ov.overview(app, None, 2027, "tertial-1")["rows"]) == 7
    assert counted() == few


def test_refusals_name_what_is_allowed_and_change_nothing(
    app: Any, tertial: Any, app_url: str
) -> None:
    before = dump(app_url)
    with pytest.raises(UsageError) as bad_kind:
        ov.overview(app, None, 2027, "tertial-9")
    assert "arsberattelse, tertial-1, tertial-2, slutrapport" in str(bad_kind.value.hint)
    with pytest.raises(UsageError, match="out of range"):
        ov.overview(app, None, 1000, "tertial-1")
    assert dump(app_url) == before
    # a year with no obligations is an empty overview, not an error
    empty = ov.overview(app, None, 2030, "tertial-1")
    assert (empty["rows"], empty["missing"], empty["sums"]["budget_tkr"]) == ([], [], None)
