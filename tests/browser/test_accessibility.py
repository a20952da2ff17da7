"""axe-core on every page a visitor can reach: no violation of WCAG 2.1 A or AA.

The axe-core that runs is the one `axe-playwright-python` ships (nothing is
fetched); the rules are those tagged for WCAG 2.0 and 2.1 levels A and AA. Each
page is checked as it is served, at a desktop width and at a phone's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser_site import Site, ask_for_link, violations
from helpers import CHEF, MEMBER

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def anonymous(context: Any) -> Iterator[Any]:
    yield context.new_page()


@pytest.fixture
def member(signed_in: Callable[[str], Any]) -> Iterator[Any]:
    ctx = signed_in(CHEF)
    yield ctx.new_page()
    ctx.close()


def visit(page: Any, path: str, status: int) -> None:
    answer = page.goto(path)
    assert answer is not None and answer.status == status, (path, answer and answer.status)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_anonymous_pages_pass_axe(anonymous: Any, site: Site, width: str) -> None:
    page = anonymous
    if width == "phone":
        page.set_viewport_size(PHONE)
    found: dict[str, str] = {}
    visit(page, "/signin", 200)
    found["/signin"] = violations(page)
    visit(page, "/signin/" + "A" * 43, 400)
    found["a used or wrong link"] = violations(page)
    visit(page, "/no/such/page", 404)
    found["404"] = violations(page)
    visit(page, "/", 200)  # the desk sends a stranger to the sign-in page
    assert page.url == f"{site.url}/signin"
    if width == "desktop":  # asking for a link counts against the limits: once is enough
        link = ask_for_link(page, site, MEMBER)
        found["the link is on its way"] = _sent_page(page)
        visit(page, link, 200)
        found["the confirm page"] = violations(page)
    assert not any(found.values()), "\n".join(f"{k}:\n{v}" for k, v in found.items() if v)


def _sent_page(page: Any) -> str:
    page.get_by_role("heading", name="Kolla din e-post").wait_for()
    return violations(page)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_signed_in_pages_pass_axe(member: Any, site: Site, width: str) -> None:
    page = member
    if width == "phone":
        page.set_viewport_size(PHONE)
    found: dict[str, str] = {}
    for path, status in [("/", 200), (f"/plans/{site.plan_id}", 200), ("/plans/99999", 404)]:
        visit(page, path, status)
        found[path] = violations(page)
    assert not any(found.values()), "\n".join(f"{k}:\n{v}" for k, v in found.items() if v)
