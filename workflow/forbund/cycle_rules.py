"""The yearly cycle (årshjul) as rules in the förbund file.

Board meetings are named by month, the n-th weekday of that month and a time;
prep meetings by body as a weekday some weeks before the board meeting they
prepare; joint meetings by the bodies that sit with the board; other meetings
(medlemssamråd) like board meetings. The rules are data so a förbund changes
its file, not the code, when its rhythm changes.
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _hhmm(value: str) -> str:
    try:
        time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. 14:00") from None
    if len(value) != 5:
        raise ValueError(f"{value!r}: write the time as HH:MM, e.g. 09:00")
    return value


class MonthRule(_Strict):
    """A meeting on the n-th (or last: -1) given weekday of a month."""

    month: int = Field(ge=1, le=12)
    week: int = Field(ge=-1, le=5, description="1-5 for the n-th weekday, -1 for the last")
    weekday: Weekday
    time: str = "14:00"
    duration_minutes: int = Field(default=120, ge=15, le=600)
    theme: str = ""
    place: str | None = Field(default=None, description="a member key or a free text place")

    _time = field_validator("time")(classmethod(lambda cls, v: _hhmm(v)))

    @field_validator("week")
    @classmethod
    def _not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("week counts from 1 (the first) or is -1 (the last)")
        return v


class BoardMeeting(MonthRule):
    joint_with: list[str] = Field(default_factory=list, description="bodies sitting with the board")
    prep: list[str] | None = Field(
        default=None,
        description="bodies that prepare it; default: every [[cycle.prep]] body "
        "not sitting with the board",
    )
    prep_weeks_before: int | None = Field(default=None, ge=0, le=6)


class PrepRule(_Strict):
    body: str
    weekday: Weekday = "monday"
    weeks_before: int = Field(
        default=2, ge=0, le=6, description="0: the same week as the board meeting"
    )
    time: str = "09:00"
    duration_minutes: int = Field(default=120, ge=15, le=600)

    _time = field_validator("time")(classmethod(lambda cls, v: _hhmm(v)))


class OtherMeeting(MonthRule):
    body: str


class CycleRules(_Strict):
    board: list[BoardMeeting] = Field(min_length=1)
    prep: list[PrepRule] = Field(default_factory=list)
    other: list[OtherMeeting] = Field(default_factory=list)
    places: list[str] = Field(
        default_factory=list,
        description="rotation of places for board meetings: member keys or free text",
    )
    prep_days: int = Field(
        default=5,
        ge=0,
        le=60,
        description="days a body needs between receiving a plan and its meeting",
    )
    paragraphs: Literal["per_meeting", "per_year"] = "per_year"
