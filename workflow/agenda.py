"""The föredragningslista of a meeting: standing items, the plans waiting, the theme.

Kept as plain data so the kallelse, the iCalendar description and the minutes
all list the same items in the same order.
"""

from __future__ import annotations

from typing import Any

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
    meeting: dict[str, Any],
    plans: list[dict[str, Any]],
    reports: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Numbered items; a board meeting has the standing items round its matters."""
    matters: list[dict[str, Any]] = []
    if meeting.get("theme") and meeting["kind"] != "prep":
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
    if meeting["kind"] == "prep":
        head, tail = PREP_ITEMS[:1], PREP_ITEMS[2:]
        if not plans and not reports:
            matters = [*matters, {"title": PREP_ITEMS[1], "kind": "standing"}]
    else:
        head, tail = STANDING_OPENING, STANDING_CLOSING
    out = (
        [{"title": t, "kind": "standing"} for t in head]
        + matters
        + [{"title": t, "kind": "standing"} for t in tail]
    )
    return [{"number": i, **item} for i, item in enumerate(out, 1)]


def as_text(agenda: list[dict[str, Any]]) -> str:
    return "Föredragningslista\n" + "\n".join(f"{a['number']}. {a['title']}" for a in agenda)
