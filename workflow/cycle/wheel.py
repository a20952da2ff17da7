"""The årshjul of a stored year, written as SVG."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from workflow.core.app import App
from workflow.core.exceptions import UsageError
from workflow.core.files import write_output
from workflow.core.uow import read
from workflow.cycle import meetings
from workflow.cycle.views import WheelExport
from workflow.forbund import registry as forbunds


def write(app: App, forbund_key: str | None, year: int, path: Path) -> WheelExport:
    from notifications.wheel import svg  # start-up: loaded only when drawing

    rows = meetings.list_meetings(app, forbund_key, year)
    if not rows:
        raise UsageError(
            f"no meetings stored for {year}",
            f"generate them first: finsam cycle generate --year {year} --as EMAIL",
        )
    with read(app) as uow:
        cfg = forbunds.config_of(forbunds.resolve(uow.session, forbund_key))
    used = {m["body"] for m in rows}
    order = {"styrelse": 0, "presidium": 1, "beredningsgrupp": 2, "llg": 2, "medlemssamråd": 3}
    bodies = sorted(
        ((b.key, b.name) for b in cfg.bodies if b.key in used),
        key=lambda kb: order.get(next(b.kind for b in cfg.bodies if b.key == kb[0]), 9),
    )
    # the drawing takes meetings as plain dicts
    text = svg(
        f"Årshjul {year} – {cfg.forbund.name}", year, cast(list[dict[str, Any]], rows), bodies
    )
    if path.suffix.lower() != ".svg":
        raise UsageError(f"{path}: the årshjul is written as SVG", "give a path ending in .svg")
    write_output(path, text)
    return {"path": str(path), "meetings": len(rows), "bodies": [k for k, _ in bodies]}
