"""The föredragningslista of a meeting: standing items, the plans waiting, the theme.

Kept as plain data so the kallelse, the iCalendar description and the minutes
all list the same items in the same order.
"""

from __future__ import annotations

from workflow.cycle.views import AgendaEntry, AgendaMatter, AgendaPlan, MeetingView, ReceivedReport

STANDING_OPENING = (
    "Mötets öppnande",
    "Val av justerare",
    "Godkännande av dagordningen",
    "Föregående protokoll",
)
STANDING_CLOSING = (
    "Ekonomisk rapport",
    "Förbundschefen informerar",
    "Övriga frågor",
    "Mötets avslutande",
)
PREP_ITEMS = ("Mötets öppnande", "Ärenden inför styrelsens möte", "Övriga frågor")


def items(
    meeting: MeetingView,
    plans: list[AgendaPlan],
    reports: list[ReceivedReport] | None = None,
) -> list[AgendaEntry]:
    """Numbered items; a board meeting has the standing items round its matters."""
    matters: list[AgendaMatter] = []
    # the theme is an item of its own only when no plan on the agenda is what it is about
    # (a board meeting themed "Verksamhetsplan och budget" handles the plan's item)
    if meeting.get("theme") and meeting["kind"] != "prep" and not plans:
        matters.append({"title": meeting["theme"], "kind": "theme"})
    for r in reports or []:
        matters.append({"title": r["title"], "kind": "report", "obligation": r["id"]})
    for p in plans:
        matters.append(
            {
                "title": f"{p['title']} (plan {p['id']}, revision {p['revision']})",
                "kind": "plan",
                "plan": p["id"],
                "action": p.get("action"),
            }
        )
    head: tuple[str, ...]
    tail: tuple[str, ...]
    if meeting["kind"] == "prep":
        head, tail = PREP_ITEMS[:1], PREP_ITEMS[2:]
        if not plans and not reports:
            matters = [*matters, {"title": PREP_ITEMS[1], "kind": "standing"}]
    else:
        head, tail = STANDING_OPENING, STANDING_CLOSING
    opening: list[AgendaMatter] = [{"title": t, "kind": "standing"} for t in head]
    closing: list[AgendaMatter] = [{"title": t, "kind": "standing"} for t in tail]
    out = opening + matters + closing
    return [{"number": i, **item} for i, item in enumerate(out, 1)]


def as_text(agenda: list[AgendaEntry]) -> str:
    return "Föredragningslista\n" + "\n".join(f"{a['number']}. {a['title']}" for a in agenda)
