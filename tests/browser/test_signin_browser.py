"""Signing in and out in a real browser, through a link a real SMTP server received.

Each test is a fresh browser profile; the people differ between tests so the
per-address limit on links (five in fifteen minutes, and the clock stands still)
is never what a test runs into.
"""

from __future__ import annotations

from typing import Any

from browser_site import Site, ask_for_link, focused, sign_in, tab_to
from helpers import CHAIR, CHEF, MEMBER


def test_a_person_signs_in_by_the_mailed_link_and_out_again(page: Any, site: Site) -> None:
    sign_in(page, site, CHEF)
    assert page.get_by_text("Inloggad som Annika Rasmusson").is_visible()
    plan = page.get_by_role("link", name="Verksamhetsplan")
    assert plan.count() >= 1 and plan.first.get_attribute("href") == f"/plans/{site.plan_id}"
    page.get_by_role("button", name="Logga ut", exact=True).click()
    page.wait_for_url(f"{site.url}/signin")
    assert "finsam_session" not in {c["name"] for c in page.context.cookies()}
    # the session is over: the desk sends the browser back to the sign-in page
    page.goto("/")
    assert page.url == f"{site.url}/signin"
    assert page.get_by_role("heading", name="Logga in").is_visible()


def test_a_link_signs_in_once(page: Any, site: Site) -> None:
    """The mailed link, opened again after it was used (the back button, a second
    click in the mail), is refused with a page that says so, not a second session."""
    link = ask_for_link(page, site, MEMBER)
    page.goto(link)
    page.get_by_role("button", name="Logga in", exact=True).click()
    page.wait_for_url(f"{site.url}/")
    answer = page.goto(link)
    assert answer is not None and answer.status == 400
    assert "Inloggad som Eva Lind" in page.content()


def test_signing_in_with_the_keyboard_alone(page: Any, site: Site) -> None:
    """Tab and Enter only: the skip link first, then the menu, the field and the button;
    the confirm page's button is reached the same way."""
    keys = page.keyboard
    before = site.queued_signins(CHAIR)
    page.goto("/signin")
    keys.press("Tab")
    assert focused(page) == ("A", "Till innehållet")
    tab_to(page, "INPUT")
    keys.type(CHAIR)
    keys.press("Tab")
    assert focused(page) == ("BUTTON", "Skicka inloggningslänk")
    keys.press("Enter")
    page.get_by_role("heading", name="Kolla din e-post").wait_for()
    link = site.deliver_link(CHAIR, before)
    page.goto(link)
    tab_to(page, "BUTTON")
    assert focused(page) == ("BUTTON", "Logga in")
    keys.press("Enter")
    page.wait_for_url(f"{site.url}/")
    assert page.get_by_text("Inloggad som Karin Holm").is_visible()
    # and out again, still without a mouse: the first button on the page is "Logga ut"
    tab_to(page, "BUTTON")
    assert focused(page) == ("BUTTON", "Logga ut")
    keys.press("Enter")
    page.wait_for_url(f"{site.url}/signin")
