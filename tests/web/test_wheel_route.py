"""The årshjul on the desk: `GET /arshjul/{year}.svg` is the drawing `cycle wheel`
writes, served as an image of the person's own förbund, with nothing in it that
runs; another förbund's, or a year without meetings, is 404."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CHEF, MEMBER, advance_to
from webtools import ALE_CHAIR, client_for, signed_in_client

from web.server import create_app
from workflow.cycle import meetings, wheel

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def year(sqlite_web_app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sydöstra Skåne's 2027 meetings, late August 2027, on SQLite only: the wheel is a
    drawing of what the calendar holds, whichever database holds it."""
    advance_to(clock, "2027-01-10T09:00")
    meetings.generate(sqlite_web_app, "sydostra-skane", 2027, actor_email=CHEF)
    advance_to(clock, "2027-08-20T09:00")
    return sqlite_web_app


def test_the_wheel_is_the_drawing_the_cli_writes(year: Any, tmp_path: Path) -> None:
    answer = signed_in_client(year, CHEF).get("/arshjul/2027.svg")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    assert answer.headers["x-content-type-options"] == "nosniff"
    # the page's policy lets an <img> load it; opened on its own it runs nothing
    policies = answer.headers.get_list("content-security-policy")
    assert any("img-src 'self'" in p for p in policies)
    assert "default-src 'none'; sandbox" in policies
    written = tmp_path / "hjul.svg"
    wheel.write(year, "sydostra-skane", 2027, written)
    assert answer.text == written.read_text(encoding="utf-8")
    assert "Årshjul 2027 – Samordningsförbundet Sydöstra Skåne" in answer.text


def test_a_member_sees_the_same_wheel(year: Any) -> None:
    answer = signed_in_client(year, MEMBER).get("/arshjul/2027.svg?forbund=sydostra-skane")
    assert answer.status_code == 200 and answer.text.startswith("<svg")


@pytest.mark.parametrize(
    ("email", "url"),
    [
        (CHEF, "/arshjul/2027.svg?forbund=ale-kungalv"),  # another förbund's
        (CHEF, "/arshjul/2027.svg?forbund=nobody"),  # no förbund at all
        (ALE_CHAIR, "/arshjul/2027.svg?forbund=sydostra-skane"),
        (ALE_CHAIR, "/arshjul/2027.svg"),  # their own: no meetings stored
        (CHEF, "/arshjul/2031.svg"),  # a year without meetings
        (CHEF, "/arshjul/99999999999999999999999.svg"),  # a year no column holds
    ],
)
def test_what_is_not_mine_or_not_there_is_404(year: Any, email: str, url: str) -> None:
    answer = signed_in_client(year, email).get(url)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "<svg" not in answer.text


def test_signed_out_it_is_the_sign_in_page(year: Any) -> None:
    answer = client_for(create_app(year)).get("/arshjul/2027.svg")
    assert (answer.status_code, answer.headers["location"]) == (303, "/signin")


def test_names_and_themes_cannot_put_markup_in_the_wheel(year: Any) -> None:
    hostile = '<script>alert(1)</script><a href="javascript:x" onload="y">'
    with year.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE meeting SET theme = :t WHERE body = 'styrelse'"), {"t": hostile}
        )
    answer = signed_in_client(year, CHEF).get("/arshjul/2027.svg")
    assert answer.status_code == 200
    root = ET.fromstring(answer.text)  # well-formed: the theme did not break out
    tags = {e.tag.removeprefix(SVG) for e in root.iter()}
    assert tags <= {"svg", "rect", "circle", "line", "text", "title"}
    assert not [a for e in root.iter() for a in e.attrib if a.lower().startswith("on")]
    assert "<script" not in answer.text and "&lt;script&gt;" in answer.text


def test_the_desk_shows_this_years_wheel_with_an_alt_text(year: Any) -> None:
    html = signed_in_client(year, CHEF).get("/").text
    img = re.search(r'<img class="arshjul" src="([^"]+)"[^>]* alt="([^"]+)"', html)
    assert img, html
    src, alt = img.groups()
    assert src == "/arshjul/2027.svg?forbund=sydostra-skane"
    assert alt.startswith("Årshjul 2027 för Samordningsförbundet Sydöstra Skåne")
    assert signed_in_client(year, CHEF).get(src).status_code == 200


def test_no_wheel_on_a_desk_without_meetings(sqlite_web_app: Any) -> None:
    """Nothing to draw: no picture that would not load."""
    html = signed_in_client(sqlite_web_app, CHEF).get("/").text
    assert "/arshjul/" not in html
