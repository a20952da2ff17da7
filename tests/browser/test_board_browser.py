"""The board in a real browser: from the kallelse in a member's mail to the justerat
protokoll on the public anslagstavla, with axe on every page of the minutes, the
anslagstavla and the protokoll as published, at a desktop's width and a phone's.

One story on a site of its own (`own_site`), for the clock moves: to the day the
September board meeting's kallelse goes out (`finsam scheduler tick` sends it over
SMTP), then to the day after the meeting. The chair follows the kallelse's link to
the meeting's page, signs in on the way and opens a handling; the förbundschef
records the minutes (a ledamot remote, an ersättare serving for an absent one) and
sends them to two justerare; the first asks for a change from the link in his mail;
the förbundschef revises from the link in hers; both justera the new draft. The
notice is on the anslagstavla without signing in, with no e-mail address in its
HTML; its Atom feed and the chair's calendar feed are parsed back, and the feed's
meeting has the UID and SEQUENCE of the invitation the kallelse carried.
"""

from __future__ import annotations

import re
from datetime import date
from email.message import EmailMessage
from typing import Any

import feedparser
from browser_site import LINK, Site, open_profile, services, sign_in, violations, wait_until
from helpers import CHAIR, CHEF, MEMBER
from icalendar import Calendar

SOS = "sydostra-skane"
VICE = "lars.berg@skane.example"  # vice ordförande, a justerare
ABSENT = "johan.ek@sjobo.example"  # a ledamot away in September
SERVING = "greta.ohman@sjobo.example"  # Sjöbo's ersättare, serving for him
KALLELSE_DAY = "2027-09-14T15:00"  # seven days before the board's 21 September
DAY_AFTER = "2027-09-22T09:00"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 720}
TOLD = "Förbundschefen informerar om arbetet med nästa års insatser."
CHANGE = "Skriv att informationen också gällde ansökningarna om medel för 2028."
REVISED = "Förbundschefen informerar om nästa års insatser och ansökningarna om medel för 2028."


def _axe(page: Any) -> str:
    """axe at a desktop's width and at a phone's ('' when both pass)."""
    found = []
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        report = violations(page)
        if report:
            found.append(f"{name}:\n{report}")
    page.set_viewport_size(DESKTOP)
    return "".join(found)


def _september_with_a_report_handled(app: Any) -> int:
    """An insats owing 2027's reports, so the September board handles its tertial 2 (the
    overview is among the handlingar); the meeting's id."""
    # start-up: finsam loads only when a browser is there to use the site
    from workflow.cycle import meetings
    from workflow.reports import insatser
    from workflow.reports import obligations as reports

    insatser.add(
        *(app, SOS),
        actor_email=CHEF,
        name="Mariamottagningen",
        owner="region-skane",
        start=date(2019, 5, 1),
        leader_name="Sofia Ek",
        leader_email="sofia.ek@skane.example",
        budget={2027: 1200},
    )
    reports.generate(app, SOS, 2027, actor_email=CHEF)
    board = meetings.list_meetings(app, SOS, 2027)
    return int(next(m["id"] for m in board if m["key"] == "styrelse-2027-09"))


def _newest(site: Site, email: str, subject: str) -> EmailMessage:
    def found() -> Any:
        return [m for m in site.mail_to(email) if subject in str(m["Subject"])]

    return wait_until(found, f"a mail to {email} about {subject!r}")[-1]  # type: ignore[no-any-return]


def _text(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()  # type: ignore[union-attr,no-any-return]


def _signin_link(mail: EmailMessage) -> str:
    found = LINK.search(_text(mail))
    assert found, _text(mail)
    return found.group(0)


def _log_in(page: Any, site: Site, link: str, lands: str) -> None:
    """Open a mailed link and press "Logga in": the page the link was made for opens (at
    once, for someone signed in already in that browser)."""
    page.goto(link)
    if page.url != f"{site.url}{lands}":
        page.get_by_role("button", name="Logga in", exact=True).click()
        page.wait_for_url(f"{site.url}{lands}")


def test_the_board_from_the_kallelse_to_the_anslagstavla(
    browser: Any, browsers: list[Any], own_site: Site
) -> None:
    site = own_site
    found: dict[str, str] = {}  # what axe reports, by page
    with services(site) as app:
        meeting = _september_with_a_report_handled(app)
    page_path = f"/moten/{meeting}"
    site.move_clock(KALLELSE_DAY)
    site.finsam("scheduler", "tick")  # the kallelse goes out by mail, its invitation with it

    # the chair follows the kallelse's link, signs in on the way and reads a handling
    kallelse = _newest(site, CHAIR, "Kallelse")
    assert f"{site.url}{page_path} " in _text(kallelse)
    chair = open_profile(browser, site, browsers)
    chair.goto(page_path)
    chair.wait_for_url(f"{site.url}/signin?next={page_path}")
    before = site.queued_signins(CHAIR)
    chair.get_by_label("E-postadress").fill(CHAIR)
    chair.get_by_role("button", name="Skicka inloggningslänk").click()
    chair.get_by_role("heading", name="Kolla din e-post").wait_for()
    _log_in(chair, site, site.deliver_link(CHAIR, before), page_path)
    handlingar = chair.get_by_role("region", name="Handlingar")
    handlingar.get_by_role("link", name="Översikt: Tertialrapport 2 2027").click()
    chair.wait_for_url(f"{site.url}/{SOS}/oversikt/2027/tertial-2")

    # the day after: the förbundschef records the minutes and sends them
    site.move_clock(DAY_AFTER)
    chef = open_profile(browser, site, browsers)
    sign_in(chef, site, CHEF)
    chef.goto(page_path)
    chef.get_by_role("link", name="Skriv protokollet").click()
    chef.wait_for_url(f"{site.url}{page_path}/protokoll")
    found["the minutes' form"] = _axe(chef)
    chef.get_by_role("group", name=re.compile("^Eva Lind")).get_by_label("På distans").check()
    chef.get_by_role("group", name=re.compile("^Johan Ek")).get_by_label("Frånvarande").check()
    greta = chef.get_by_role("group", name=re.compile("^Greta Öhman"))
    greta.get_by_label("Närvarande").check()
    greta.get_by_label("Tjänstgör för").select_option(ABSENT)
    justerare = chef.get_by_role("group", name=re.compile("^Justerare"))
    justerare.get_by_label("Lars Berg").check()
    justerare.get_by_label("Eva Lind").check()
    chef.get_by_label(re.compile("Förbundschefen informerar$")).fill(TOLD)
    chef.get_by_role("button", name="Spara och skicka till justerarna").click()
    chef.get_by_role("status").filter(has_text="skickat till justerarna").wait_for()
    site.finsam("outbox", "send")

    # the first justerare reads the draft from his mail's link and asks for a change
    vice = open_profile(browser, site, browsers)
    _log_in(vice, site, _signin_link(_newest(site, VICE, "att justera")), f"{page_path}/justering")
    assert "Greta Öhman (ersättare, tjänstgör för Johan Ek)" in vice.content()
    found["the justering page"] = _axe(vice)
    vice.get_by_label(re.compile("^Vad ska ändras")).fill(CHANGE)
    vice.get_by_role("button", name="Begär ändring").click()
    vice.get_by_role("status").filter(has_text="skickad till förbundschefen").wait_for()
    site.finsam("outbox", "send")

    # the förbundschef revises from the link in the change's mail and sends utkast 2
    change = _newest(site, CHEF, "Ändring begärd")
    assert CHANGE in _text(change)
    _log_in(chef, site, _signin_link(change), f"{page_path}/protokoll")
    assert CHANGE in chef.content()
    chef.get_by_label(re.compile("Förbundschefen informerar$")).fill(REVISED)
    chef.get_by_role("button", name="Spara och skicka till justerarna").click()
    chef.get_by_role("status").filter(has_text="skickat till justerarna").wait_for()
    site.finsam("outbox", "send")

    # both justera the new draft from their new mails
    member = open_profile(browser, site, browsers)
    for who, page in ((VICE, vice), (MEMBER, member)):
        link = _signin_link(_newest(site, who, "utkast 2"))
        _log_in(page, site, link, f"{page_path}/justering")
        assert REVISED in page.content()
        page.get_by_role("button", name="Justera", exact=True).click()
        page.get_by_role("status").filter(has_text="justera").first.wait_for()
    member.get_by_role("status").filter(has_text="Protokollet är justerat").wait_for()
    found["the justerat protokoll"] = _axe(member)
    with services(site) as app:
        from workflow.cycle import protokoll  # start-up: as above

        done = protokoll.minutes(app, meeting)
    assert done["approved"] and done["intact"] and done["revision"] == 2
    assert [(a["revision"], a["via"]) for a in done["approvals"]] == [(2, "link"), (2, "link")]

    # the public: the notice, the protokoll, its feed; the chair's calendar
    public = open_profile(browser, site, browsers)
    public.goto(f"/{SOS}/anslagstavla")
    found["the anslagstavla"] = _axe(public)
    notice = public.get_by_role("article", name="Styrelsen, sammanträde 21 september 2027")
    assert "Protokollet förvaras" in notice.inner_text()
    notice.get_by_role("link", name="Läs protokollet").click()
    public.wait_for_url(f"{site.url}/{SOS}/protokoll/{meeting}")
    public.get_by_role("heading", level=1, name="Protokoll – Styrelsen").wait_for()
    html = public.content()
    assert REVISED in html and "inloggad med personlig e-postlänk" in html
    assert "@" not in html
    found["the protokoll as published"] = _axe(public)
    atom = feedparser.parse(public.request.get(f"/{SOS}/anslagstavla.atom").body())
    assert atom.entries[0].link == f"{site.url}/{SOS}/protokoll/{meeting}"
    _the_calendar_feed_has_the_invitations_uid(chair, kallelse)
    assert not any(found.values()), "\n".join(f"{k}:\n{v}" for k, v in found.items() if v)


def _the_calendar_feed_has_the_invitations_uid(chair: Any, kallelse: EmailMessage) -> None:
    """The chair's personal feed carries the September meeting with the UID and SEQUENCE
    of the invitation in the kallelse, so a calendar never shows it twice."""
    invitation = next(p for p in kallelse.walk() if p.get_content_type() == "text/calendar")
    invited = Calendar.from_ical(invitation.get_content()).walk("VEVENT")[0]
    chair.goto("/kalender")
    chair.get_by_role("button", name="Skapa en kalenderadress").click()
    address = chair.get_by_label("Adress för Google Kalender").input_value()
    feed = Calendar.from_ical(chair.request.get(address).body())
    events = {str(e["UID"]): e for e in feed.walk("VEVENT")}
    assert str(invited["UID"]) in events
    assert int(events[str(invited["UID"])]["SEQUENCE"]) == int(invited["SEQUENCE"])
