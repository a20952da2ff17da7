"""The sign-in mail: Swedish, plain text and HTML, the link as data (escaped in HTML)."""

from __future__ import annotations

import jinja2
import pytest

from notifications.messages import render_parts

CONTEXT = {
    "name": "Karin Holm",
    "forbund": "Samordningsförbundet Sydöstra Skåne",
    "link": "https://finsam.example.se/signin/abc",
    "minutes": 15,
}


def test_the_signin_mail_renders_in_swedish() -> None:
    subject, text, html = render_parts("signin", CONTEXT)
    assert subject == "Din inloggningslänk till finsam (Samordningsförbundet Sydöstra Skåne)"
    assert "https://finsam.example.se/signin/abc" in text and "15 minuter" in text
    assert 'href="https://finsam.example.se/signin/abc"' in html and 'lang="sv"' in html


def test_the_link_and_the_name_are_data_in_the_html() -> None:
    hostile = {**CONTEXT, "name": "<b>Eva</b>", "link": 'https://x.example/"><script>'}
    _, _, html = render_parts("signin", hostile)
    assert "<script>" not in html and "<b>Eva</b>" not in html
    assert "&lt;b&gt;Eva&lt;/b&gt;" in html and "&#34;&gt;&lt;script&gt;" in html


@pytest.mark.parametrize("missing", sorted(CONTEXT))
def test_a_missing_value_fails(missing: str) -> None:
    with pytest.raises(jinja2.UndefinedError):
        render_parts("signin", {k: v for k, v in CONTEXT.items() if k != missing})
