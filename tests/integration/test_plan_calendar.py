"""The plan workflow meets the calendar: agenda placement, §, kallelse, minutes, laga kraft."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import CHAIR, CHEF, advance_to, dump, store_plan_file

from notifications.render import render
from workflow.core import audit
from workflow.core.exceptions import NotAllowed, NotFound, UsageError
from workflow.cycle import meetings, protokoll
from workflow.cycle import papers as meeting_docs
from workflow.plans import services as plans

VICE = "lars.berg@skane.example"
MEMBER = "eva.lind@simrishamn.example"


def meeting(app: Any, key: str, year: int = 2026) -> dict[str, Any]:
    return next(m for m in meetings.list_meetings(app, None, year) if m["key"] == key)


def met_early(app: Any, day: date = date(2026, 10, 20)) -> None:
    """Presidium and beredningsgrupp met at short notice that morning (ad hoc meetings)."""
    for body in ("presidium", "beredningsgrupp"):
        meetings.add(app, None, body=body, day=day, at_time="08:00", actor_email=CHEF)


@pytest.fixture
def cycle(app: Any, clock: Any) -> Any:
    meetings.generate(app, None, 2026, actor_email=CHEF)  # on 1 October 2026
    advance_to(clock, "2026-10-20T09:00")
    pid = store_plan_file(app)
    return pid


def test_a_plan_walks_the_meetings_and_the_decision_gets_its_paragraph(
    app: Any, clock: Any, cycle: int
) -> None:
    pid = cycle
    moved = plans.move(app, pid, "submit", actor_email=CHEF)
    presidium = meeting(app, "presidium-styrelse-2026-11")
    assert moved["placed_on"]["meeting"] == presidium["id"]
    agenda = meeting_docs.agenda(app, presidium["id"])["items"]
    assert [i["title"] for i in agenda if i["kind"] == "plan"] == [
        "Verksamhetsplan och budget 2028 (plan 1, revision 1)"
    ]
    # before the meeting has begun, a recommendation needs its date
    with pytest.raises(NotAllowed, match="the date of the meeting is required"):
        plans.move(app, pid, "recommend-adopt", actor_email=CHAIR)
    advance_to(clock, "2026-11-09T11:30")
    first = plans.move(app, pid, "recommend-adopt", actor_email=CHAIR, comment="Bifall")
    assert first["meeting"] == presidium["id"]
    # the beredningsgrupp meets the same afternoon: the plan goes on that meeting
    beredning = meeting(app, "beredningsgrupp-styrelse-2026-11")
    assert first["placed_on"]["meeting"] == beredning["id"]
    advance_to(clock, "2026-11-09T15:30")
    second = plans.move(app, pid, "recommend-adopt", actor_email=CHEF)
    board = meeting(app, "styrelse-2026-11")
    assert second["placed_on"]["meeting"] == board["id"]
    advance_to(clock, "2026-11-24T16:00")
    decision = plans.move(app, pid, "adopt", actor_email=CHEF)
    assert decision["meeting"] == board["id"]
    # per-year numbering: five earlier board meetings of nine items (their themes among
    # them), then item 5 here: the plan's item, with no item of its own for the theme
    assert decision["paragraph"] == "50"
    last = plans.history(app, pid)[-1]
    assert (last["meeting"], last["paragraph"]) == ("2026-11-24", "50")
    assert plans.show(app, pid)["adoption"]["state"] == "not_approved"


def _before_the_board(app: Any, pid: int) -> Any:
    """The plan through the presidium and the beredningsgrupp to the board's November
    meeting; that meeting."""
    plans.move(app, pid, "submit", actor_email=CHEF)
    met_early(app)
    plans.move(app, pid, "recommend-adopt", actor_email=CHAIR, meeting=date(2026, 10, 20))
    plans.move(app, pid, "recommend-adopt", actor_email=CHEF, meeting=date(2026, 10, 20))
    return meeting(app, "styrelse-2026-11")


def test_minutes_justering_and_laga_kraft(app: Any, clock: Any, cycle: int) -> None:
    pid = cycle
    board = _before_the_board(app, pid)
    with pytest.raises(UsageError, match="has not taken place yet"):
        protokoll.record_minutes(app, board["id"], [CHEF], [VICE], actor_email=CHEF)
    advance_to(clock, "2026-11-24T16:00")
    plans.move(app, pid, "adopt", actor_email=CHEF)
    before = dump(app.url)
    with pytest.raises(NotFound, match=r"nobody@x\.example is not called to meeting"):
        protokoll.record_minutes(app, board["id"], ["nobody@x.example"], [], actor_email=CHEF)
    with pytest.raises(UsageError, match="a justerare must be among those present"):
        protokoll.record_minutes(app, board["id"], [CHEF], [VICE], actor_email=CHEF)
    assert dump(app.url) == before
    recorded = protokoll.record_minutes(
        app, board["id"], [CHEF, CHAIR, VICE, MEMBER], [VICE, MEMBER], actor_email=CHEF
    )
    decided = [i for i in recorded["items"] if i.get("decision")]
    assert [(i["paragraph"], i["decision"]["outcome"]) for i in decided] == [("50", "adopt")]
    text = render("minutes.md.j2", recorded)
    assert "## § 50 Verksamhetsplan och budget 2028" in text
    assert "Styrelsen beslutar att anta planen (revision 1)." in text
    with pytest.raises(NotAllowed, match="is not a justerare"):
        protokoll.justera(app, board["id"], CHAIR)
    advance_to(clock, "2026-11-26T10:00")
    half = protokoll.justera(app, board["id"], VICE)
    assert not half["approved"]
    with pytest.raises(UsageError, match="has approved these minutes already"):
        protokoll.justera(app, board["id"], VICE)
    advance_to(clock, "2026-11-27T09:00")  # a Friday: two days later is a Sunday
    done = protokoll.justera(app, board["id"], MEMBER)
    assert (done["approved"], done["posted_on"], done["appeal_ends"]) == (
        True,
        date(2026, 11, 27),
        date(2026, 12, 18),
    )
    # the minutes and each justerare's approval are rows of the meeting in the trail
    rows = [r for r in audit.log(app) if r["subject"] == f"meeting:{board['id']}"]
    assert [(r["action"], r["actor"], r["role"], r["to"]) for r in rows[-3:]] == [
        ("minutes", CHEF, "förbundschef", "minutes recorded"),
        ("justera", VICE, "justerare", "minutes approved in part"),
        ("justera", MEMBER, "justerare", "minutes approved"),
    ]
    assert rows[-2]["comment"] == (
        "approved the minutes, revision 1 (1 of 2 justerare; on the command line)"
    )
    frozen = protokoll.minutes(app, board["id"])["content_sha256"]
    assert frozen and rows[-1]["content_sha256"] == frozen
    assert rows[-1]["comment"] == (
        "approved the minutes, revision 1 (2 of 2 justerare; on the command line); the "
        f"minutes stand and are frozen (content sha256 {frozen}): notice up on "
        "2026-11-27, the appeal time runs until 2026-12-18"
    )
    assert rows[-3]["comment"] == (
        f"recorded the minutes (revision 1): present {', '.join([CHAIR, VICE, MEMBER, CHEF])}; "
        f"justerare {VICE}, {MEMBER}"
    )
    standing = plans.show(app, pid)["adoption"]
    assert standing["stands_on"] == "2026-12-19"
    assert standing["note"] == "vinner laga kraft 2026-12-19 om beslutet inte överklagas"
    with pytest.raises(NotAllowed, match="are justerade"):
        protokoll.record_minutes(app, board["id"], [CHEF, VICE], [VICE], actor_email=CHEF)


def test_no_decision_is_recorded_at_a_meeting_whose_protokoll_is_justerat(
    app: Any, clock: Any, cycle: int
) -> None:
    """A justerat protokoll says what was decided at its meeting: a decision recorded
    there afterwards would be in the trail and in no protokoll."""
    pid = cycle
    board = _before_the_board(app, pid)
    advance_to(clock, "2026-11-24T16:00")
    protokoll.record_minutes(app, board["id"], [CHEF, VICE, MEMBER], [VICE], actor_email=CHEF)
    protokoll.justera(app, board["id"], VICE)
    before = dump(app.url)
    with pytest.raises(UsageError, match="is justerat: nothing more can be recorded"):
        plans.move(app, pid, "adopt", actor_email=CHEF)
    assert dump(app.url) == before


def test_notice_lists_who_is_called_and_the_papers(app: Any, cycle: int) -> None:
    plans.move(app, cycle, "submit", actor_email=CHEF)
    presidium = meeting(app, "presidium-styrelse-2026-11")
    context = meeting_docs.notice(app, presidium["id"])
    assert [p["name"] for p in context["called"]] == ["Karin Holm", "Lars Berg", "Annika Rasmusson"]
    md = render("notice.md.j2", context)
    assert md.startswith("# Kallelse till presidiets sammanträde\n")
    assert "- **Tid:** 9 november 2026, klockan 10:00–11:30" in md
    assert "- Verksamhetsplan och budget 2028 (plan 1, revision 1) (plan 1) bifogas." in md
    html = render("notice.html.j2", context)
    assert "<h1>Kallelse till presidiets sammanträde</h1>" in html
    board = meeting(app, "styrelse-2026-10")  # the joint October half day
    called = meeting_docs.notice(app, board["id"])["called"]
    assert any(p["body"] == "Beredningsgruppen" for p in called)


def test_moving_a_board_meeting_keeps_the_plan_on_it(app: Any, cycle: int) -> None:
    pid = cycle
    plans.move(app, pid, "submit", actor_email=CHEF)
    met_early(app)
    plans.move(app, pid, "recommend-adopt", actor_email=CHAIR, meeting=date(2026, 10, 20))
    moved = plans.move(app, pid, "recommend-adopt", actor_email=CHEF, meeting=date(2026, 10, 20))
    board_id = moved["placed_on"]["meeting"]
    meetings.move(app, board_id, date(2026, 12, 1), actor_email=CHEF)
    items = meeting_docs.agenda(app, board_id)["items"]
    assert any(i.get("plan") == pid for i in items)


def test_wheel_svg_renders_to_a_picture(app: Any, cycle: int, tmp_path: Path) -> None:
    import resvg_py

    from workflow.cycle import wheel as wheel_export

    path = tmp_path / "arshjul.svg"
    result = wheel_export.write(app, None, 2026, path)
    assert result["bodies"] == ["styrelse", "presidium", "beredningsgrupp", "medlemssamrad"]
    svg = path.read_text(encoding="utf-8")
    assert "Årshjul 2026 – Samordningsförbundet Sydöstra Skåne" in svg
    assert "24 nov: Beslut om nästa års" in svg
    png = bytes(resvg_py.svg_to_bytes(svg_string=svg))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1300, 1060)
    # not empty: the drawing has more than a white page's worth of colours

    raw = _png_pixels(png)
    assert len(set(raw)) > 20
    with pytest.raises(UsageError, match=r"give a path ending in \.svg"):
        wheel_export.write(app, None, 2026, tmp_path / "arshjul.png")


def _png_pixels(png: bytes) -> bytes:
    """The decompressed image data (enough to count the colours in it)."""
    import struct
    import zlib

    pos, data = 8, b""
    while pos < len(png):
        length = struct.unpack(">I", png[pos : pos + 4])[0]
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            data += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(data)
    return raw[::97]


def test_cancelling_a_meeting_puts_its_plans_on_the_next_one(app: Any, cycle: int) -> None:
    pid = cycle
    presidium = plans.move(app, pid, "submit", actor_email=CHEF)["placed_on"]["meeting"]
    board = meeting(app, "styrelse-2026-11")
    moved = meetings.move(app, board["id"], date(2026, 11, 25), actor_email=CHEF)
    assert moved["plans"] == [{"plan": pid, "meeting": presidium}]  # its prep meeting moved
    result = meetings.cancel(app, board["id"], actor_email=CHEF)
    # the presidium meeting preparing it is cancelled with it; the plan waited there
    assert [c["id"] for c in result["cancelled"]][:1] == [presidium]
    assert result["plans"] == [{"plan": pid, "from": presidium, "to": None}]
    assert not any(i.get("plan") == pid for i in meeting_docs.agenda(app, presidium)["items"])


def test_minutes_are_recorded_by_whom_the_forbund_file_allows(
    app: Any, clock: Any, cycle: int
) -> None:
    board = meeting(app, "styrelse-2026-11")
    advance_to(clock, "2026-11-24T16:00")
    before = dump(app.url)
    with pytest.raises(UsageError, match="who is acting"):
        protokoll.record_minutes(app, board["id"], [CHEF, VICE], [VICE], actor_email=None)
    with pytest.raises(NotAllowed, match="only the förbundschef may record minutes"):
        protokoll.record_minutes(app, board["id"], [CHEF, VICE], [VICE], actor_email=CHAIR)
    with pytest.raises(UsageError, match="--present contains a control character"):
        protokoll.record_minutes(app, board["id"], [CHEF + "\x1b[2J"], [VICE], actor_email=CHEF)
    with pytest.raises(UsageError, match="who approves"):
        protokoll.justera(app, board["id"], None)
    assert dump(app.url) == before


def test_a_body_acts_at_a_meeting_the_calendar_holds(app: Any, clock: Any, cycle: int) -> None:
    pid = cycle
    plans.move(app, pid, "submit", actor_email=CHEF)
    presidium = meeting(app, "presidium-styrelse-2026-11")
    before = dump(app.url)
    # a Sunday when nobody met: refused, naming the body's meetings around it
    with pytest.raises(UsageError) as exc:
        plans.move(app, pid, "recommend-adopt", actor_email=CHAIR, meeting=date(2026, 10, 18))
    message, hint = str(exc.value).split("\n")
    assert message == (
        "Presidiet has no meeting on 2026-10-18 in the calendar; its meetings around that "
        f"day: 2026-04-27 10:00 (meeting {meeting(app, 'presidium-styrelse-2026-05')['id']}), "
        f"2026-08-31 10:00 (meeting {meeting(app, 'presidium-styrelse-2026-09')['id']}), "
        f"2026-11-09 10:00 (meeting {presidium['id']})"
    )
    assert hint.endswith(
        "add the meeting first: finsam meeting add --body presidium --date 2026-10-18 --as EMAIL"
    )
    # the meeting is in the calendar but has not begun: refused, the same day too
    with pytest.raises(UsageError, match="has not begun yet"):
        plans.move(app, pid, "recommend-adopt", actor_email=CHAIR, meeting=date(2026, 11, 9))
    advance_to(clock, "2026-11-09T09:59")
    with pytest.raises(UsageError) as exc:
        plans.move(app, pid, "recommend-adopt", actor_email=CHAIR, meeting=date(2026, 11, 9))
    assert str(exc.value).startswith(
        f"the meeting of Presidiet on 2026-11-09 (meeting {presidium['id']}) begins at 10:00; "
        "it has not begun yet"
    )
    # once it has begun, the recommendation names it
    advance_to(clock, "2026-11-09T10:30")
    assert dump(app.url) == before
    done = plans.move(app, pid, "recommend-adopt", actor_email=CHAIR, meeting=date(2026, 11, 9))
    assert done["meeting"] == presidium["id"]
    # a year whose calendar finsam does not keep: the date stands alone, as before
    free = plans.move(app, pid, "recommend-adopt", actor_email=CHEF, meeting=date(2025, 11, 10))
    assert free["meeting"] is None and plans.history(app, pid)[-1]["meeting"] == "2025-11-10"


def test_a_cancelled_meeting_was_not_held(app: Any, clock: Any, cycle: int) -> None:
    pid = cycle
    plans.move(app, pid, "submit", actor_email=CHEF)
    september = meeting(app, "presidium-styrelse-2026-09")
    meetings.cancel(app, september["id"], actor_email=CHEF, reason="Ingen beslutför")
    with pytest.raises(UsageError, match="Presidiet has no meeting on 2026-08-31"):
        plans.move(app, pid, "recommend-adopt", actor_email=CHAIR, meeting=date(2026, 8, 31))


def test_a_body_acts_at_a_meeting_named_by_its_id(app: Any, clock: Any, cycle: int) -> None:
    """`--meeting` takes the meeting's id as well as its date: the same checks hold."""
    pid = cycle
    plans.move(app, pid, "submit", actor_email=CHEF)
    presidium = meeting(app, "presidium-styrelse-2026-11")
    board = meeting(app, "styrelse-2026-11")
    before = dump(app.url)
    with pytest.raises(UsageError, match=f"meeting {board['id']} is not a meeting of Presidiet"):
        plans.move(app, pid, "recommend-adopt", actor_email=CHAIR, meeting=board["id"])
    with pytest.raises(UsageError, match="has not begun yet"):
        plans.move(app, pid, "recommend-adopt", actor_email=CHAIR, meeting=presidium["id"])
    assert dump(app.url) == before
    advance_to(clock, "2026-11-09T10:30")
    done = plans.move(app, pid, "recommend-adopt", actor_email=CHAIR, meeting=presidium["id"])
    assert done["meeting"] == presidium["id"]
    assert plans.history(app, pid)[-1]["meeting"] == "2026-11-09"
