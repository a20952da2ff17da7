"""The public anslagstavla in a real browser, without signing in: axe finds no WCAG 2.1 A
or AA violation on the board or on the protokoll it links to, at a desktop's width and
a phone's.

A site of its own (`own_site`), for the board's May minutes are recorded and justerade
here (through the services the CLI calls, in this process) and another module's site
should not grow a notice it does not expect.
"""

from __future__ import annotations

from typing import Any

from browser_site import WAIT, Site, services, violations
from helpers import CHAIR, CHEF, MEMBER

SOS = "sydostra-skane"
VICE = "lars.berg@skane.example"  # vice ordförande of the board
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 720}


def _justerat_in_may(app: Any) -> int:
    """The board's May meeting, its minutes recorded and justerade by two; its id."""
    # start-up: finsam loads only when a browser is there to use the site
    from workflow.cycle import meetings, protokoll

    may = next(m for m in meetings.list_meetings(app, SOS, 2027) if m["key"] == "styrelse-2027-05")
    protokoll.record_minutes(
        app, may["id"], [CHAIR, VICE, MEMBER, CHEF], [CHAIR, VICE], actor_email=CHEF
    )
    protokoll.justera(app, may["id"], CHAIR)
    protokoll.justera(app, may["id"], VICE)
    return int(may["id"])


def _axe(page: Any) -> str:
    """axe at a desktop's width and at a phone's ('' when both pass)."""
    found = []
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        report = violations(page)
        if report:
            found.append(f"{name}:\n{report}")
    return "".join(found)


def test_the_anslagstavla_and_its_protokoll_pass_axe(browser: Any, own_site: Site) -> None:
    with services(own_site) as app:
        meeting = _justerat_in_may(app)
    ctx = browser.new_context(base_url=own_site.url, locale="sv-SE")
    ctx.set_default_timeout(WAIT * 1000)
    try:
        page = ctx.new_page()
        answer = page.goto(f"/{SOS}/anslagstavla")
        assert answer is not None and answer.status == 200
        found = {"the anslagstavla": _axe(page)}
        notice = page.get_by_role("article", name="Styrelsen, sammanträde 11 maj 2027")
        assert "Protokollet förvaras" in notice.inner_text()
        notice.get_by_role("link", name="Läs protokollet").click()
        page.wait_for_url(f"{own_site.url}/{SOS}/protokoll/{meeting}")
        page.get_by_role("heading", level=1, name="Protokoll – Styrelsen").wait_for()
        assert "@" not in page.content()
        found["the protokoll"] = _axe(page)
    finally:
        ctx.close()
    assert not any(found.values()), "\n".join(f"{k}:\n{v}" for k, v in found.items() if v)
