"""Databases of many förbund and many years, for the web's statement counts and bench/web.py.

Every förbund is Sydöstra Skåne's file under another key, with every address
moved to a domain of its own (`karin.holm@ystad.f07.example`), so nobody is in
two förbund. Each förbund gets, per year, its meetings and one plan submitted to
the presidium (on its agenda), and, when asked for, two insatser
(`with_insatser`) with their report obligations, so the later years have data
like the first.
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


INSATSER = ("Mariamottagningen", "Unga vuxna")


def leader_of(key: str, n: int = 0) -> str:
    """The project leader of the förbund's `n`th insats (each leads one insats only)."""
    return f"ledare{n}@{key}.example"


def with_insatser(app: Any, keys: list[str]) -> None:
    """Each förbund's two insatser, running since 2019, a budget every year."""
    from datetime import date

    from workflow.reports import insatser

    for key in keys:
        for n, name in enumerate(INSATSER):
            insatser.add(
                app,
                key,
                actor_email=chef_of(key),
                name=name,
                owner="region-skane",
                start=date(2019, 1, 1),
                leader_name=f"Ledare {n}",
                leader_email=leader_of(key, n),
                budget={y: 1000 + 100 * n for y in range(2019, 2031)},
            )


def year_of_work(
    app: Any, clock: Any, keys: list[str], year: int, reports: bool = False
) -> dict[str, int]:
    """The year's meetings of each förbund, its reports owed and its plan, submitted; the
    plans' ids. One förbund after the other at the same instants: the trail's times
    never go back."""
    from workflow.cycle import meetings
    from workflow.plans import services as plans
    from workflow.plans.content import Content
    from workflow.reports import obligations

    clock.set(datetime(year, 1, 2, 9, tzinfo=UTC))
    for key in keys:
        meetings.generate(app, key, year, actor_email=chef_of(key))
        if reports:
            obligations.generate(app, key, year, actor_email=chef_of(key))
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


def build(
    app: Any,
    clock: Any,
    forbund: int,
    years: list[int],
    now: datetime,
    reports: bool = False,
) -> int:
    """`forbund` förbund (Sydöstra Skåne among them) with `years` of work each (and,
    with `reports`, their insatser and report obligations), the clock at `now`; the id
    of Sydöstra Skåne's plan for the last year. Sydöstra Skåne comes last in each year,
    so its current year is built alike whatever else the database holds."""
    keys = [*(other_key(n) for n in range(1, forbund)), SOS]
    register(app, keys)
    if reports:
        with_insatser(app, keys)
    made: dict[str, int] = {}
    for year in years:
        made = year_of_work(app, clock, keys, year, reports)
    clock.set(now)
    return made[SOS]
