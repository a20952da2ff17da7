"""The public anslagstavla: `/{forbund}/anslagstavla`, its Atom feed and the protokoll as
published, asked without signing in.

The board adopts the plan for 2028 on 21 September 2027 and its minutes are justerade
on Thursday 23 September (the notice's latest day is then Friday the 24th, and the
appeal time runs three weeks from that day, as the protokoll says: until 15 October);
the presidium's minutes of 6 September were justerade the day before. The page must
show the notice with those dates and no e-mail address, move it to the archive on 16
October (the day the adoption stands), and the feed must say the same; the protokoll
is public once justerat, and only then, and only under its own förbund's address.
"""

from __future__ import annotations

import re
import tomllib
from calendar import timegm
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import feedparser
import pytest
from helpers import CHAIR, CHEF, MEMBER, SOS_FILE, advance_to, statements, store_plan_file
from webtools import client_for, outbox_rows

import web.notice_routes  # noqa: F401  (its routes register on import)
from notifications.messages import render_parts
from web.server import create_app
from workflow.core.settings import DEFAULT_BASE_URL
from workflow.cycle import meetings, notices, protokoll
from workflow.forbund import registry as forbunds
from workflow.forbund.file import parse_forbund
from workflow.plans import services as plans

SOS, ALE = "sydostra-skane", "ale-kungalv"
VICE = "lars.berg@skane.example"  # vice ordförande of the board, its justerare
BOARD_PAGE = f"/{SOS}/anslagstavla"
FEED = f"/{SOS}/anslagstavla.atom"
JUSTERAD = "2027-09-23T14:30"  # Thursday: the board's minutes are justerade
KANSLI = "Förbundets kansli, Samordningsförbundet Sydöstra Skåne"


@pytest.fixture
def world(
    sqlite_web_app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Sydöstra Skåne's 2027 meetings; the plan adopted in September; the presidium's
    minutes of 6 September justerade on the 22nd, the board's of the 21st on the 23rd;
    the board's May minutes recorded and approved by one of their two justerare only."""
    app = sqlite_web_app
    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    advance_to(clock, "2027-01-10T09:00")
    meetings.generate(app, SOS, 2027, actor_email=CHEF)
    year = {m["key"]: m for m in meetings.list_meetings(app, SOS, 2027)}
    plan = _adopt_in_september(app, clock)
    board, presidium = year["styrelse-2027-09"], year["presidium-styrelse-2027-09"]
    may = year["styrelse-2027-05"]
    advance_to(clock, "2027-09-22T10:00")
    protokoll.record_minutes(app, presidium["id"], [CHAIR, CHEF], [CHAIR], actor_email=CHEF)
    protokoll.justera(app, presidium["id"], CHAIR)
    protokoll.record_minutes(app, board["id"], [CHEF, VICE, MEMBER], [VICE], actor_email=CHEF)
    protokoll.record_minutes(app, may["id"], [CHAIR, VICE, MEMBER], [CHAIR, VICE], actor_email=CHEF)
    protokoll.justera(app, may["id"], CHAIR)  # one of two: not justerat yet
    advance_to(clock, JUSTERAD)
    protokoll.justera(app, board["id"], VICE)
    api = create_app(app)
    return {
        "app": app,
        "api": api,
        "board": board,
        "presidium": presidium,
        "may": may,
        "plan": plan,
    }


@pytest.fixture
def bare(sqlite_web_app: Any) -> dict[str, Any]:
    """Both förbund and no meeting: an anslagstavla without notices."""
    return {"app": sqlite_web_app, "api": create_app(sqlite_web_app)}


def _adopt_in_september(app: Any, clock: Any) -> int:
    """`helpers.adopt_in_september` in a database of two förbund: the plan for 2028 through
    presidium and beredningsgrupp (6 September) to the board's adoption on the 21st."""
    advance_to(clock, "2027-08-20T09:00")
    plan = store_plan_file(app, forbund=SOS)
    plans.move(app, plan, "submit", actor_email=CHEF)
    advance_to(clock, "2027-09-06T11:30")
    plans.move(app, plan, "recommend-adopt", actor_email=CHAIR)
    advance_to(clock, "2027-09-06T15:00")
    plans.move(app, plan, "recommend-adopt", actor_email=CHEF)
    advance_to(clock, "2027-09-21T16:00")
    plans.move(app, plan, "adopt", actor_email=CHEF)
    return plan


def _anonymous(world: dict[str, Any]) -> Any:
    return client_for(world["api"])


def _section(html: str, heading_id: str) -> str:
    """The part of the page from the heading with this id to the next section's end."""
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


def _no_email_address(html: str) -> None:
    assert "@" not in html, re.findall(r".{40}@.{40}", html)


# ---------------------------------------------------------------- the page


def test_the_notice_is_on_the_board_without_signing_in(world: dict[str, Any]) -> None:
    answer = _anonymous(world).get(BOARD_PAGE)
    assert answer.status_code == 200 and "Logga in" in answer.text
    current = _section(answer.text, "aktuella")
    board = world["board"]["id"]
    notice = current[current.index(f'id="anslag-{board}"') :]
    assert "Styrelsen, sammanträde 21 september 2027" in notice
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", notice.split("</dl>")[0]))
    assert facts == {
        "Organ": "Styrelsen",
        "Sammanträdesdatum": "21 september 2027",
        "Anslaget uppsatt": "23 september 2027 (protokollet justerades den dagen)",
        "Sista dag att överklaga": "14 oktober 2027",
        "Anslaget tas ned": "15 oktober 2027",
        "Protokollet förvaras": KANSLI,
    }
    assert f'href="/{SOS}/protokoll/{board}"' in notice
    # the newest first: the board's, then the presidium's of the day before
    assert current.index(f"anslag-{board}") < current.index(f"anslag-{world['presidium']['id']}")
    assert f"/protokoll/{world['may']['id']}" not in answer.text  # approved by one of two
    assert "Arkivet är tomt" in _section(answer.text, "arkiv")
    assert f'<a href="{FEED}">' in answer.text
    _no_email_address(answer.text)


def test_an_empty_board_says_so_and_names_its_feed_in_its_head(bare: dict[str, Any]) -> None:
    """For a reader's autodiscovery: base.html's `head` block carries the page's own."""
    html = _anonymous(bare).get(BOARD_PAGE).text
    assert "Det finns inga aktuella anslag i dag, 1 oktober 2026." in html
    assert "Arkivet är tomt." in html
    _no_email_address(html)
    head = html[: html.index("</head>")]
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Anslagstavla – '
        f'Samordningsförbundet Sydöstra Skåne (Atom)" href="{FEED}">'
    ) in head, "web/templates/base.html needs {% block head %}{% endblock %} in its <head>"


def test_the_notice_comes_down_the_day_the_adoption_stands(
    world: dict[str, Any], clock: Any
) -> None:
    """The last day of the appeal time it is still up; the next day it is in the archive,
    and that day is the one the plan's adoption stands on (one calculation). The feed
    keeps it, under the same id."""
    stands = plans.show(world["app"], world["plan"])["adoption"]
    assert stands is not None and stands.get("stands_on") == "2027-10-15"
    link = f'href="/{SOS}/protokoll/{world["board"]["id"]}"'
    before = {e.link: e.id for e in feedparser.parse(_anonymous(world).get(FEED).content).entries}
    advance_to(clock, "2027-10-14T23:30")
    page = _anonymous(world).get(BOARD_PAGE).text
    assert link in _section(page, "aktuella") and link not in _section(page, "arkiv")
    advance_to(clock, "2027-10-15T08:00")
    page = _anonymous(world).get(BOARD_PAGE).text
    archive = _section(page, "arkiv")
    assert link not in _section(page, "aktuella") and link in archive
    assert "Det finns inga aktuella anslag i dag, 15 oktober 2027." in page
    assert "uppsatt 23 september 2027, nedtaget 15 oktober 2027" in archive
    _no_email_address(page)
    # in the feed still, under the same id
    after = {e.link: e.id for e in feedparser.parse(_anonymous(world).get(FEED).content).entries}
    assert after == before


def test_where_the_protokoll_are_kept_comes_from_the_forbund_file(bare: dict[str, Any]) -> None:
    """`[minutes] kept_at`, or the förbund's kansli when the file does not say."""
    assert (
        f"<p>Förbundets protokoll förvaras: {KANSLI}.</p>" in _anonymous(bare).get(BOARD_PAGE).text
    )
    data = tomllib.loads(SOS_FILE.read_text(encoding="utf-8"))
    data["minutes"] = {"kept_at": "Kansliet, Stora Östergatan 12, Ystad"}
    forbunds.register(bare["app"], parse_forbund(data, "test"), actor_email=CHEF)
    page = _anonymous(bare).get(BOARD_PAGE).text
    assert "förvaras: Kansliet, Stora Östergatan 12, Ystad.</p>" in page and KANSLI not in page


def test_an_unknown_forbund_is_an_unknown_page_that_names_no_forbund(
    bare: dict[str, Any],
) -> None:
    client = _anonymous(bare)
    for path in (
        "/nosuch/anslagstavla",
        "/nosuch/anslagstavla.atom",
        "/nosuch/protokoll/1",
        "/" + "x" * 65 + "/anslagstavla",
        "/Sydostra-Skane/anslagstavla",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "Sidan finns inte" in answer.text and SOS not in answer.text, path


def test_the_pages_ask_the_same_number_of_statements_whatever_the_notices(
    world: dict[str, Any], clock: Any
) -> None:
    """Two queries for the board and the feed (the förbund, its justerade protokoll),
    with two notices as with three (SQLite's BEGIN besides)."""

    def counted() -> dict[str, int]:
        found = {}
        client = _anonymous(world)
        for path in (BOARD_PAGE, FEED):
            assert client.get(path).status_code == 200  # warm
            with statements(world["app"]) as seen:
                assert client.get(path).status_code == 200
            found[path] = len(seen)
        return found

    two = counted()
    advance_to(clock, "2027-09-24T09:00")
    protokoll.justera(world["app"], world["may"]["id"], VICE)
    assert counted() == two == {BOARD_PAGE: 2, FEED: 2}


# ---------------------------------------------------------------- the feed


def test_the_feed_parses_back_with_the_notices_newest_first(world: dict[str, Any]) -> None:
    client = _anonymous(world)
    answer = client.get(FEED)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/atom+xml"
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "Anslagstavla – Samordningsförbundet Sydöstra Skåne"
    board, presidium = world["board"]["id"], world["presidium"]["id"]
    entries = feed.entries
    assert [e.link for e in entries] == [
        f"{DEFAULT_BASE_URL}/{SOS}/protokoll/{board}",
        f"{DEFAULT_BASE_URL}/{SOS}/protokoll/{presidium}",
    ]
    assert entries[0].title == "Styrelsen, sammanträde 21 september 2027: justerat"
    went_up = datetime(2027, 9, 23, 12, 30, tzinfo=UTC)  # 14:30 in Stockholm, summer time
    assert timegm(entries[0].updated_parsed) == int(went_up.timestamp())
    assert timegm(feed.feed.updated_parsed) == int(went_up.timestamp())
    assert "tas ned 15 oktober 2027" in entries[0].summary
    assert "till och med 14 oktober 2027" in entries[0].summary
    ids = [e.id for e in entries]
    assert len(set(ids)) == 2 and all(i.startswith("urn:uuid:") for i in ids)
    assert [e.id for e in feedparser.parse(client.get(FEED).content).entries] == ids
    assert "@" not in answer.text


# ---------------------------------------------------------------- the protokoll as published


def test_the_protokoll_as_published_names_people_and_roles_and_no_address(
    world: dict[str, Any],
) -> None:
    answer = _anonymous(world).get(f"/{SOS}/protokoll/{world['board']['id']}")
    assert answer.status_code == 200
    html = answer.text
    assert "<h1>Protokoll – Styrelsen</h1>" in html
    rows = dict(re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]*)</td></tr>', html))
    assert rows["Beslutande"] == "Lars Berg (vice ordförande), Eva Lind (ledamot)"
    assert rows["Övriga närvarande"] == "Annika Rasmusson (förbundschef)"
    assert rows["Justerare"] == "Lars Berg"
    assert "Styrelsen beslutar att anta planen (revision 1)." in html
    assert "Protokollet är justerat." in html
    assert "Granskningsloggens kontrollsumma" not in html
    assert "Simrishamns kommun" not in html  # whom a member represents is not in the minutes
    assert f'href="/{SOS}/anslagstavla"' in html
    _no_email_address(html)


def test_only_a_justerat_protokoll_of_the_forbund_is_public(world: dict[str, Any]) -> None:
    client = _anonymous(world)
    never = next(
        m for m in meetings.list_meetings(world["app"], SOS, 2027) if m["key"] == "styrelse-2027-11"
    )
    for meeting in (world["may"]["id"], never["id"], 999_999, 0, 10**30):
        answer = client.get(f"/{SOS}/protokoll/{meeting}")
        assert answer.status_code == 404 and "Sidan finns inte" in answer.text, meeting
    # Sydöstra Skåne's justerat protokoll under Ale-Kungälv's address
    elsewhere = client.get(f"/{ALE}/protokoll/{world['board']['id']}")
    assert elsewhere.status_code == 404
    assert "Styrelsen beslutar" not in elsewhere.text
    ale = client.get(f"/{ALE}/anslagstavla")
    assert ale.status_code == 200 and f"/protokoll/{world['board']['id']}" not in ale.text


# ---------------------------------------------------------------- the protokollsutdrag


DECISION = {
    "forbund": "SÖS",
    "body": "Styrelsen",
    "meeting_date": date(2027, 9, 21),
    "paragraph": "52",
    "plan_title": "Verksamhetsplan 2028",
    "decision": "att anta planen",
    "reason": None,
    "approved": date(2027, 9, 23),
    "appeal_ends": date(2027, 10, 15),
    "attached": True,
    "member": "Ystads kommun",
    "chef": "Annika",
}


def test_the_protokollsutdrag_give_the_anslagstavlas_address() -> None:
    url = notices.board_url(SOS, "https://finsam.example")
    _, text, html = render_parts("decision", {**DECISION, "anslagstavla": url})
    assert f"anslagstavla: {url}" in text
    assert f'<a href="{url}">{url}</a>' in html


def test_the_decision_mails_queued_at_justering_give_the_anslagstavlas_address(
    world: dict[str, Any],
) -> None:
    """The protokollsutdrag to each member's registry, queued when the board's minutes
    were justerade, in text and in HTML."""
    rows = outbox_rows(world["app"], "decision")
    assert len(rows) == 7  # one per member organisation
    url = f"{DEFAULT_BASE_URL}/{SOS}/anslagstavla"
    for row in rows:
        mail = message_from_bytes(row.raw, policy=policy.default)
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f"anslagstavla: {url}" in text and f'<a href="{url}">' in html
