"""The personal calendar feed: `/kalender` makes and switches off the address, and
`/kalender/<token>.ics` serves the person's meetings to a calendar that subscribes.

The feed is read back with icalendar and held against what the förbund file says
the person sits in, and against the kallelser the notify sweep queued: each
invitation's UID, SEQUENCE, summary and agenda are the feed's, also after the
meeting moved and after it was cancelled. The address is shown once, lives only as
a hash, dies when a new one is made or the feed is switched off (the same 404 as
an address that never was), and one person's address never shows another's
meetings. The feed's statements do not grow with the data.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import (
    CHAIR,
    CHEF,
    LEADER,
    MEMBER,
    add_maria,
    advance_to,
    dump,
    statements,
    store_plan_file,
)
from icalendar import Calendar
from webtools import ALE_CHAIR, client_for, csrf_of, signed_in_client

import web.calendar_routes  # noqa: F401  (its routes register on import)
from web.server import create_app
from workflow.core.clock import parse_instant
from workflow.cycle import meetings
from workflow.identity import calendar_feeds as feeds
from workflow.mail import compose as notify
from workflow.plans import services as plans
from workflow.reports import obligations as reports

SOS = "sydostra-skane"
OFFICIAL = "ingrid.wall@forsakringskassan.example"  # tjänsteperson in the beredningsgrupp only
ADDRESS = re.compile(r'value="(webcal|http)://127\.0\.0\.1:8000/kalender/([A-Za-z0-9_-]{43})\.ics"')
PREP = ("presidium", "beredningsgrupp")  # the bodies preparing the board's meetings
# what each person sits in (Sydöstra Skåne's file): the feed holds these bodies' meetings
SITS_IN = {
    CHAIR: {"styrelse", "presidium"},
    MEMBER: {"styrelse"},
    OFFICIAL: {"beredningsgrupp"},
    ALE_CHAIR: set(),  # Ale-Kungälv's: none of Sydöstra Skåne's meetings
}


@pytest.fixture
def autumn(sqlite_web_app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Sydöstra Skåne's 2027 meetings; the 2028 plan submitted on 20 August, so it lies
    on the agendas of the presidium's and the beredningsgrupp's meetings of 6 September;
    30 August at 14:00, when both their kallelser have fallen due."""
    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    advance_to(clock, "2027-01-10T09:00")
    meetings.generate(sqlite_web_app, SOS, 2027, actor_email=CHEF)
    advance_to(clock, "2027-08-20T09:00")
    plans.move(
        sqlite_web_app, store_plan_file(sqlite_web_app, forbund=SOS), "submit", actor_email=CHEF
    )
    advance_to(clock, "2027-08-30T14:00")
    return sqlite_web_app


def _made(client: Any) -> str:
    """Make a new address on the page, as the button does; its token (the page shows the
    same address as webcal and as the site's own scheme)."""
    shown = client.get("/kalender")
    assert shown.status_code == 200
    made = client.post("/kalender/ny", data={"csrf": csrf_of(shown.text, "/kalender/ny")})
    assert made.status_code == 200, made.text
    found = ADDRESS.findall(made.text)
    assert [scheme for scheme, _ in found] == ["webcal", "http"], found
    assert found[0][1] == found[1][1]
    return str(found[0][1])


def _fetch(app: Any, token: str) -> Any:
    """The feed as a calendar fetches it: no cookie, no session."""
    return client_for(create_app(app)).get(f"/kalender/{token}.ics")


def _events(app: Any, token: str) -> dict[str, Any]:
    answer = _fetch(app, token)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert answer.headers["cache-control"] == "no-store"
    return {str(e["UID"]): e for e in Calendar.from_ical(answer.content).walk("VEVENT")}


def _feed_for(app: Any, email: str) -> dict[str, Any]:
    return _events(app, _made(signed_in_client(app, email)))


def _expected(app: Any, email: str, since: datetime | None = None) -> set[str]:
    """The UIDs of the meetings of the bodies the person sits in (joint ones included)."""
    bodies = SITS_IN[email]
    return {
        m["uid"]
        for m in meetings.list_meetings(app, SOS, 2027)
        if {m["body"], *m["joint_with"]} & bodies
        and (since is None or datetime.fromisoformat(m["starts_at"]) >= since)
    }


def _invitations(app: Any, email: str) -> dict[str, Any]:
    """The newest kallelse invitation of each meeting the person was called to, by UID,
    read from the text/calendar part of the outbox's rows."""
    with app.engine.connect() as conn:
        raws = conn.execute(sa.text("SELECT raw FROM outbox_message WHERE kind = 'notice'"))
        found: dict[str, Any] = {}
        for (raw,) in raws:
            for part in message_from_bytes(raw, policy=policy.default).walk():
                if part.get_content_type() != "text/calendar":
                    continue
                event = next(iter(Calendar.from_ical(part.get_content()).walk("VEVENT")))
                called = {str(a).removeprefix("mailto:").lower() for a in event["ATTENDEE"]}
                uid = str(event["UID"])
                newer = uid not in found or event["SEQUENCE"] >= found[uid]["SEQUENCE"]
                if email in called and newer:
                    found[uid] = event
    return found


def _same_as_invitations(feed: dict[str, Any], invited: dict[str, Any]) -> None:
    assert invited, "no kallelse was queued to compare with"
    for uid, invitation in invited.items():
        event = feed[uid]
        for field in ("SEQUENCE", "SUMMARY", "DESCRIPTION", "STATUS"):
            assert event[field] == invitation[field], (uid, field)
        assert event.decoded("DTSTART") == invitation.decoded("DTSTART"), uid


def test_each_persons_feed_holds_the_meetings_of_their_bodies_as_invited(autumn: Any) -> None:
    # an extra meeting of the presidium, with no theme: "Presidiet: sammanträde"
    meetings.add(autumn, SOS, body="presidium", day=date(2027, 9, 2), actor_email=CHEF)
    assert notify.sweep(autumn)["notices"] == 3  # its kallelse and those of 6 September
    feeds_of = {email: _feed_for(autumn, email) for email in SITS_IN}
    for email, feed in feeds_of.items():
        assert set(feed) == _expected(autumn, email), email
    for email in (CHAIR, OFFICIAL):
        _same_as_invitations(feeds_of[email], _invitations(autumn, email))
    official = feeds_of[OFFICIAL].values()
    october = next(e for e in official if "halvdag med beredningsgruppen" in e["SUMMARY"])
    assert october["SUMMARY"].startswith("Styrelsen")  # the board's joint meeting is hers too
    assert not any(e["SUMMARY"].startswith("Presidiet") for e in official)
    # the plan submitted in August is on the presidium's agenda, in the invitation and the feed
    chair = feeds_of[CHAIR].values()
    assert any("Verksamhetsplan och budget 2028" in e["DESCRIPTION"] for e in chair)


def test_a_moved_and_a_cancelled_meeting_follow_their_invitations(autumn: Any) -> None:
    notify.sweep(autumn)
    chair, official = (signed_in_client(autumn, who) for who in (CHAIR, OFFICIAL))
    tokens = {CHAIR: _made(chair), OFFICIAL: _made(official)}
    cycle = {m["key"]: m for m in meetings.list_meetings(autumn, SOS, 2027)}
    presidium, beredning = (cycle[f"{body}-styrelse-2027-09"] for body in PREP)
    meetings.move(autumn, presidium["id"], date(2027, 9, 7), actor_email=CHEF)
    meetings.cancel(autumn, beredning["id"], actor_email=CHEF)
    notify.sweep(autumn)  # the changed kallelse and the cancellation
    moved = _events(autumn, tokens[CHAIR])[presidium["uid"]]
    assert moved["SEQUENCE"] == 1 and moved.decoded("DTSTART").date() == date(2027, 9, 7)
    _same_as_invitations(_events(autumn, tokens[CHAIR]), _invitations(autumn, CHAIR))
    cancelled = _events(autumn, tokens[OFFICIAL])[beredning["uid"]]
    assert cancelled["STATUS"] == "CANCELLED" and cancelled["SEQUENCE"] == 1
    _same_as_invitations(_events(autumn, tokens[OFFICIAL]), _invitations(autumn, OFFICIAL))


def test_the_feed_reaches_a_year_back_and_everything_ahead(autumn: Any, clock: Any) -> None:
    token = _made(signed_in_client(autumn, MEMBER))
    assert set(_events(autumn, token)) == _expected(autumn, MEMBER)
    advance_to(clock, "2028-09-20T09:00")
    since = parse_instant("2028-09-20T09:00") - feeds.BACK
    later = _events(autumn, token)
    assert set(later) == _expected(autumn, MEMBER, since)
    assert 0 < len(later) < len(_expected(autumn, MEMBER))


def test_a_project_leader_gets_an_empty_calendar(autumn: Any) -> None:
    add_maria(autumn, SOS)
    client = signed_in_client(autumn, LEADER)
    assert "din kalender får inga möten" in client.get("/kalender").text
    answer = _fetch(autumn, _made(client))
    assert answer.status_code == 200
    calendar = Calendar.from_ical(answer.content)
    assert str(calendar["X-WR-CALNAME"]) == "Sammanträden – Sofia Ek"
    assert list(calendar.walk("VEVENT")) == []


def test_the_address_is_shown_once_kept_as_a_hash_and_dies_when_replaced_or_switched_off(
    autumn: Any, clock: Any
) -> None:
    client = signed_in_client(autumn, CHAIR)
    assert "Du har ingen kalenderadress." in client.get("/kalender").text
    first = _made(client)
    page = client.get("/kalender").text
    assert first not in page and "Skapad" in page and "inte ännu" in page
    stranger = _fetch(autumn, "A" * 43)
    assert stranger.status_code == 404
    assert _fetch(autumn, first).status_code == 200
    assert "30 augusti 2027 kl. 14:00" in client.get("/kalender").text  # last fetched
    # the token is nowhere in the database, only its SHA-256
    rows = dump(str(autumn.engine.url))
    assert first not in repr(rows)
    digest = hashlib.sha256(first.encode()).hexdigest()
    assert [r[1] for r in rows["calendar_feed"]] == [repr(digest)]
    second = _made(client)
    assert second != first
    replaced = _fetch(autumn, first)
    assert (replaced.status_code, replaced.text) == (404, stranger.text)
    assert _fetch(autumn, second).status_code == 200
    page = client.get("/kalender").text
    off = client.post("/kalender/stang", data={"csrf": csrf_of(page, "/kalender/stang")})
    assert off.status_code == 303 and off.headers["location"] == "/kalender?avstangd=1"
    assert "Kalenderadressen är avstängd." in client.get(off.headers["location"]).text
    revoked = _fetch(autumn, second)
    assert (revoked.status_code, revoked.text) == (404, stranger.text)
    assert dump(str(autumn.engine.url))["calendar_feed"] == []


def test_last_used_is_written_at_most_once_an_hour(autumn: Any, clock: Any) -> None:
    first = autumn.clock.now()
    token = feeds.create(autumn, CHAIR).token
    assert feeds.info(autumn, CHAIR) == feeds.FeedInfo(first, None)
    assert feeds.feed(autumn, token) is not None
    advance_to(clock, "2027-08-30T14:59")
    assert feeds.feed(autumn, token) is not None
    assert feeds.info(autumn, CHAIR) == feeds.FeedInfo(first, first)
    advance_to(clock, "2027-08-30T15:00")
    assert feeds.feed(autumn, token) is not None
    assert feeds.info(autumn, CHAIR) == feeds.FeedInfo(first, first + timedelta(hours=1))


def test_the_address_is_on_the_sites_own_host_and_path(
    autumn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_BASE_URL", "https://finsam.example.se/sos/")
    client = signed_in_client(autumn, CHAIR)
    page = client.get("/kalender").text
    made = client.post("/kalender/ny", data={"csrf": csrf_of(page, "/kalender/ny")}).text
    assert feeds.address("https://x", "T") == feeds.FeedAddress(
        "webcal://x/kalender/T.ics", "https://x/kalender/T.ics"
    )
    shown = re.findall(r'value="([a-z]+://finsam\.example\.se/sos/kalender/[^"]+\.ics)"', made)
    assert [a.split("://")[0] for a in shown] == ["webcal", "https"]


def test_the_forms_need_the_sessions_csrf_token(autumn: Any) -> None:
    client = signed_in_client(autumn, CHAIR)
    for path in ("/kalender/ny", "/kalender/stang"):
        assert client.post(path, data={"csrf": "fel"}).status_code == 403
    assert feeds.info(autumn, CHAIR) is None
    anonymous = client_for(create_app(autumn))
    assert anonymous.get("/kalender").status_code == 303


def _statements(app: Any, token: str) -> int:
    client = client_for(create_app(app))
    with statements(app) as seen:
        assert client.get(f"/kalender/{token}.ics").status_code == 200
    return len(seen)


FIGURES = {
    "participants_women": "3",
    "participants_men": "2",
    "participants_other": "0",
    "participants_new": "1",
    "ended_work_or_studies": "1",
    "sus_up_to_date": "ja",
    "costs_tkr": "100",
    "goal_fulfilment": "Ja.",
}


def _hand_in_tertial_2(app: Any, folder: Path) -> None:
    """Mariamottagningen's tertial 2 report, handed in: on the September board's agenda."""
    add_maria(app, SOS)
    owed = reports.generate(app, SOS, 2027, actor_email=CHEF)
    report = next(o for o in owed if o["kind"] == "tertial-2")
    doc = folder / "t2.pdf"
    doc.write_bytes(b"%PDF-1.4 rapport")
    reports.submit(app, report["id"], doc, LEADER, FIGURES)


def test_the_feed_issues_as_many_statements_however_much_there_is(
    autumn: Any, tmp_path: Path
) -> None:
    """The plan lies on the presidium's agenda; then come 2028's meetings and a report
    handed in for the September board."""
    token = feeds.create(autumn, CHAIR).token
    assert feeds.feed(autumn, token) is not None  # warm: the förbund files read, use noted
    few = _statements(autumn, token)
    meetings.generate(autumn, SOS, 2028, actor_email=CHEF)
    _hand_in_tertial_2(autumn, tmp_path)
    feed = _events(autumn, token)
    assert len(feed) > len(_expected(autumn, CHAIR))  # 2028's meetings are in it
    assert any(
        "Tertialrapport 2 2027: Mariamottagningen" in e["DESCRIPTION"] for e in feed.values()
    )
    assert _statements(autumn, token) == few
    assert few < 12, few
