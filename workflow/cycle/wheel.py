"""The årshjul of a stored year, drawn as SVG: to a file (`cycle wheel`) or in
memory (the desk's `/arshjul/{year}.svg`), the same drawing either way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from workflow.core.app import App
from workflow.core.exceptions import NotFound, UsageError
from workflow.core.files import write_output
from workflow.core.uow import read
from workflow.cycle import meetings
from workflow.cycle.views import WheelExport
from workflow.forbund import registry as forbunds

# the rings from the outside in: the board outermost, the members' council innermost
RING_ORDER = {"styrelse": 0, "presidium": 1, "beredningsgrupp": 2, "llg": 2, "medlemssamråd": 3}


@dataclass(frozen=True)
class Drawing:
    svg: str
    meetings: int
    bodies: list[str]  # the rings' body keys, from the outside in


def draw(app: App, forbund_key: str | None, year: int) -> Drawing:
    """The year's årshjul as SVG text. Every name and theme in it is escaped by the
    drawing (`notifications.wheel`), so it holds no markup of anyone's making and is
    safe to serve as an image. NotFound when the year has no meetings."""
    from notifications.wheel import svg  # start-up: loaded only when drawing

    # a year no meeting can have (also one no database column holds) has none
    rows = meetings.list_meetings(app, forbund_key, year) if year in meetings.YEARS else []
    if not rows:
        raise NotFound(
            f"no meetings stored for {year}",
            f"generate them first: finsam cycle generate --year {year} --as EMAIL",
        )
    with read(app) as uow:
        cfg = forbunds.config_of(forbunds.resolve(uow.session, forbund_key))
    used = {m["body"] for m in rows}
    kinds = {b.key: b.kind for b in cfg.bodies}
    bodies = sorted(
        ((b.key, b.name) for b in cfg.bodies if b.key in used),
        key=lambda kb: RING_ORDER.get(kinds[kb[0]], 9),
    )
    # the drawing takes meetings as plain dicts
    text = svg(
        f"Årshjul {year} – {cfg.forbund.name}", year, cast(list[dict[str, Any]], rows), bodies
    )
    return Drawing(text, len(rows), [k for k, _ in bodies])


def write(app: App, forbund_key: str | None, year: int, path: Path) -> WheelExport:
    """`cycle wheel`: the drawing written to `path` (an .svg)."""
    if path.suffix.lower() != ".svg":
        raise UsageError(f"{path}: the årshjul is written as SVG", "give a path ending in .svg")
    drawing = draw(app, forbund_key, year)
    write_output(path, drawing.svg)
    return {"path": str(path), "meetings": drawing.meetings, "bodies": drawing.bodies}
