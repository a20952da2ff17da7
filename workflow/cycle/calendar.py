"""The year's meetings as an iCalendar file for everyone's calendar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workflow.core.app import App
from workflow.core.exceptions import UsageError
from workflow.core.files import write_output
from workflow.core.models import Meeting
from workflow.core.uow import read
from workflow.cycle import agenda, meetings
from workflow.cycle import placement as plan_meetings
from workflow.cycle.views import CalendarExport
from workflow.forbund import registry as forbunds


def export(
    app: App, forbund_key: str | None, year: int, path: Path, body: str | None = None
) -> CalendarExport:
    from notifications.ics import calendar_bytes  # start-up: icalendar loads only here

    rows = meetings.list_meetings(app, forbund_key, year, body)
    if not rows:
        raise UsageError(
            f"no meetings stored for {year}",
            f"generate them first: finsam cycle generate --year {year} --as EMAIL",
        )
    events: list[dict[str, Any]] = []
    with read(app) as uow:
        s = uow.session
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
    write_output(path, data)
    return {
        "path": str(path),
        "events": len(events),
        "cancelled": sum(1 for e in events if e["status"] == "cancelled"),
        "bytes": len(data),
    }
