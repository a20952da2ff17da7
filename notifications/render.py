"""Rendering documents in Swedish from Jinja2 templates.

Templates live in `notifications/templates/`; a förbund overrides any of them by
putting a file of the same name in the folder named by FINSAM_TEMPLATES. Missing
variables fail loudly (StrictUndefined); HTML is autoescaped; numbers and dates
are formatted by babel, never by hand.
"""

from __future__ import annotations

import functools
import os
from datetime import date
from typing import Any

from markupsafe import Markup

LOCALE = "sv_SE"


def tkr(amount: int | None) -> str:
    """'2 831' with a no-break space, so a number never breaks across lines."""
    if amount is None:
        return ""
    from babel.numbers import format_decimal

    return format_decimal(amount, locale=LOCALE)


def sv_date(value: date | None) -> str:
    """'24 november 2026'."""
    if value is None:
        return ""
    return _sv_date(value)


@functools.lru_cache(maxsize=1024)
def _sv_date(value: date) -> str:
    """Cached: a sweep writes the same few dates into thousands of messages, and babel
    parses its pattern and locale anew for each (a tenth of a reminder's time)."""
    # start-up: babel's dates load only when a date is written
    from babel.dates import format_date

    return format_date(value, "d MMMM y", locale=LOCALE)


def markdown_html(text: str) -> Markup:
    from markdown_it import MarkdownIt

    return Markup(MarkdownIt("commonmark", {"html": False}).enable("table").render(text))


def environment() -> Any:
    """One environment per override folder: Jinja2 then compiles each template once
    (and reloads a changed file by itself), instead of once per message."""
    return _environment(os.environ.get("FINSAM_TEMPLATES") or None)


@functools.lru_cache(maxsize=8)
def _environment(override: str | None) -> Any:
    from jinja2 import (
        ChoiceLoader,
        Environment,
        FileSystemLoader,
        PackageLoader,
        StrictUndefined,
        select_autoescape,
    )

    loaders = [PackageLoader("notifications", "templates")]
    if override:
        loaders.insert(0, FileSystemLoader(override))
    env = Environment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=select_autoescape(
            enabled_extensions=("html", "html.j2", "htm", "xml"), default_for_string=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(tkr=tkr, sv_date=sv_date, markdown=markdown_html)
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)
