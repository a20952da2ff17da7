"""Which reports an insats owes, as rules in the förbund file.

Each kind names the months it covers (of this year or, for the annual report,
the year before), the month of the board meeting that handles it, and the due
date follows from that meeting's prep meeting: `due_days_before_prep` days
before the body named by `prep_body` meets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflow.core.text import Key, Line, Name


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


FieldType = Literal["integer", "tkr", "percent", "yes-no", "text"]


class ReportField(_Strict):
    """One figure a report gives (`[[reports.fields]]`): what the board adds up."""

    key: Key = Field(
        pattern=r"^[a-z0-9][a-z0-9_]*$",
        description="short identifier of the figure (lower case letters, digits and _), "
        "e.g. participants_women",
    )
    label: Name = Field(description="the Swedish label shown to the project leader and the board")
    type: FieldType = Field(
        default="integer",
        description="integer (a count), tkr (thousands of kronor), percent (0-100), "
        "yes-no, or text (a few lines)",
    )
    required: bool = Field(default=True, description="whether a report must give it")
    help: Line = Field(default="", description="a line of help shown under the field")
    kinds: list[Key] = Field(
        default_factory=list,
        max_length=24,
        description="the report kinds that ask for it (keys of [[reports.kinds]] or "
        "slutrapport); empty: every kind",
    )


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
    fields: list[ReportField] = Field(
        default_factory=lambda: DEFAULT_FIELDS,
        max_length=60,
        description="the figures each report gives; default: participants (women, men, "
        "other), new participants, those who went on to work or studies, SUS up to date, "
        "costs so far (tkr), goal fulfilment and deviations",
    )

    def fields_for(self, kind: str) -> list[ReportField]:
        """The figures a report of `kind` gives, in the file's order."""
        return [f for f in self.fields if not f.kinds or kind in f.kinds]


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

# close to what förbund ask for in their tertial templates and what SUS counts
DEFAULT_FIELDS = [
    ReportField(key="participants_women", label="Deltagare under perioden, kvinnor"),
    ReportField(key="participants_men", label="Deltagare under perioden, män"),
    ReportField(
        key="participants_other",
        label="Deltagare under perioden, annan könstillhörighet eller ej angivet",
        required=False,
    ),
    ReportField(key="participants_new", label="Nya deltagare under perioden"),
    ReportField(
        key="ended_work_or_studies",
        label="Avslutade deltagare som gått till arbete eller studier",
    ),
    ReportField(
        key="sus_up_to_date",
        label="Deltagarna är registrerade i SUS",
        type="yes-no",
        help="SUS: det nationella uppföljningssystemet för samordningsförbund",
    ),
    ReportField(
        key="costs_tkr",
        label="Kostnader hittills i år (tkr)",
        type="tkr",
        help="ställs mot insatsens budget för året",
    ),
    ReportField(key="goal_fulfilment", label="Måluppfyllelse", type="text"),
    ReportField(key="deviations", label="Avvikelser och åtgärder", type="text", required=False),
]
