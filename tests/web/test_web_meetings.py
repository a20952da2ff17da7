"""The member's meetings in the browser: `/moten`, `/moten/N` and a handled report's file.

Sydöstra Skåne's spring 2027 (`meeting_story.spring`): a ledamot reads the board's
meetings and a beredningsgrupp official the beredningsgrupp's (the October half day,
held jointly, both); the May board meeting lists its plan, the tertial overview and
the report handed in, each link answering; a report's file opens for the people the
meeting calls and for nobody else; the protokoll shows once recorded, with the dates
`papers.minutes` gives; and the pages issue as many SQL statements on a bigger
database as on a small one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import CHAIR, CHEF, LEADER, MEMBER, SOS_FILE, advance_to, make_app, statements
from meeting_story import NORA, OFFICIAL, PDF, SOS, VICE, Spring, spring
from webtools import ALE_CHAIR, client_for, signed_in_client

import web.meeting_routes  # noqa: F401  (its routes register on import)
from notifications.render import sv_date
from web.server import create_app
from workflow.cycle import papers, protokoll

MEETING_LINK = re.compile(r'href="/moten/(\d+)"')


@pytest.fixture
def story(
    sqlite_web_app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Spring:
    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    return spring(sqlite_web_app, clock, tmp_path)


def _linked(html: str) -> set[int]:
    return {int(n) for n in MEETING_LINK.findall(html)}


def _section(html: str, heading_id: str) -> str:
    found = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', html, re.S)
    assert found, heading_id
    return found.group(1)


# ---------------------------------------------------------------- whose meetings


def test_a_ledamot_sees_the_boards_meetings_and_not_the_beredningsgruppens(
    sqlite_web_app: Any, story: Spring
) -> None:
    ids = story.meetings
    client = signed_in_client(sqlite_web_app, MEMBER)
    html = client.get("/moten").text
    coming, earlier = _section(html, "kommande"), _section(html, "tidigare")
    board = ("styrelse-2027-05", "styrelse-2027-09", "styrelse-2027-10", "styrelse-2027-11")
    assert _linked(coming) == {ids[k] for k in board}  # October: held with the beredningsgrupp
    assert _linked(earlier) == {ids["styrelse-2027-02"], ids["styrelse-2027-03"]}
    assert coming.index("tisdag 11 maj 2027") < coming.index("tisdag 21 september 2027")
    for key in ("beredningsgrupp-styrelse-2027-05", "presidium-styrelse-2027-05"):
        assert client.get(f"/moten/{ids[key]}").status_code == 404, key


def test_a_beredningsgrupp_official_sees_the_beredningsgruppens_meetings_only(
    sqlite_web_app: Any, story: Spring
) -> None:
    ids = story.meetings
    client = signed_in_client(sqlite_web_app, OFFICIAL)
    html = client.get("/moten").text
    prep = {m: ids[f"beredningsgrupp-styrelse-2027-{m}"] for m in ("02", "03", "05", "09", "11")}
    coming, earlier = _section(html, "kommande"), _section(html, "tidigare")
    assert _linked(coming) == {prep["09"], prep["11"], ids["styrelse-2027-10"]}
    assert _linked(earlier) == {prep["02"], prep["03"], prep["05"]}  # 26 April, before today
    assert client.get(f"/moten/{ids['styrelse-2027-10']}").status_code == 200
    may = client.get(f"/moten/{ids['styrelse-2027-05']}")
    assert may.status_code == 404 and "Mariamottagningen" not in may.text


def test_people_of_no_body_and_of_another_forbund_see_none_of_these_meetings(
    sqlite_web_app: Any, story: Spring
) -> None:
    may = story.meetings["styrelse-2027-05"]
    for who in (ALE_CHAIR, LEADER):
        client = signed_in_client(sqlite_web_app, who)
        mine = client.get("/moten")
        assert mine.status_code == 200 and not _linked(mine.text), who
        assert client.get(f"/moten/{may}").status_code == 404, who
    assert "Du sitter inte i något av förbundens organ" in (
        signed_in_client(sqlite_web_app, LEADER).get("/moten").text
    )
    anonymous = client_for(create_app(sqlite_web_app)).get(f"/moten/{may}")
    # sent to sign in, and the mailed link will open the meeting asked for
    assert (anonymous.status_code, anonymous.headers["location"]) == (
        303,
        f"/signin?next=/moten/{may}",
    )


# ---------------------------------------------------------------- the May board meeting's papers


def test_the_may_board_meeting_lists_its_plan_and_reports_with_working_links(
    sqlite_web_app: Any, story: Spring
) -> None:
    may = story.meetings["styrelse-2027-05"]
    client = signed_in_client(sqlite_web_app, MEMBER)
    html = client.get(f"/moten/{may}").text
    kallelse = _section(html, "kallelse")
    assert "tisdag 11 maj 2027, klockan 14:00–16:00" in kallelse
    assert "Tomelilla kommun" in kallelse and "Tertialrapport 1" in kallelse
    called = _section(html, "kallade")
    assert "Karin Holm, ordförande (Ystads kommun)" in called
    assert "Per Nilsson, ersättare (Ystads kommun)" in called
    assert "@" not in called  # the called are named, not addressed
    # the föredragningslista is the one `meeting agenda` prints and the kallelse sends
    cli = papers.agenda(sqlite_web_app, may)
    shown = re.findall(r"<li>(.*?)</li>", _section(html, "foredragningslista"))
    assert shown == [i["title"] for i in cli["items"]]
    assert "Tertialrapport 1 2027: Mariamottagningen" in shown
    assert any(t.startswith("Verksamhetsplan och budget 2028") for t in shown)
    assert "Unga vuxna" not in "".join(shown)  # owed, not handed in
    links = re.findall(r'href="([^"]+)"', _section(html, "handlingar"))
    report = f"/moten/{may}/rapporter/{story.maria_t1}/fil"
    overview = f"/{SOS}/oversikt/2027/tertial-1"
    assert links == [f"/plans/{story.plan}", overview, report]
    assert [urlsplit(o["url"]).path for o in cli["overviews"]] == [overview]
    for link in links:
        assert client.get(link).status_code == 200, link
    served = client.get(report)
    assert served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("inline")
    # the list shows the same papers under the meeting's date
    mine = client.get("/moten").text
    article = re.search(
        rf'<article class="meeting" aria-labelledby="mote-{may}">(.*?)</article>', mine, re.S
    )
    assert article and re.findall(r'href="([^"]+)"', article.group(1)) == [
        f"/moten/{may}",
        *links,
        f"/moten/{may}",
    ]
    assert "tisdag 11 maj 2027" in article.group(1)


def test_a_report_file_opens_only_for_the_people_called_to_its_meeting(
    sqlite_web_app: Any, story: Spring
) -> None:
    may, march = story.meetings["styrelse-2027-05"], story.meetings["styrelse-2027-03"]
    report = f"/moten/{may}/rapporter/{story.maria_t1}/fil"
    for called in (MEMBER, CHAIR, "per.nilsson@ystad.example", CHEF):  # an ersättare too
        assert signed_in_client(sqlite_web_app, called).get(report).content == PDF, called
    # another förbund's person, the leader of another insats, the beredningsgrupp
    for stranger in (ALE_CHAIR, NORA, OFFICIAL):
        refused = signed_in_client(sqlite_web_app, stranger).get(report)
        assert refused.status_code == 404 and refused.content != PDF, stranger
    member = signed_in_client(sqlite_web_app, MEMBER)
    for path in (
        f"/moten/{may}/rapporter/{story.unga_t1}/fil",  # still owed: nothing handed in
        f"/moten/{march}/rapporter/{story.maria_t1}/fil",  # not handled at that meeting
        f"/moten/{may}/rapporter/{2**63}/fil",
    ):
        assert member.get(path).status_code == 404, path


# ---------------------------------------------------------------- the protokoll


def test_the_protokoll_shows_once_recorded_and_its_dates_once_approved(
    sqlite_web_app: Any, clock: Any, story: Spring
) -> None:
    from workflow.plans import services as plans

    may = story.meetings["styrelse-2027-05"]

    def shown(path: str = f"/moten/{may}") -> str:  # signed in afresh: days pass
        return str(signed_in_client(sqlite_web_app, MEMBER).get(path).text)

    assert 'id="protokoll"' not in shown()  # still to come
    advance_to(clock, "2027-05-11T16:00")
    plans.move(sqlite_web_app, story.plan, "adopt", actor_email=CHEF)
    assert "Protokollet är inte upprättat ännu." in shown()
    protokoll.record_minutes(
        sqlite_web_app, may, [CHAIR, VICE, MEMBER, CHEF], [VICE], actor_email=CHEF
    )
    recorded = _section(shown(), "protokoll")
    assert "Protokollet är ännu inte justerat." in recorded
    assert "Justerare</dt><dd>Lars Berg</dd>" in recorded
    advance_to(clock, "2027-05-12T09:00")
    minutes = protokoll.justera(sqlite_web_app, may, VICE)
    advance_to(clock, "2027-05-20T09:00")
    approved = _section(shown(), "protokoll")
    decided = next(i for i in minutes["items"] if i["decision"])
    assert f'<span class="paragraph">§ {decided["paragraph"]}</span> {decided["title"]}' in approved
    assert "Styrelsen beslutar att anta planen (revision 1)." in approved
    dates = (
        f"sattes upp på förbundets anslagstavla {sv_date(minutes['posted_on'])}; besluten kan "
        f"överklagas till och med {sv_date(minutes['appeal_ends'])}"
    )
    assert "Protokollet är justerat." in approved and dates in approved
    earlier = _section(shown("/moten"), "tidigare")
    assert earlier.index(f'href="/moten/{may}"') < earlier.index("16 mars 2027")  # latest first
    assert dates in earlier


# ---------------------------------------------------------------- statements per page


NOW = datetime(2027, 8, 20, 9, tzinfo=UTC)


def _scaled(url: str, forbund: int, years: list[int], folder: Path) -> tuple[Any, dict[str, int]]:
    """`scale.build`'s förbund and years with Sydöstra Skåne's May 2027 board meeting
    minuted and approved and Mariamottagningen's tertial 1 handed in: the ids asked."""
    from scale import build, leader_of

    from workflow.core.clock import FixedClock
    from workflow.cycle import meetings
    from workflow.reports import obligations

    clock = FixedClock(datetime(years[0], 1, 1, 9, tzinfo=UTC))
    app = make_app(url, clock, SOS_FILE)
    build(app, clock, forbund, years, NOW, reports=True)
    may = next(m for m in meetings.list_meetings(app, SOS, 2027) if m["key"] == "styrelse-2027-05")
    report = next(
        o
        for o in obligations.status(app, SOS, 2027)
        if o["kind"] == "tertial-1" and o["insats_name"] == "Mariamottagningen"
    )
    doc = folder / "t1.pdf"
    doc.write_bytes(PDF)
    obligations.submit(app, report["id"], doc, leader_of(SOS))
    protokoll.record_minutes(app, may["id"], [CHAIR, VICE, MEMBER], [VICE], actor_email=CHEF)
    protokoll.justera(app, may["id"], VICE)
    return app, {"meeting": int(may["id"] or 0), "report": int(report["id"] or 0)}


PAGES = (
    ("/moten", MEMBER),
    ("/moten", CHEF),
    ("/moten/{meeting}", MEMBER),
    ("/moten/{meeting}/rapporter/{report}/fil", MEMBER),
)


def _counts(app: Any, ids: dict[str, int]) -> dict[tuple[str, str], int]:
    """The statements of one request to each page (asked once before, so caches are warm)."""
    clients = {who: signed_in_client(app, who) for who in {w for _, w in PAGES}}
    counts = {}
    for path, who in PAGES:
        url = path.format(**ids)
        assert clients[who].get(url).status_code == 200, url
        with statements(app) as seen:
            answer = clients[who].get(url)
        assert answer.status_code == 200, (url, answer.text)
        counts[(path, who)] = len(seen)
    return counts


@pytest.fixture
def scaled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, Any]]]:
    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    monkeypatch.delenv("FINSAM_BASE_URL", raising=False)
    built = [
        _scaled(f"sqlite:///{tmp_path / 'small.db'}", 1, [2027], tmp_path),
        _scaled(f"sqlite:///{tmp_path / 'big.db'}", 3, [2026, 2027], tmp_path),
    ]
    yield built
    for app, _ in built:
        app.engine.dispose()


def test_the_pages_issue_as_many_statements_on_a_bigger_database(
    scaled: list[tuple[Any, dict[str, int]]],
) -> None:
    (small, small_ids), (big, big_ids) = scaled
    few, many = _counts(small, small_ids), _counts(big, big_ids)
    assert many == few
    assert all(0 < n < 40 for n in few.values()), few
    # the bigger one lists more earlier meetings (autumn 2026) with no statement more
    member = signed_in_client(big, MEMBER).get("/moten").text
    assert "2026</time>" in member
    assert "2026</time>" not in signed_in_client(small, MEMBER).get("/moten").text
