"""Which reports an insats owes, as rules in the förbund file.

Each kind names the months it covers (of this year or, for the annual report,
the year before), the month of the board meeting that handles it, and the due
date follows from that meeting's prep meeting: `due_days_before_prep` days
before the body named by `prep_body` meets.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflow.core.text import Key, Name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportKind(_Strict):
    """A report every running insats owes once a year."""

    key: Key = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="short identifier of the kind (lower case letters, digits and -), "
        "e.g. tertial-1",
    )
    name: Name = Field(description="the report's name, as in reminders, e.g. Tertialrapport 1")
    from_month: int = Field(default=1, ge=1, le=12, description="the first month it covers")
    to_month: int = Field(ge=1, le=12, description="the last month it covers")
    previous_year: bool = Field(
        default=False,
        description="true: it covers months of the year before (the annual report)",
    )
    board_month: int = Field(
        ge=1,
        le=12,
        description="the month of the board meeting that handles it; the förbund's [cycle] "
        "must have a board meeting that month",
    )

    @model_validator(mode="after")
    def _months(self) -> ReportKind:
        if self.to_month < self.from_month:
            raise ValueError("to_month must not come before from_month")
        return self


class ReportRules(_Strict):
    """Which reports an insats owes, and when each is due."""

    prep_body: Key = Field(
        default="beredningsgrupp",
        description="the key of the body whose meeting before the board's sets the due date",
    )
    due_days_before_prep: int = Field(
        default=7,
        ge=0,
        le=60,
        description="days before that body's meeting a report is due",
    )
    final_report_days: int = Field(
        default=30,
        ge=0,
        le=180,
        description="days after an insats ends before the board "
        "meeting that handles its final report",
    )
    kinds: list[ReportKind] = Field(
        default_factory=lambda: DEFAULT_KINDS,
        max_length=24,
        description="the kinds of report; default: årsberättelse (board in March), "
        "tertialrapport 1 (May) and 2 (September)",
    )


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
