"""Which reports an insats owes, as rules in the förbund file.

Each kind names the months it covers (of this year or, for the annual report,
the year before), the month of the board meeting that handles it, and the due
date follows from that meeting's prep meeting: `due_days_before_prep` days
before the body named by `prep_body` meets.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportKind(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    from_month: int = Field(default=1, ge=1, le=12)
    to_month: int = Field(ge=1, le=12)
    previous_year: bool = False
    board_month: int = Field(ge=1, le=12)

    @model_validator(mode="after")
    def _months(self) -> ReportKind:
        if self.to_month < self.from_month:
            raise ValueError("to_month must not come before from_month")
        return self


class ReportRules(_Strict):
    prep_body: str = "beredningsgrupp"
    due_days_before_prep: int = Field(default=7, ge=0, le=60)
    final_report_days: int = Field(
        default=30,
        ge=0,
        le=180,
        description="days after an insats ends before the board "
        "meeting that handles its final report",
    )
    kinds: list[ReportKind] = Field(default_factory=lambda: DEFAULT_KINDS)


DEFAULT_KINDS = [
    ReportKind(
        key="arsberattelse",
        name="Årsberättelse",
        from_month=1,
        to_month=12,
        previous_year=True,
        board_month=3,
    ),
    ReportKind(key="tertial-1", name="Tertialrapport 1", from_month=1, to_month=4, board_month=5),
    ReportKind(key="tertial-2", name="Tertialrapport 2", from_month=1, to_month=8, board_month=9),
]
FINAL_KIND = "slutrapport"
FINAL_NAME = "Slutrapport"
