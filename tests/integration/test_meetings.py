"""Meetings stored, moved with their dependants, cancelled, exported as iCalendar."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import vobject
from helpers import CHAIR, CHEF, advance_to, dump

from workflow.core import audit
from workflow.core.exceptions import NotAllowed, NotFound, UsageError
from workflow.cycle import calendar as calendar_export
from workflow.cycle import meetings


def by_key(app: Any, year: int = 2027) -> dict[str, dict[str, Any]]:
    return {m["key"]: m for m in meetings.list_meetings(app, None, year)}


def test_dry_run_stores_nothing_and_generate_stores_once(app: Any) -> None:
    before = dump(app.url)
    proposed = meetings.generate(app, None, 2027, dry_run=True, actor_email=None)
    assert len(proposed) == 18 and dump(app.url) == before
    stored = meetings.generate(app, None, 2027, actor_email=CHEF)
    assert [m["key"] for m in stored] == [m["key"] for m in proposed]
    with pytest.raises(UsageError, match="generated already"):
        meetings.generate(app, None, 2027, actor_email=CHEF)


def test_move_carries_the_prep_meetings_and_keeps_local_time(app: Any) -> None:
    meetings.generate(app, None, 2027, actor_email=CHEF)
    m = by_key(app)
    board, presidium = m["styrelse-2027-03"], m["presidium-styrelse-2027-03"]
    assert (board["date"], board["time"], presidium["date"]) == (
        "2027-03-16",
        "14:00",
        "2027-03-01",
    )
    assert board["starts_at"].startswith("2027-03-16T13:00")  # CET
    result = meetings.move(app, board["id"], date(2027, 4, 13), actor_email=CHEF)
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
    meetings.generate(app, None, 2027, actor_email=CHEF)
    board = by_key(app)["styrelse-2027-05"]
    before = dump(app.url)
    with pytest.raises(UsageError) as exc:
        meetings.move(app, board["id"], date(2027, 5, 6), actor_email=CHEF)
    assert str(exc.value) == (
        "2027-05-06 is not a meeting day: Kristi himmelsfärdsdag\n"
        "choose another day (e.g. 2027-05-05) or give --force"
    )
    assert dump(app.url) == before
    assert meetings.move(app, board["id"], date(2027, 5, 6), force=True, actor_email=CHEF)["forced"]


def test_a_moved_prep_meeting_is_pinned(app: Any) -> None:
    meetings.generate(app, None, 2027, actor_email=CHEF)
    m = by_key(app)
    meetings.move(app, m["presidium-styrelse-2027-09"]["id"], date(2027, 9, 13), actor_email=CHEF)
    result = meetings.move(app, m["styrelse-2027-09"]["id"], date(2027, 9, 28), actor_email=CHEF)
    assert [p["body"] for p in result["moved"]] == ["beredningsgrupp"]
    assert by_key(app)["presidium-styrelse-2027-09"]["date"] == "2027-09-13"


def test_cancel_keeps_the_meeting_and_its_preps_follow(app: Any) -> None:
    meetings.generate(app, None, 2027, actor_email=CHEF)
    board = by_key(app)["styrelse-2027-02"]
    result = meetings.cancel(app, board["id"], actor_email=CHEF)
    assert result["meeting"]["status"] == "cancelled"
    assert len(result["cancelled"]) == 2
    with pytest.raises(UsageError, match="already cancelled"):
        meetings.cancel(app, board["id"], actor_email=CHEF)
    with pytest.raises(UsageError, match="is cancelled"):
        meetings.move(app, board["id"], date(2027, 2, 16), actor_email=CHEF)
    with pytest.raises(NotFound, match="unknown meeting 999"):
        meetings.cancel(app, 999, actor_email=CHEF)


def test_bad_time_and_unknown_body(app: Any) -> None:
    meetings.generate(app, None, 2027, actor_email=CHEF)
    board = by_key(app)["styrelse-2027-02"]
    with pytest.raises(UsageError, match="--time '25:00' is not a time of day"):
        meetings.move(app, board["id"], date(2027, 2, 16), "25:00", actor_email=CHEF)
    with pytest.raises(NotFound, match="unknown body 'kansliet'"):
        meetings.list_meetings(app, None, 2027, "kansliet")


def parse_ics(path: Path) -> Any:
    return vobject.readOne(path.read_text(encoding="utf-8"))


def test_ics_export_updates_in_place(app: Any, tmp_path: Path) -> None:
    meetings.generate(app, None, 2027, actor_email=CHEF)
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

    meetings.move(app, board["id"], date(2027, 11, 30), actor_email=CHEF)
    meetings.cancel(app, by_key(app)["styrelse-2027-02"]["id"], actor_email=CHEF)
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
    meetings.generate(app, None, 2027, actor_email=CHEF)
    path = tmp_path / "bg.ics"
    calendar_export.export(app, None, 2027, path, "beredningsgrupp")
    summaries = sorted(e.summary.value for e in parse_ics(path).vevent_list)
    assert len(summaries) == 6  # five prep meetings and the joint October half day
    assert any(s.startswith("Styrelsen: Påbörja nästa års") for s in summaries)


# ---------------------------------------------------------------- actors and the audit trail


def rows_of(app: Any, subject: str) -> list[dict[str, Any]]:
    """The audit rows of one subject (filtered here: the trail's own filter is not needed)."""
    return [dict(r) for r in audit.log(app) if r["subject"] == subject]


def test_every_calendar_change_names_its_actor_and_role_in_the_trail(app: Any, clock: Any) -> None:
    stored = meetings.generate(app, None, 2027, actor_email=CHEF)
    [cycle_row] = rows_of(app, "cycle:2027")
    assert (cycle_row["actor"], cycle_row["role"], cycle_row["action"]) == (
        CHEF,
        "förbundschef",
        "generate",
    )
    assert cycle_row["comment"] == "18 meetings of 2027 generated from the cycle rules"
    # one row per meeting created, so each meeting's life starts in the trail
    assert all(len(rows_of(app, f"meeting:{m['id']}")) == 1 for m in stored)
    board = by_key(app)["styrelse-2027-09"]
    advance_to(clock, "2026-10-02T09:00")
    moved = meetings.move(app, board["id"], date(2027, 9, 28), actor_email=CHEF)
    advance_to(clock, "2026-10-03T09:00")
    meetings.cancel(app, board["id"], actor_email=CHEF, reason="Inget beslutsunderlag")
    life = rows_of(app, f"meeting:{board['id']}")
    assert [(r["action"], r["from"], r["to"]) for r in life] == [
        ("generate", None, "planned"),
        ("move", "planned", "planned"),
        ("cancel", "planned", "cancelled"),
    ]
    assert life[1]["comment"] == "moved from 2027-09-21 14:00 to 2027-09-28 14:00"
    assert life[2]["comment"] == (
        "cancelled the meeting of 2027-09-28 14:00: Inget beslutsunderlag"
    )
    assert {(r["actor"], r["actor_name"], r["role"]) for r in life} == {
        (CHEF, "Annika Rasmusson", "förbundschef")
    }
    assert (life[2]["body"], life[2]["meeting"]) == ("styrelse", "2027-09-28")
    # the prep meetings that followed have their own rows, saying whom they followed
    for prep in moved["moved"]:
        actions = [(r["action"], r["comment"]) for r in rows_of(app, f"meeting:{prep['id']}")]
        assert actions[1][0] == "move" and actions[1][1].endswith(f"follows meeting {board['id']}")
        assert actions[2] == (
            "cancel",
            f"cancelled the meeting of {prep['date']} {prep['time']}: "
            f"follows meeting {board['id']}",
        )
    assert audit.verify_database(app).ok


def test_calendar_changes_need_a_person_who_may_make_them(app: Any) -> None:
    before = dump(app.url)
    with pytest.raises(UsageError) as exc:
        meetings.generate(app, None, 2027, actor_email=None)
    assert "--as EMAIL or set FINSAM_USER" in str(exc.value)
    with pytest.raises(NotAllowed, match=r"only the förbundschef may generate the year's meetings"):
        meetings.generate(app, None, 2027, actor_email=CHAIR)
    with pytest.raises(NotFound, match=r"no person with e-mail 'x@y\.example'"):
        meetings.generate(app, None, 2027, actor_email="x@y.example")
    assert dump(app.url) == before
    meetings.generate(app, None, 2027, actor_email=CHEF)
    board = by_key(app)["styrelse-2027-05"]
    before = dump(app.url)
    refused = [
        lambda who: meetings.move(app, board["id"], date(2027, 5, 18), actor_email=who),
        lambda who: meetings.cancel(app, board["id"], actor_email=who),
        lambda who: meetings.add(app, None, body="styrelse", day=date(2027, 6, 1), actor_email=who),
    ]
    for change in refused:
        with pytest.raises(UsageError, match="who is acting"):
            change(None)
        with pytest.raises(NotAllowed, match=r"only the förbundschef may add, move and cancel"):
            change(CHAIR)
    assert dump(app.url) == before


def test_a_move_to_another_year_needs_force_and_a_reason(app: Any) -> None:
    meetings.generate(app, None, 2027, actor_email=CHEF)
    board = by_key(app)["styrelse-2027-11"]
    before = dump(app.url)
    for force, reason in ((False, None), (True, None), (False, "Sammanfaller med valet")):
        with pytest.raises(UsageError) as exc:
            meetings.move(
                app, board["id"], date(2031, 11, 24), actor_email=CHEF, force=force, reason=reason
            )
        assert str(exc.value) == (
            f"meeting {board['id']} is on 2027-11-23 (2027); 2031-11-24 is in another year "
            "(2031)\nmoving a meeting to another year needs both --force and --reason TEXT "
            "(why it moves); or choose a day in 2027"
        )
    with pytest.raises(UsageError, match="--reason contains a control character"):
        meetings.move(
            app, board["id"], date(2028, 1, 11), actor_email=CHEF, force=True, reason="a\r\nb"
        )
    with pytest.raises(UsageError, match="--to 0001-01-01 is out of range"):
        meetings.move(app, board["id"], date(1, 1, 1), actor_email=CHEF, force=True, reason="x")
    assert dump(app.url) == before
    moved = meetings.move(
        app,
        board["id"],
        date(2028, 1, 11),
        actor_email=CHEF,
        force=True,
        reason="Budgeten dröjer",
    )
    assert moved["meeting"]["date"] == "2028-01-11"
    last = rows_of(app, f"meeting:{board['id']}")[-1]
    assert last["comment"] == (
        "moved from 2027-11-23 14:00 to 2028-01-11 14:00; reason: Budgeten dröjer"
    )
    # within the year a reason is optional and kept when given
    may = by_key(app)["styrelse-2027-05"]
    meetings.move(app, may["id"], date(2027, 5, 25), actor_email=CHEF, reason="Lokalen upptagen")
    assert rows_of(app, f"meeting:{may['id']}")[-1]["comment"].endswith(
        "; reason: Lokalen upptagen"
    )


# ---------------------------------------------------------------- ad hoc meetings


def test_an_ad_hoc_meeting_is_added_audited_and_called(app: Any, clock: Any) -> None:
    from sqlalchemy import select

    from workflow.core.models import OutboxMessage
    from workflow.core.uow import read
    from workflow.mail import compose

    meetings.generate(app, None, 2027, actor_email=CHEF)
    before = dump(app.url)
    bad = [
        ({"body": "kansli"}, NotFound, "unknown body 'kansli'"),
        ({"day": date(2027, 9, 21)}, UsageError, "Styrelsen meets on 2027-09-21 already"),
        ({"day": date(2027, 6, 25)}, UsageError, "is not a meeting day: Midsommarafton"),
        ({"place": "Ystad\r\nBcc: x@y"}, UsageError, "--place contains a control character"),
        ({"title": "x" * 301}, UsageError, "--title is 301 characters long; at most 300"),
        ({"at_time": "25:00"}, UsageError, "--time '25:00' is not a time of day"),
        ({"day": date(3000, 1, 1)}, UsageError, "--date 3000-01-01 is out of range"),
    ]
    for change, error, message in bad:
        args: dict[str, Any] = {"body": "styrelse", "day": date(2027, 6, 15), **change}
        with pytest.raises(error, match=message):
            meetings.add(app, None, actor_email=CHEF, **args)
    assert dump(app.url) == before
    extra = meetings.add(
        app,
        None,
        body="styrelse",
        day=date(2027, 6, 15),
        place="ystad",
        title="Extra sammanträde om lokalfrågan",
        actor_email=CHEF,
    )
    assert (extra["kind"], extra["time"], extra["end"], extra["location"], extra["note"]) == (
        "extra",
        "14:00",  # the board's usual time and length, from its rules
        "16:00",
        "Ystads kommun",
        "extra sammanträde",
    )
    [row] = rows_of(app, f"meeting:{extra['id']}")
    assert (row["action"], row["actor"], row["role"], row["to"]) == (
        "add",
        CHEF,
        "förbundschef",
        "planned",
    )
    assert row["comment"] == "ad hoc meeting of Styrelsen added for 2027-06-15 14:00"
    assert extra["id"] in {m["id"] for m in meetings.list_meetings(app, None, 2027, "styrelse")}
    # the notify sweep finds it by its time like any other meeting: a kallelse a week before
    advance_to(clock, "2027-06-08T14:05")
    compose.sweep(app)
    with read(app) as uow:
        refs = list(
            uow.session.scalars(
                select(OutboxMessage.key).where(OutboxMessage.ref == f"meeting:{extra['id']}")
            )
        )
    assert refs == [f"notice:{extra['id']}:0"]
    # a cancelled ad hoc meeting frees its day for another
    meetings.cancel(app, extra["id"], actor_email=CHEF)
    again = meetings.add(app, None, body="styrelse", day=date(2027, 6, 15), actor_email=CHEF)
    assert again["key"] == "styrelse-2027-06-15-extra-2"


def test_ad_hoc_meetings_do_not_count_as_the_generated_cycle(app: Any) -> None:
    meetings.add(app, None, body="presidium", day=date(2027, 1, 12), actor_email=CHEF)
    stored = meetings.generate(app, None, 2027, actor_email=CHEF)
    assert len(stored) == 18 and len(meetings.list_meetings(app, None, 2027)) == 19
