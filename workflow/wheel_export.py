"""The årshjul of a stored year, written as SVG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workflow import forbunds, meetings
from workflow.bootstrap import App
from workflow.db import UnitOfWork
from workflow.exceptions import UsageError


def write(app: App, forbund_key: str | None, year: int, path: Path) -> dict[str, Any]:
    from notifications.wheel import svg

    rows = meetings.list_meetings(app, forbund_key, year)
    if not rows:
        raise UsageError(
            f"no meetings stored for {year}",
            f"generate them first: finsam cycle generate --year {year}",
        )
    with UnitOfWork(app.engine) as uow:
        cfg = forbunds.config_of(forbunds.resolve(uow.session, forbund_key))
    used = {m["body"] for m in rows}
    order = {"styrelse": 0, "presidium": 1, "beredningsgrupp": 2, "llg": 2, "medlemssamråd": 3}
    bodies = sorted(
        ((b.key, b.name) for b in cfg.bodies if b.key in used),
        key=lambda kb: order.get(next(b.kind for b in cfg.bodies if b.key == kb[0]), 9),
    )
    text = svg(f"Årshjul {year} – {cfg.forbund.name}", year, rows, bodies)
    if path.suffix.lower() != ".svg":
        raise UsageError(f"{path}: the årshjul is written as SVG", "give a path ending in .svg")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    return {"path": str(path), "meetings": len(rows), "bodies": [k for k, _ in bodies]}
