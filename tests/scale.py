"""Databases of many förbund and many years, for the web's statement counts and bench/web.py.

Every förbund is Sydöstra Skåne's file under another key, with every address
moved to a domain of its own (`karin.holm@ystad.f07.example`), so nobody is in
two förbund. Each förbund gets, per year, its meetings and one plan submitted
to the presidium (on its agenda), so the later years have data like the first.
The signed-in person is Sydöstra Skåne's förbundschef, whose current year
looks the same in a database of one förbund and one year as in a big one:
what a page shows does not change, only what lies beside it.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

from helpers import CHEF, SOS_FILE

SOS = "sydostra-skane"


def other_key(n: int) -> str:
    return f"f{n:02d}"


def chef_of(key: str) -> str:
    """The förbundschef's address in förbund `key`."""
    return CHEF if key == SOS else CHEF.replace(".example", f".{key}.example")


def forbund_file(key: str) -> Any:
    """Sydöstra Skåne's file as förbund `key`, its people at addresses of their own."""
    from workflow.forbund.file import parse_forbund

    text = SOS_FILE.read_text(encoding="utf-8")
    if key != SOS:
        text = text.replace(f'key = "{SOS}"', f'key = "{key}"', 1)
        text = text.replace('.example"', f'.{key}.example"')
    data = tomllib.loads(text)
    if key != SOS:
        data["forbund"]["name"] = f"Samordningsförbundet {key.upper()}"
    return parse_forbund(data, f"{SOS_FILE} as {key}")


def register(app: Any, keys: list[str]) -> None:
    from workflow.forbund import registry

    for key in keys:
        registry.register(app, forbund_file(key))


def year_of_work(app: Any, clock: Any, keys: list[str], year: int) -> dict[str, int]:
    """The year's meetings of each förbund and its plan, submitted; the plans' ids.
    One förbund after the other at the same instants: the trail's times never go back."""
    from workflow.cycle import meetings
    from workflow.plans import services as plans
    from workflow.plans.content import Content

    clock.set(datetime(year, 1, 2, 9, tzinfo=UTC))
    for key in keys:
        meetings.generate(app, key, year, actor_email=chef_of(key))
    clock.set(datetime(year, 1, 12, 9, tzinfo=UTC))
    made = {}
    for key in keys:
        made[key] = pid = plans.create(
            app,
            forbund_key=key,
            year=year,
            last_year=None,
            title=f"Verksamhetsplan {year}",
            actor_email=chef_of(key),
            content=Content(f"# Verksamhetsplan {year}\n\nText.\n", "markdown"),
        )["id"]
        plans.move(app, pid, "submit", actor_email=chef_of(key))
    return made


def build(app: Any, clock: Any, forbund: int, years: list[int], now: datetime) -> int:
    """`forbund` förbund (Sydöstra Skåne among them) with `years` of work each, the
    clock at `now`; the id of Sydöstra Skåne's plan for the last year. Sydöstra
    Skåne comes last in each year, so its current year is built alike whatever
    else the database holds."""
    keys = [*(other_key(n) for n in range(1, forbund)), SOS]
    register(app, keys)
    made: dict[str, int] = {}
    for year in years:
        made = year_of_work(app, clock, keys, year)
    clock.set(now)
    return made[SOS]
