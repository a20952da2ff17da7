"""The year's meetings as an iCalendar file for everyone's calendar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workflow import agenda, forbunds, meetings
from workflow.bootstrap import App
from workflow.db import UnitOfWork
from workflow.exceptions import UsageError


def export(
    app: App, forbund_key: str | None, year: int, path: Path, body: str | None = None
) -> dict[str, Any]:
    from notifications.ics import calendar_bytes

    rows = meetings.list_meetings(app, forbund_key, year, body)
    if not rows:
        raise UsageError(
            f"no meetings stored for {year}",
            f"generate them first: finsam cycle generate --year {year}",
        )
    with UnitOfWork(app.engine) as uow:
        cfg = forbunds.config_of(forbunds.resolve(uow.session, forbund_key))
    events = []
    for m in rows:
        summary = f"{m['body_name']}: {m['theme']}" if m["theme"] else m["body_name"]
        if m["kind"] == "prep":
            summary = f"{m['body_name']}: beredning inför styrelsen"
        description = agenda.as_text(agenda.items(m, []))
        events.append({**m, "summary": summary, "description": description})
    name = cfg.forbund.name + (f" – {body}" if body else "")
    data = calendar_bytes(f"{name} {year}", events, app.clock.now())
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    return {
        "path": str(path),
        "events": len(events),
        "cancelled": sum(1 for e in events if e["status"] == "cancelled"),
        "bytes": len(data),
    }
