"""The shapes the reports' services hand the CLI: insatser and their report obligations.

They are plain dicts at runtime (`--json` prints them as they are); the types
name their keys.
"""

from typing import TypedDict


class ObligationView(TypedDict):
    """The CLI's JSON shape for a report an insats owes (`reports status`, `reports generate`)."""

    id: int | None
    insats: int
    insats_name: str | None
    kind: str
    name: str
    year: int
    period: str
    period_start: str
    period_end: str
    meeting: int | None
    due: str
    state: str
    submitted: str | None
    submitted_by: str | None
    file_name: str | None
    file_size: int | None
    file_sha256: str | None
    comment: str | None
    figures: dict[str, int | float | bool | str] | None  # see workflow/reports/figures.py
    late: bool
    days_late: int


class SubmittedObligation(ObligationView):
    """The CLI's JSON shape for `reports submit`: the obligation and where its file is kept."""

    stored_at: str


class MeetingReports(TypedDict):
    """The CLI's JSON shape for the reports a board meeting handles: received and missing."""

    received: list[ObligationView]
    missing: list[ObligationView]


class InsatsView(TypedDict):
    """The CLI's JSON shape for an insats (`insats list`, `insats add`)."""

    id: int | None
    name: str
    owner: str
    owner_name: str
    leader_name: str
    leader_email: str
    contact_name: str
    contact_email: str
    start: str
    end: str | None
    budget: dict[str, int]  # whole tkr by year (the year as text, as JSON keys are)
    status: str
    sus: bool
    source: str


class InsatsDetail(InsatsView):
    """The CLI's JSON shape for `insats show`: the insats and its obligations."""

    obligations: list[ObligationView]


class InsatsEnded(TypedDict):
    """The CLI's JSON shape for `insats end`: the obligations dropped, the final report owed."""

    insats: int | None
    end: str | None
    cancelled: list[ObligationView]
    final: ObligationView | None


class InsatsEdited(InsatsDetail):
    """The CLI's JSON shape for `insats edit`: the insats as `insats show` gives it, and
    what changed in words (each also an audit row), its reports' changes included."""

    changed: list[str]
