"""The yearly cycle (årshjul) as rules in the förbund file.

Board meetings are named by month, the n-th weekday of that month and a time;
prep meetings by body as a weekday some weeks before the board meeting they
prepare; joint meetings by the bodies that sit with the board; other meetings
(medlemssamråd) like board meetings. The rules are data so a förbund changes
its file, not the code, when its rhythm changes.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from workflow.core.text import LIMITS, Key, Place, line_problem

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday"]
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_title_line(value: str) -> str:
    problem = line_problem(value, LIMITS["title"])
    if problem is not None:
        raise ValueError(problem)
    return value


# a theme may be empty (no theme), unlike a Title; otherwise it is one line like a title
Theme = Annotated[str, Field(max_length=LIMITS["title"]), AfterValidator(_one_title_line)]
Clock = Annotated[str, Field(max_length=5)]  # HH:MM; checked by _hhmm for a kind message


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

    month: int = Field(ge=1, le=12, description="the month of the meeting, 1-12")
    week: int = Field(ge=-1, le=5, description="1-5 for the n-th weekday, -1 for the last")
    weekday: Weekday = Field(description="the weekday of the meeting")
    time: Clock = Field(default="14:00", description="when it begins, HH:MM local time")
    duration_minutes: int = Field(
        default=120, ge=15, le=600, description="how long it lasts, in minutes"
    )
    theme: Theme = Field(default="", description="the meeting's theme, shown in the calendar")
    place: Place | None = Field(
        default=None,
        description="a member key or a free text place; default: the next of [cycle] places",
    )

    _time = field_validator("time")(classmethod(lambda cls, v: _hhmm(v)))

    @field_validator("week")
    @classmethod
    def _not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("week counts from 1 (the first) or is -1 (the last)")
        return v


class BoardMeeting(MonthRule):
    joint_with: list[Key] = Field(
        default_factory=list, description="keys of the bodies sitting with the board"
    )
    prep: list[Key] | None = Field(
        default=None,
        description="keys of the bodies that prepare it; default: every [[cycle.prep]] body "
        "not sitting with the board",
    )
    prep_weeks_before: int | None = Field(
        default=None,
        ge=0,
        le=6,
        description="weeks before it that its prep meetings are held; "
        "default: each [[cycle.prep]] rule's weeks_before",
    )


class PrepRule(_Strict):
    """A body that meets before each board meeting to prepare it."""

    body: Key = Field(description="the key of the preparing body")
    weekday: Weekday = Field(default="monday", description="the weekday it meets")
    weeks_before: int = Field(
        default=2,
        ge=0,
        le=6,
        description="weeks before the board meeting (0: the same week as the board meeting)",
    )
    time: Clock = Field(default="09:00", description="when it begins, HH:MM local time")
    duration_minutes: int = Field(
        default=120, ge=15, le=600, description="how long it lasts, in minutes"
    )

    _time = field_validator("time")(classmethod(lambda cls, v: _hhmm(v)))


class OtherMeeting(MonthRule):
    """A meeting of another body (e.g. the medlemssamråd), named like a board meeting."""

    body: Key = Field(description="the key of the body that meets")


class CycleRules(_Strict):
    """The yearly cycle (årshjul): the rules `finsam cycle generate` makes meetings from."""

    board: list[BoardMeeting] = Field(
        min_length=1, max_length=60, description="the board's meetings of the year"
    )
    prep: list[PrepRule] = Field(
        default_factory=list, max_length=20, description="the bodies that prepare board meetings"
    )
    other: list[OtherMeeting] = Field(
        default_factory=list, max_length=120, description="other bodies' meetings of the year"
    )
    places: list[Place] = Field(
        default_factory=list,
        max_length=60,
        description="rotation of places for board meetings: member keys or free text",
    )
    prep_days: int = Field(
        default=5,
        ge=0,
        le=60,
        description="days a body needs between receiving a plan and its meeting",
    )
    paragraphs: Literal["per_meeting", "per_year"] = Field(
        default="per_year",
        description="how the minutes' § are numbered: from 1 at each meeting, or through the year",
    )
