"""Checking a plan's economy: recompute every sum and compare with what was printed.

Pure functions over a PlanFile and the förbund's rules, so property tests can
throw generated budgets at them. Findings are in Swedish, since the people who
read them are the förbundschef and the board; numbers are grouped the Swedish
way by babel.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from workflow.forbund.file import ForbundFile
from workflow.plans.plan_file import Budget, PlanFile

Severity = Literal["error", "warning", "info"]

FIGURE_LABELS = {
    "member_total": "Medlemsbidrag",
    "total_income": "Summa intäkter",
    "available": "Tillgängliga medel",
    "total_insatser": "Summa insatser",
    "total_internal": "Summa interna kostnader",
    "total_costs": "Summa kostnader",
    "result": "Resultat",
    "funds_available": "Medel till förfogande",
    "equity_before": "Eget kapital före",
    "equity_after": "Eget kapital efter",
}
GROUP_LABELS = {
    "members": "Medlemsbidrag",
    "other_income": "Övriga intäkter",
    "savings": "Sparade medel",
    "insatser": "Insatser",
    "internal": "Interna kostnader",
}
SPLIT = {"state": (1, 2, "staten"), "region": (1, 4, "regionen"), "kommuner": (1, 4, "kommunerna")}
SPLIT_TOLERANCE = 1


def tkr(amount: int) -> str:
    """'2 831' (grouped the Swedish way, with a plain space for terminals and JSON)."""
    from babel.numbers import format_decimal

    return format_decimal(amount, locale="sv_SE").replace("\xa0", " ")


@dataclass(frozen=True)
class Finding:
    severity: Severity
    check: str
    year: int | None
    message: str
    printed: int | None = None
    computed: int | None = None


@dataclass
class Column:
    year: int
    label: str
    computed: dict[str, int | None]
    printed: dict[str, int] = field(default_factory=dict)


@dataclass
class Report:
    has_budget: bool
    columns: list[Column]
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "has_budget": self.has_budget,
            "ok": not self.errors,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "columns": [asdict(c) for c in self.columns],
            "findings": [asdict(f) for f in self.findings],
        }


def _sum(budget: Budget, year: int, group: str) -> int | None:
    values = [
        line.amounts[year] for line in budget.lines if line.group == group and year in line.amounts
    ]
    return sum(values) if values else None


def compute(budget: Budget, year: int) -> dict[str, int | None]:
    """Every derived figure of one column; None where the column has nothing to sum."""
    members = _sum(budget, year, "members")
    other = _sum(budget, year, "other_income")
    savings = _sum(budget, year, "savings")
    insatser = _sum(budget, year, "insatser")
    internal = _sum(budget, year, "internal")
    income = None if members is None and other is None else (members or 0) + (other or 0)
    costs = None if insatser is None and internal is None else (insatser or 0) + (internal or 0)
    # "tillgängliga medel" and "medel till förfogande" exist where savings are brought in
    available = None if income is None or savings is None else income + savings
    result = None if income is None or costs is None else income - costs
    funds = None if available is None or costs is None else available - costs
    equity_before = budget.equity_before.get(year)
    base = equity_before if equity_before is not None else savings
    equity_after = None if base is None or result is None else base + result
    return {
        "member_total": members, "total_income": income, "available": available,
        "total_insatser": insatser, "total_internal": internal, "total_costs": costs,
        "result": result, "funds_available": funds, "equity_before": equity_before,
        "equity_after": equity_after,
    }  # fmt: skip


def check(plan: PlanFile, cfg: ForbundFile) -> Report:
    budget = plan.budget
    if budget is None or not budget.lines:
        return Report(
            False,
            [],
            [
                Finding(
                    "info",
                    "no_budget",
                    None,
                    "Planen har ingen budget: det finns inget att kontrollera.",
                )
            ],
        )
    columns: list[Column] = []
    findings: list[Finding] = []
    previous: Column | None = None
    for year in budget.columns:
        computed = compute(budget, year)
        printed = {f.figure: f.amounts[year] for f in budget.printed if year in f.amounts}
        column = Column(year, budget.label(year), computed, printed)
        columns.append(column)
        findings += _printed(budget, year, computed)
        findings += _split(budget, year, cfg)
        findings += _deficit(budget, year, computed)
        findings += _equity_recommendation(budget, year, computed, cfg)
        findings += _insatser_share(budget, year, computed, cfg)
        findings += _carried_over(budget, year, previous)
        previous = column
    return Report(True, columns, findings)


def _printed(budget: Budget, year: int, computed: dict[str, int | None]) -> list[Finding]:
    out = []
    for fig in budget.printed:
        if year not in fig.amounts:
            continue
        value, expected = fig.amounts[year], computed.get(fig.figure)
        if expected is None:
            out.append(
                Finding(
                    "warning",
                    "printed",
                    year,
                    f"{fig.label} {budget.label(year)}: tryckt {tkr(value)}, "
                    "men det finns inga rader att beräkna den ur",
                    value,
                    None,
                )
            )
        elif value != expected:
            out.append(
                Finding(
                    "error",
                    "printed",
                    year,
                    f"{fig.label} {budget.label(year)}: tryckt {tkr(value)}, "
                    f"beräknat {tkr(expected)}",
                    value,
                    expected,
                )
            )
    return out


def _member_parts(budget: Budget, year: int, cfg: ForbundFile) -> dict[str, int] | None:
    kinds = {m.key: m.kind for m in cfg.members}
    parts = {"state": 0, "region": 0, "kommuner": 0}
    seen = False
    for line in budget.lines:
        if line.group != "members" or year not in line.amounts:
            continue
        seen = True
        kind = kinds.get(line.member or "", line.member)
        if kind in ("försäkringskassan", "arbetsförmedlingen", "staten"):
            parts["state"] += line.amounts[year]
        elif kind == "region":
            parts["region"] += line.amounts[year]
        else:
            parts["kommuner"] += line.amounts[year]
    return parts if seen else None


def _split(budget: Budget, year: int, cfg: ForbundFile) -> list[Finding]:
    """One finding per column: the law's ½ / ¼ / ¼, each share within a rounding of 1 tkr."""
    parts = _member_parts(budget, year, cfg)
    if parts is None:
        return []
    total = sum(parts.values())
    off = [
        p
        for p, (num, den, _) in SPLIT.items()
        if abs(parts[p] * den - total * num) > SPLIT_TOLERANCE * den
    ]
    if not off:
        return []
    given = ", ".join(f"{SPLIT[p][2]} {tkr(parts[p])}" for p in SPLIT)
    expected = ", ".join(
        f"{SPLIT[p][2]} {tkr(round(total * SPLIT[p][0] / SPLIT[p][1]))}" for p in SPLIT
    )
    first = off[0]
    return [
        Finding(
            "error",
            "member_split",
            year,
            f"Medlemsbidrag {budget.label(year)}: {given} av {tkr(total)} följer inte lagens "
            f"fördelning (staten ½, regionen ¼, kommunerna ¼), som ger {expected}",
            parts[first],
            round(total * SPLIT[first][0] / SPLIT[first][1]),
        )
    ]


def _deficit(budget: Budget, year: int, computed: dict[str, int | None]) -> list[Finding]:
    result = computed["result"]
    if result is None or result >= 0:
        return []
    equity_after = computed["equity_after"]
    label = budget.label(year)
    if equity_after is None:
        return [
            Finding(
                "warning",
                "deficit",
                year,
                f"Underskott {label}: {tkr(result)}, men planen anger inget eget "
                "kapital som kan täcka det",
                None,
                result,
            )
        ]
    if equity_after < 0:
        return [
            Finding(
                "error",
                "deficit",
                year,
                f"Underskott {label}: {tkr(result)} täcks inte av eget kapital "
                f"({tkr(equity_after - result)}); eget kapital efter blir "
                f"{tkr(equity_after)}",
                None,
                equity_after,
            )
        ]
    return []


def _equity_recommendation(
    budget: Budget, year: int, computed: dict[str, int | None], cfg: ForbundFile
) -> list[Finding]:
    allocation, equity = computed["member_total"], computed["equity_after"]
    rule = cfg.economy
    if (
        allocation is None
        or equity is None
        or allocation > rule.equity_recommendation_max_allocation
    ):
        return []
    floor = allocation * rule.equity_recommendation_percent / 100
    if equity >= floor:
        return []
    return [
        Finding(
            "warning",
            "equity_recommendation",
            year,
            f"Eget kapital efter {budget.label(year)}: {tkr(equity)}, under Nationella "
            f"rådets rekommendation om cirka {rule.equity_recommendation_percent} % av "
            f"tilldelningen {tkr(allocation)} (cirka {tkr(round(floor))})",
            equity,
            round(floor),
        )
    ]


def _insatser_share(
    budget: Budget, year: int, computed: dict[str, int | None], cfg: ForbundFile
) -> list[Finding]:
    minimum = cfg.economy.insatser_min_percent
    insatser, costs = computed["total_insatser"], computed["total_costs"]
    if minimum is None or not costs:
        return []
    share = 100 * (insatser or 0) / costs
    if share >= minimum:
        return []
    return [
        Finding(
            "warning",
            "insatser_share",
            year,
            f"Andel till insatser {budget.label(year)}: {share:.1f} % av kostnaderna, "
            f"förbundets mål är minst {minimum} %",
            None,
            round(share),
        )
    ]


def _carried_over(budget: Budget, year: int, previous: Column | None) -> list[Finding]:
    savings = _sum(budget, year, "savings")
    if previous is None or savings is None:
        return []
    before = previous.computed["funds_available"]
    if before is None or before == savings:
        return []
    return [
        Finding(
            "warning",
            "carried_over",
            year,
            f"Sparade medel {budget.label(year)}: {tkr(savings)}, men beräknade medel "
            f"till förfogande {previous.label} är {tkr(before)}",
            savings,
            before,
        )
    ]
