"""A plan's whole path in a real browser: draft to adoption as three people, two browsers
in conflict, and the same path with the keyboard alone.

Each test has a site of its own (`own_site`): its clock is moved the honest way, by
stopping `finsam web` and starting it again at a later FINSAM_NOW (`Site.move_clock`),
for a body acts only at a meeting that has begun. The weeks between the steps are
longer than a session may stay idle by default (8 h): the site's sessions last a
month, everyone signs in (through the mail) in August, and each person's page is
visited at every step. Signing in again after a jump is what a person would do, but
on SQLite it fails today (`test_a_person_signs_in_again_weeks_later`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from browser_site import (
    Site,
    ask,
    focused,
    open_profile,
    sign_in,
    sign_in_all,
    tab_to,
    violations,
    wait_until,
)
from helpers import CHAIR, CHEF, dump

VICE = "lars.berg@skane.example"  # vice ordförande in the presidium
PLAN_TITLE = "Verksamhetsplan och budget 2028"
SUBMIT = "Lämna till presidiet"
PRESIDIUM = "Presidiet föreslår att styrelsen antar planen"
BEREDNING = "Beredningsgruppen föreslår att styrelsen antar planen"
ADOPT = "Styrelsen antar planen"
# when each body meets in 2027 (the example förbund's calendar), a little after it begins
PRESIDIUM_MEETS = "2027-09-06T11:30"
BEREDNING_MEETS = "2027-09-06T15:00"
BOARD_MEETS = "2027-09-21T16:00"
HISTORY = "Planens rader i förbundets granskningslogg"


def signed_in_page(browser: Any, site: Site, opened: list[Any], email: str) -> Any:
    page = open_profile(browser, site, opened)
    sign_in(page, site, email)
    return page


def action_form(page: Any, label: str) -> Any:
    """The fieldset of one action's form (its legend is the action's label)."""
    return page.get_by_role("group", name=re.compile("^" + re.escape(label)))


def act(page: Any, label: str, comment: str) -> None:
    """Write a comment in the action's form and press its button, with the mouse."""
    form = action_form(page, label)
    form.get_by_label("Kommentar").fill(comment)
    with page.expect_navigation():
        form.get_by_role("button", name=label, exact=True).click()
    page.get_by_role("heading", level=1, name=PLAN_TITLE).wait_for()


def state_of(page: Any) -> str:
    return page.locator("dl.facts dt:text-is('Läge') + dd").inner_text()


def history(page: Any) -> list[tuple[str, ...]]:
    """The plan page's history table: who (role), which action, via which channel, the
    comment."""
    rows = page.get_by_role("table", name=HISTORY).locator("tbody tr")
    cells = rows.evaluate_all("rs => rs.map(r => [...r.cells].map(c => c.innerText.trim()))")
    return [(c[2], c[3], c[6], c[7]) for c in cells]


def web_rows(site: Site) -> list[tuple[str, str, str]]:
    """The plan's audit rows as `finsam audit log --json` prints them, oldest first."""
    page = json.loads(site.finsam("audit", "log", "--plan", str(site.plan_id), "--json").stdout)
    return [(r["action"], r["actor"], r["channel"]) for r in reversed(page["rows"])]


def version_of(site: Site) -> int:
    return json.loads(site.finsam("plan", "show", str(site.plan_id), "--json").stdout)["version"]


@dataclass(frozen=True)
class Step:
    """One step of the path: when (None: in August, as the site starts), who, which
    action (its label), the meeting date its form must offer, and the comment."""

    at: str | None
    who: str
    action: str
    meeting: str | None
    comment: str
    state: str  # the plan's state after the step, as the page names it


PATH = [
    Step(None, CHEF, SUBMIT, None, "Klar för presidiet", "Hos presidiet"),
    Step(
        PRESIDIUM_MEETS,
        VICE,
        PRESIDIUM,
        "2027-09-06",
        "Presidiet föreslår bifall",
        "Hos beredningsgruppen",
    ),
    Step(
        BEREDNING_MEETS,
        CHEF,
        BEREDNING,
        "2027-09-06",
        "Beredningsgruppen tillstyrker",
        "Till styrelsen för beslut",
    ),
    Step(BOARD_MEETS, CHAIR, ADOPT, "2027-09-21", "Styrelsen antar planen", "Antagen"),
]
THE_HISTORY = [
    ("Annika Rasmusson (förbundschef)", "submit", "webben", PATH[0].comment),
    ("Lars Berg (vice ordförande@presidium)", "recommend-adopt", "webben", PATH[1].comment),
    ("Annika Rasmusson (ordförande@beredningsgrupp)", "recommend-adopt", "webben", PATH[2].comment),
    ("Karin Holm (ordförande@styrelse)", "adopt", "webben", PATH[3].comment),
]
THE_ROWS = [
    ("submit", CHEF, "web"),
    ("recommend-adopt", VICE, "web"),
    ("recommend-adopt", CHEF, "web"),
    ("adopt", CHAIR, "web"),
]


def test_a_plan_from_draft_to_adoption_as_three_people(
    browser: Any, browsers: list[Any], own_site: Site
) -> None:
    """The förbundschef submits in August; at the presidium's meeting its vice
    ordförande recommends, choosing the meeting the form offers; at the
    beredningsgrupp's the förbundschef recommends; at the board's the ordförande
    adopts with the § the agenda gives. Every form acted on, and the adopted plan,
    passes axe."""
    site, plan = own_site, f"/plans/{own_site.plan_id}"
    pages = {who: open_profile(browser, site, browsers) for who in (CHEF, VICE, CHAIR)}
    sign_in_all(site, pages)  # in August: sessions outlast the weeks (see `own_site`)
    found: dict[str, str] = {}
    paragraph = ""
    for step in PATH:
        if step.at:
            site.move_clock(step.at)
        page = pages[step.who]
        page.goto(plan)
        form = action_form(page, step.action)
        if step.meeting:
            chosen = form.get_by_label("Möte").locator("option:checked").inner_text()
            assert chosen.startswith(step.meeting), (step.action, chosen)
        if step.action == ADOPT:
            paragraph = form.get_by_label("Paragraf (§)").input_value()
            assert re.fullmatch(r"\d+", paragraph), f"the § is not prefilled: {paragraph!r}"
        if step.meeting:  # the submit form is the draft's page, checked in test_accessibility
            found[f"{step.action}, the form"] = violations(page)
        act(page, step.action, step.comment)
        assert state_of(page) == step.state
        for other in pages.values():  # everyone sees it (and a visit keeps a session alive)
            if other is not page:
                other.goto(plan)
                assert state_of(other) == step.state

    chair = pages[CHAIR]
    assert chair.get_by_text(f"Antagen 2027-09-21, § {paragraph}").is_visible()
    assert history(chair)[1:] == THE_HISTORY  # the first row: the plan's creation
    found["the adopted plan"] = violations(chair)
    assert web_rows(site)[1:] == THE_ROWS
    site.finsam("audit", "verify")  # exits 0: the chain is intact and agrees with the plan
    assert not any(found.values()), "\n".join(f"{k}:\n{v}" for k, v in found.items() if v)


def test_the_second_browser_gets_the_conflict_page(
    browser: Any, browsers: list[Any], own_site: Site
) -> None:
    """One person in two browsers, both on the plan's page: the first submits; the
    second's form (now stale) is answered 409 naming who moved the plan, and nothing
    of the second's is written."""
    site, plan = own_site, f"/plans/{own_site.plan_id}"
    first = signed_in_page(browser, site, browsers, CHEF)
    second = signed_in_page(browser, site, browsers, CHEF)
    first.goto(plan)
    second.goto(plan)
    act(first, SUBMIT, "Från den första webbläsaren")
    assert state_of(first) == "Hos presidiet"
    version, before = version_of(site), dump(site.database_url)

    form = action_form(second, SUBMIT)
    form.get_by_label("Kommentar").fill("Från den andra webbläsaren")
    with second.expect_response(lambda r: r.request.method == "POST") as answer:
        form.get_by_role("button", name=SUBMIT, exact=True).click()
    assert answer.value.status == 409
    second.get_by_role("heading", level=1, name="Någon hann före").wait_for()
    message = second.locator("main").inner_text()
    assert "Annika Rasmusson" in message and "submit" in message, message
    assert version_of(site) == version
    assert dump(site.database_url) == before
    report = violations(second)
    assert not report, report


def test_the_path_with_the_keyboard_alone(
    browser: Any, browsers: list[Any], own_site: Site
) -> None:
    """The same path without a mouse: Tab, Shift+Tab, Enter, Space and typing. Each
    person asks for a link and signs in by the keyboard; from the desk they go to the
    plan, into their action's form (the meeting and the § already chosen), write a
    comment and press the button. Only the mailed link is opened by its address."""
    site = own_site
    pages = {who: open_profile(browser, site, browsers) for who in (CHEF, VICE, CHAIR)}
    before = {who: site.queued_signins(who) for who in pages}
    for who, page in pages.items():
        keyboard_ask(page, who)
    for who, link in site.deliver_links(before).items():
        keyboard_confirm(pages[who], site, link)
    for step in PATH:
        if step.at:
            site.move_clock(step.at)
        page = pages[step.who]
        page.goto("/")
        page.get_by_role("heading", name="Mina förbund").wait_for()
        tab_to(page, "A", PLAN_TITLE, most=20)
        page.keyboard.press("Enter")
        page.get_by_role("heading", level=1, name=PLAN_TITLE).wait_for()
        keyboard_act(page, step)
        assert state_of(page) == step.state
        for other in pages.values():  # a visit keeps the others' sessions alive
            if other is not page:
                other.goto(f"/plans/{site.plan_id}")
    assert history(pages[CHAIR])[1:] == THE_HISTORY


def keyboard_ask(page: Any, email: str) -> None:
    """Ask for a sign-in link with Tab, typing and Enter."""
    keys = page.keyboard
    page.goto("/signin")
    keys.press("Tab")
    assert focused(page) == ("A", "Till innehållet")
    tab_to(page, "INPUT")
    keys.type(email)
    keys.press("Tab")
    assert focused(page) == ("BUTTON", "Skicka inloggningslänk")
    keys.press("Enter")
    page.get_by_role("heading", name="Kolla din e-post").wait_for()


def keyboard_confirm(page: Any, site: Site, link: str) -> None:
    """Open the mailed link (by its address) and press "Logga in" with Space."""
    page.goto(link)
    tab_to(page, "BUTTON", "Logga in")
    page.keyboard.press("Space")
    page.wait_for_url(f"{site.url}/")


def keyboard_act(page: Any, step: Step) -> None:
    """Tab into the action's form, check what it offers, write the comment, go back
    with Shift+Tab to see the comment is there, and press the button with Enter."""
    keys = page.keyboard
    for _ in range(30):
        keys.press("Tab")
        if in_form(page) == step.action:
            break
    else:
        raise AssertionError(f"Tab never reached the form {step.action!r}")
    while focused(page)[0] != "TEXTAREA":  # the meeting, the § when a decision
        tag, shown = field(page)
        if tag == "SELECT":
            assert step.meeting and shown.startswith(step.meeting), (step.action, shown)
        else:
            assert (tag, step.action) == ("INPUT", ADOPT) and re.fullmatch(r"\d+", shown), shown
        keys.press("Tab")
        assert in_form(page) == step.action, "Tab left the form before its comment"
    keys.type(step.comment)
    keys.press("Tab")
    assert focused(page) == ("BUTTON", step.action)
    keys.press("Shift+Tab")
    assert focused(page) == ("TEXTAREA", step.comment)
    keys.press("Tab")
    with page.expect_navigation():
        keys.press("Enter")
    page.get_by_role("heading", level=1, name=PLAN_TITLE).wait_for()


def in_form(page: Any) -> str | None:
    """The action (its label) of the form the focus is in, None outside every form."""
    return page.evaluate(
        "() => { const f = document.activeElement.closest('form.action');"
        " return f ? f.querySelector('button[type=submit]').innerText.trim() : null; }"
    )


def field(page: Any) -> tuple[str, str]:
    """The focused field's tag and what it shows (a list's chosen option's text)."""
    tag, shown = page.evaluate(
        "() => { const e = document.activeElement; return [e.tagName,"
        " e.tagName === 'SELECT' ? e.selectedOptions[0].text : e.value]; }"
    )
    return tag, shown


def test_a_person_signs_in_again_weeks_later(
    browser: Any, browsers: list[Any], own_site: Site
) -> None:
    """A link asked for weeks after the last one (every earlier link purged) is mailed."""
    site = own_site
    page = open_profile(browser, site, browsers)
    ask(page, CHEF)  # a link in August, its mail queued
    wait_until(lambda: site.queued_signins(CHEF), "the web to queue the mail")
    site.move_clock(PRESIDIUM_MEETS)  # the old server's log is complete once it stopped
    seen = len(signin_outcomes(site))
    ask(page, VICE)
    outcomes = wait_until(
        lambda: signin_outcomes(site)[seen:], "the web to log what became of the request"
    )
    assert outcomes == ["queued"]
    page.goto(site.deliver_link(VICE, 0))
    page.get_by_role("button", name="Logga in", exact=True).click()
    page.wait_for_url(f"{site.url}/")


def signin_outcomes(site: Site) -> list[str]:
    """What became of each request for a sign-in link, as `finsam web` logged it."""
    lines = (json.loads(line) for line in site.log.read_text().splitlines() if line[:1] == "{")
    return [e.get("outcome", "") for e in lines if e.get("event") == "signin-request"]
