"""The economy check on the five seed plans, and on generated budgets."""

from __future__ import annotations

import tomllib

import pytest
from helpers import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.forbund.file import load_forbund
from workflow.plans.budget import Report, check, compute
from workflow.plans.plan_file import (
    Budget,
    BudgetLine,
    PlanFile,
    PlanMeta,
    PrintedFigure,
    read_plan_file,
)

PLANS = EXAMPLES / "plans"


def report(name: str) -> Report:
    path = PLANS / name
    meta = tomllib.loads(path.read_text(encoding="utf-8"))["plan"]
    cfg = load_forbund((path.parent / meta["forbund_file"]).resolve())
    plan, _ = read_plan_file(path, cfg)
    return check(plan, cfg)


def messages(r: Report, severity: str) -> list[str]:
    return [f.message for f in r.findings if f.severity == severity]


def test_sydostra_skane_2021_is_clean_with_its_deficit_covered() -> None:
    r = report("sydostra-skane-2021.toml")
    assert r.errors == []
    computed = r.columns[0].computed
    assert (computed["result"], computed["equity_before"], computed["equity_after"]) == (
        -1382,
        2054,
        672,
    )
    assert messages(r, "warning") == [
        "Eget kapital efter 2021: 672, under Nationella rådets rekommendation om cirka 20 % av "
        "tilldelningen 5 662 (cirka 1 132)"
    ]


def test_sydostra_skane_2020_is_clean() -> None:
    r = report("sydostra-skane-2020.toml")
    assert r.findings == []
    assert r.columns[0].computed["equity_after"] == 989


def test_lund_2017_prints_wrong_funds_available() -> None:
    r = report("lund-2017.toml")
    errors = messages(r, "error")
    assert "Medel till förfogande 2017: tryckt 2 600, beräknat 2 725" in errors
    assert "Medel till förfogande 2016 (prognos): tryckt 2 000, beräknat 2 072" in errors
    # the overview years print FK 3 150 with region and kommun 1 750: the sum and the split
    assert "Summa intäkter 2018: tryckt 7 000, beräknat 6 650" in errors
    assert any(e.startswith("Medlemsbidrag 2019: staten 3 150") for e in errors)
    assert len(errors) == 6


def test_ale_2013_sums_are_right_but_equity_is_thin() -> None:
    r = report("ale-kungalv-2013.toml")
    assert r.errors == []
    assert [c.computed["funds_available"] for c in r.columns] == [295, 225]
    assert len(r.warnings) == 2


def test_insjoriket_has_nothing_to_check() -> None:
    r = report("insjoriket-2020.toml")
    assert not r.has_budget and r.errors == [] and r.warnings == []
    assert messages(r, "info") == ["Planen har ingen budget: det finns inget att kontrollera."]


def test_the_forbunds_own_indicator_warns() -> None:
    path = PLANS / "sydostra-skane-2021.toml"
    cfg = load_forbund(EXAMPLES / "forbund" / "sydostra-skane.toml")
    text = path.read_text(encoding="utf-8").replace(
        'label = "Förbundschef (inlånad 42%)"\namounts = { 2021 = 400 }',
        'label = "Förbundschef (inlånad 42%)"\namounts = { 2021 = 4000 }',
    )
    plan = read_plan_file_text(text, cfg)
    shares = [f for f in check(plan, cfg).findings if f.check == "insatser_share"]
    assert shares and shares[0].severity == "warning"
    assert "förbundets mål är minst 80 %" in shares[0].message


def read_plan_file_text(text: str, cfg: object) -> PlanFile:
    from workflow.plans.plan_file import parse_plan

    return parse_plan(text, "test", cfg)  # type: ignore[arg-type]


# ---------------------------------------------------------------- generated budgets

CFG = load_forbund(EXAMPLES / "forbund" / "sydostra-skane.toml")
KOMMUNER = ["simrishamn", "sjobo", "tomelilla", "ystad"]
FIGURES = [
    "member_total",
    "total_income",
    "available",
    "total_insatser",
    "total_internal",
    "total_costs",
    "result",
    "funds_available",
    "equity_after",
]
amounts = st.integers(min_value=0, max_value=5000)


@st.composite
def consistent_budgets(draw: st.DrawFn) -> Budget:
    """Members split by the law, deficits covered, every printed figure as computed."""
    years = [2027, 2028] if draw(st.booleans()) else [2027]
    lines = []
    totals = {}
    for y in years:
        quarter = draw(st.integers(min_value=1, max_value=2000))
        shares = draw(
            st.lists(st.integers(min_value=0, max_value=quarter), min_size=3, max_size=3).map(
                sorted
            )
        )
        kommun = [shares[0], shares[1] - shares[0], shares[2] - shares[1], quarter - shares[2]]
        totals[y] = (quarter, kommun)
    lines.append(
        BudgetLine(
            group="members",
            label="Staten",
            member="staten",
            amounts={y: 2 * totals[y][0] for y in years},
        )
    )
    lines.append(
        BudgetLine(
            group="members",
            label="Region Skåne",
            member="region-skane",
            amounts={y: totals[y][0] for y in years},
        )
    )
    for i, key in enumerate(KOMMUNER):
        lines.append(
            BudgetLine(
                group="members", label=key, member=key, amounts={y: totals[y][1][i] for y in years}
            )
        )
    for group in ("other_income", "insatser", "internal"):
        for n in range(draw(st.integers(min_value=1, max_value=4))):
            lines.append(
                BudgetLine(
                    group=group, label=f"{group} {n}", amounts={y: draw(amounts) for y in years}
                )
            )
    savings = draw(st.booleans())
    budget = Budget(columns=years, lines=lines)
    if savings:
        # savings of the first year large enough; later years carry over what is computed
        deficits = sum(max(0, -(compute(budget, y)["result"] or 0)) for y in years)
        need = deficits + draw(amounts)
        lines.append(BudgetLine(group="savings", label="Sparade medel", amounts={years[0]: need}))
        budget = Budget(columns=years, lines=lines)
        for y in years[1:]:
            carried = compute(budget, y - 1)["funds_available"] or 0
            lines[-1] = BudgetLine(
                group="savings",
                label="Sparade medel",
                amounts={**lines[-1].amounts, y: max(carried, 0)},
            )
            budget = Budget(columns=years, lines=lines)
        equity = {}
    else:
        equity = {y: max(0, -(compute(budget, y)["result"] or 0)) + draw(amounts) for y in years}
    budget = Budget(columns=years, lines=lines, equity_before=equity)
    printed = []
    for fig in FIGURES:
        values = {y: compute(budget, y)[fig] for y in years}
        values = {y: v for y, v in values.items() if v is not None}
        if values:
            printed.append(PrintedFigure(figure=fig, label=fig, amounts=values))
    return Budget(columns=years, lines=lines, equity_before=equity, printed=printed)


def plan_with(budget: Budget) -> PlanFile:
    last = budget.columns[-1]
    return PlanFile(
        plan=PlanMeta(forbund="sydostra-skane", year=2027, last_year=last), budget=budget
    )


@settings(max_examples=200, deadline=None)
@given(budget=consistent_budgets())
def test_a_consistent_budget_always_checks_clean(budget: Budget) -> None:
    r = check(plan_with(budget), CFG)
    assert r.errors == [], [f.message for f in r.errors]


@settings(max_examples=200, deadline=None)
@given(budget=consistent_budgets(), data=st.data())
def test_changing_any_printed_total_is_reported(budget: Budget, data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(budget.printed) - 1))
    fig = budget.printed[index]
    year = data.draw(st.sampled_from(sorted(fig.amounts)))
    delta = data.draw(st.integers(min_value=-500, max_value=500).filter(bool))
    changed = PrintedFigure(
        figure=fig.figure, label=fig.label, amounts={**fig.amounts, year: fig.amounts[year] + delta}
    )
    printed = [*budget.printed[:index], changed, *budget.printed[index + 1 :]]
    tampered = budget.model_copy(update={"printed": printed})
    r = check(plan_with(tampered), CFG)
    hits = [f for f in r.errors if f.check == "printed" and f.year == year]
    assert [(f.printed, f.computed) for f in hits] == [
        (fig.amounts[year] + delta, fig.amounts[year])
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in PLANS.glob("*.toml")))
def test_every_example_reads(name: str) -> None:
    assert isinstance(report(name), Report)


def test_examples_cover_the_five_seeds() -> None:
    assert sorted(p.stem for p in PLANS.glob("*.toml")) == [
        "ale-kungalv-2013",
        "insjoriket-2020",
        "lund-2017",
        "sydostra-skane-2020",
        "sydostra-skane-2021",
    ]
