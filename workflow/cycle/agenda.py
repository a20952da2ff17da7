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

# what the protokoll says under each standing item unless its writer says otherwise;
# `{justerare}` is the justerare's names ("Karin Holm och Eva Lind")
WORDING: dict[str, str] = {
    "Mötets öppnande": "Ordföranden förklarar mötet öppnat.",
    "Val av justerare": "Till justerare väljs {justerare}.",
    "Godkännande av dagordningen": "Dagordningen godkänns.",
    "Föregående protokoll": "Föregående protokoll läggs till handlingarna.",
    "Ekonomisk rapport": "Den ekonomiska rapporten läggs till handlingarna.",
    "Förbundschefen informerar": "Informationen läggs till handlingarna.",
    "Övriga frågor": "Inga övriga frågor anmäls.",
    "Mötets avslutande": "Ordföranden förklarar mötet avslutat.",
}
REPORT_WORDING = "Rapporten läggs till handlingarna."
_ASCII = str.maketrans("åäöéü", "aaoeu")


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


def item_key(item: AgendaMatter) -> str:
    """A stable name for an item, which its text in the minutes is kept under: a plan's
    and a report's by their ids, a standing item's by its title (`standing-motets-oppnande`),
    so a § keeps its text when an item before it comes or goes."""
    if item["kind"] == "plan":
        return f"plan-{item.get('plan')}"
    if item["kind"] == "report":
        return f"report-{item.get('obligation')}"
    if item["kind"] == "theme":
        return "theme"
    slug = "".join(c if c.isalnum() else "-" for c in item["title"].lower().translate(_ASCII))
    return "standing-" + "-".join(part for part in slug.split("-") if part)


def names_joined(names: list[str]) -> str:
    """'Karin Holm', 'Karin Holm och Eva Lind', 'A, B och C'."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} och {names[-1]}"


def standard_text(item: AgendaMatter, justerare: list[str]) -> str:
    """The § text an item has unless its writer gives another: the usual wording of a
    standing item, the report's, and none for a plan (its decision follows from the
    trail) or the theme."""
    if item["kind"] == "report":
        return REPORT_WORDING
    if item["kind"] != "standing":
        return ""
    chosen = names_joined(justerare) or "…"  # none chosen yet: the writer will
    return WORDING.get(item["title"], "").replace("{justerare}", chosen)
