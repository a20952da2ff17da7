"""The calendar page in a real browser: no WCAG 2.1 A/AA violation (axe) before a feed
exists, with the new address shown (at a desktop's width and a phone's), and after
the feed is switched off; the address shown is one a calendar can fetch.

On the shared site (its clock stands still); the person's feed is switched off at
the end, so the site's database is as it was for the other modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from browser_site import Site, violations
from helpers import CHEF

PHONE = {"width": 390, "height": 844}


def test_the_calendar_page_passes_axe(signed_in: Callable[[str], Any], site: Site) -> None:
    ctx = signed_in(CHEF)
    page = ctx.new_page()
    try:
        found: dict[str, str] = {}
        answer = page.goto("/kalender")
        assert answer is not None and answer.status == 200
        found["no feed"] = violations(page)
        page.get_by_role("button", name="Skapa en kalenderadress").click()
        page.get_by_role("heading", name="Din nya kalenderadress").wait_for()
        found["the new address"] = violations(page)
        page.set_viewport_size(PHONE)
        found["the new address on a phone"] = violations(page)
        address = page.get_by_label("Adress för Google Kalender").input_value()
        assert address.startswith(f"{site.url}/kalender/") and address.endswith(".ics")
        feed = page.request.get(address)
        assert feed.status == 200 and feed.headers["content-type"].startswith("text/calendar")
        assert b"BEGIN:VEVENT" in feed.body()
        page.get_by_role("button", name="Stäng av").click()
        page.get_by_role("status").filter(has_text="Kalenderadressen är avstängd").wait_for()
        found["switched off"] = violations(page)
        assert page.request.get(address).status == 404
        assert not any(found.values()), "\n".join(f"{k}:\n{v}" for k, v in found.items() if v)
    finally:
        ctx.close()
