"""Screenshots of the desk and the plan page, at a desktop's width and a phone's, saved
in the test's folder for a person to look at (the assertions are what they show)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser_site import Site
from helpers import CHEF

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_desk_and_the_plan_page_render(
    signed_in: Callable[[str], Any], site: Site, tmp_path: Path, size: str
) -> None:
    ctx = signed_in(CHEF)
    try:
        page = ctx.new_page()
        page.set_viewport_size(SIZES[size])
        page.goto("/")
        plan = page.get_by_role("link", name="Verksamhetsplan och budget 2028").first
        assert plan.is_visible()
        page.screenshot(path=tmp_path / f"desk-{size}.png", full_page=True)
        plan.click()
        page.wait_for_url(f"{site.url}/plans/{site.plan_id}")
        heading = page.get_by_role("heading", level=1)
        assert "Verksamhetsplan och budget 2028" in heading.inner_text()
        # the stylesheet applied (the Content-Security-Policy lets only /static in)
        family = page.evaluate("() => getComputedStyle(document.body).fontFamily")
        assert "system-ui" in family
        if size == "phone":  # nothing wider than the phone: no sideways scrolling
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= SIZES["phone"]["width"], width
        page.screenshot(path=tmp_path / f"plan-{size}.png", full_page=True)
        assert (tmp_path / f"plan-{size}.png").stat().st_size > 0
    finally:
        ctx.close()
