"""The year's meetings as an iCalendar file for everyone's calendar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workflow import agenda, forbunds, meetings, plan_meetings
from workflow.bootstrap import App
from workflow.db import UnitOfWork
from workflow.exceptions import UsageError
from workflow.models import Meeting


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
    events = []
    with UnitOfWork(app.engine) as uow:
        s = uow.session
        assert s is not None
        cfg = forbunds.config_of(forbunds.resolve(s, forbund_key))
        for m in rows:
            summary = f"{m['body_name']}: {m['theme']}" if m["theme"] else m["body_name"]
            if m["kind"] == "prep":
                summary = f"{m['body_name']}: beredning inför styrelsen"
            meeting = s.get(Meeting, m["id"])
            assert meeting is not None
            description = agenda.as_text(plan_meetings.agenda_of(s, meeting, cfg))
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
