"""Meetings stored, moved with their dependants, cancelled, exported as iCalendar."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import vobject
from helpers import dump

from workflow.core.exceptions import NotFound, UsageError
from workflow.cycle import calendar as calendar_export
from workflow.cycle import meetings


def by_key(app: Any, year: int = 2027) -> dict[str, dict[str, Any]]:
    return {m["key"]: m for m in meetings.list_meetings(app, None, year)}


def test_dry_run_stores_nothing_and_generate_stores_once(app: Any) -> None:
    before = dump(app.url)
    proposed = meetings.generate(app, None, 2027, dry_run=True)
    assert len(proposed) == 18 and dump(app.url) == before
    stored = meetings.generate(app, None, 2027)
    assert [m["key"] for m in stored] == [m["key"] for m in proposed]
    with pytest.raises(UsageError, match="generated already"):
        meetings.generate(app, None, 2027)


def test_move_carries_the_prep_meetings_and_keeps_local_time(app: Any) -> None:
    meetings.generate(app, None, 2027)
    m = by_key(app)
    board, presidium = m["styrelse-2027-03"], m["presidium-styrelse-2027-03"]
    assert (board["date"], board["time"], presidium["date"]) == (
        "2027-03-16",
        "14:00",
        "2027-03-01",
    )
    assert board["starts_at"].startswith("2027-03-16T13:00")  # CET
    result = meetings.move(app, board["id"], date(2027, 4, 13))
    moved = result["meeting"]
    # after the DST change the meeting is still at 14:00, now 12:00 UTC
    assert (moved["date"], moved["time"], moved["sequence"]) == ("2027-04-13", "14:00", 1)
    assert moved["starts_at"].startswith("2027-04-13T12:00")
    # two weeks before is Easter Monday (29 March); the weekend and Good Friday lie
    # before it, so the nearest free day is the Tuesday
    assert sorted(p["date"] for p in result["moved"]) == ["2027-03-30", "2027-03-30"]
    m = by_key(app)
    assert m["presidium-styrelse-2027-03"]["sequence"] == 1


def test_moving_onto_a_holiday_is_refused_unless_forced(app: Any) -> None:
    meetings.generate(app, None, 2027)
    board = by_key(app)["styrelse-2027-05"]
    before = dump(app.url)
    with pytest.raises(UsageError) as exc:
        meetings.move(app, board["id"], date(2027, 5, 6))
    assert str(exc.value) == (
        "2027-05-06 is not a meeting day: Kristi himmelsfärdsdag\n"
        "choose another day (e.g. 2027-05-05) or give --force"
    )
    assert dump(app.url) == before
    assert meetings.move(app, board["id"], date(2027, 5, 6), force=True)["forced"]


def test_a_moved_prep_meeting_is_pinned(app: Any) -> None:
    meetings.generate(app, None, 2027)
    m = by_key(app)
    meetings.move(app, m["presidium-styrelse-2027-09"]["id"], date(2027, 9, 13))
    result = meetings.move(app, m["styrelse-2027-09"]["id"], date(2027, 9, 28))
    assert [p["body"] for p in result["moved"]] == ["beredningsgrupp"]
    assert by_key(app)["presidium-styrelse-2027-09"]["date"] == "2027-09-13"


def test_cancel_keeps_the_meeting_and_its_preps_follow(app: Any) -> None:
    meetings.generate(app, None, 2027)
    board = by_key(app)["styrelse-2027-02"]
    result = meetings.cancel(app, board["id"])
    assert result["meeting"]["status"] == "cancelled"
    assert len(result["cancelled"]) == 2
    with pytest.raises(UsageError, match="already cancelled"):
        meetings.cancel(app, board["id"])
    with pytest.raises(UsageError, match="is cancelled"):
        meetings.move(app, board["id"], date(2027, 2, 16))
    with pytest.raises(NotFound, match="unknown meeting 999"):
        meetings.cancel(app, 999)


def test_bad_time_and_unknown_body(app: Any) -> None:
    meetings.generate(app, None, 2027)
    board = by_key(app)["styrelse-2027-02"]
    with pytest.raises(UsageError, match="--time '25:00' is not a time of day"):
        meetings.move(app, board["id"], date(2027, 2, 16), "25:00")
    with pytest.raises(NotFound, match="unknown body 'kansliet'"):
        meetings.list_meetings(app, None, 2027, "kansliet")


def parse_ics(path: Path) -> Any:
    return vobject.readOne(path.read_text(encoding="utf-8"))


def test_ics_export_updates_in_place(app: Any, tmp_path: Path) -> None:
    meetings.generate(app, None, 2027)
    first = tmp_path / "a.ics"
    calendar_export.export(app, None, 2027, first)
    text = first.read_text(encoding="utf-8")
    assert "RDATE" not in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in text
    assert "METHOD:PUBLISH" in text
    cal = parse_ics(first)
    events = {e.uid.value: e for e in cal.vevent_list}
    assert len(events) == 18
    board = by_key(app)["styrelse-2027-11"]
    event = events[board["uid"]]
    assert event.dtstart.value == datetime(2027, 11, 23, 14, 0, tzinfo=event.dtstart.value.tzinfo)
    assert event.dtstart.value.utcoffset().total_seconds() == 3600
    assert event.location.value == "Sjöbo kommun"
    assert "1. Mötets öppnande" in event.description.value
    assert int(event.sequence.value) == 0

    meetings.move(app, board["id"], date(2027, 11, 30))
    meetings.cancel(app, by_key(app)["styrelse-2027-02"]["id"])
    second = tmp_path / "b.ics"
    summary = calendar_export.export(app, None, 2027, second)
    assert summary["cancelled"] == 3
    again = {e.uid.value: e for e in parse_ics(second).vevent_list}
    assert set(again) == set(events)  # same UIDs: calendars update, never duplicate
    assert int(again[board["uid"]].sequence.value) == 1
    assert again[board["uid"]].dtstart.value.day == 30
    cancelled = again[by_key(app)["styrelse-2027-02"]["uid"]]
    assert cancelled.status.value == "CANCELLED" and int(cancelled.sequence.value) == 1


def test_export_of_one_body_includes_its_joint_meetings(app: Any, tmp_path: Path) -> None:
    meetings.generate(app, None, 2027)
    path = tmp_path / "bg.ics"
    calendar_export.export(app, None, 2027, path, "beredningsgrupp")
    summaries = sorted(e.summary.value for e in parse_ics(path).vevent_list)
    assert len(summaries) == 6  # five prep meetings and the joint October half day
    assert any(s.startswith("Styrelsen: Påbörja nästa års") for s in summaries)
