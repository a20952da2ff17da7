"""iCalendar (RFC 5545) export of meetings, written to be imported again and again.

Outlook shifts events by an hour when a VTIMEZONE lists its transitions as RDATE
(what generated timezones contain), so Europe/Stockholm is written in the
RRULE form. UIDs are made once per meeting and never change; SEQUENCE rises
with every move or cancellation, and a cancelled meeting is exported as
STATUS:CANCELLED, so a calendar that imports a newer file updates in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

PRODID = "-//finsam//Samordningsförbundets årshjul//SV"


def stockholm_vtimezone() -> Any:
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

    tz = Timezone()
    tz.add("tzid", "Europe/Stockholm")
    summer = TimezoneDaylight()
    summer.add("dtstart", datetime(1970, 3, 29, 2, 0, 0))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    summer.add("tzoffsetfrom", _offset(1))
    summer.add("tzoffsetto", _offset(2))
    summer.add("tzname", "CEST")
    winter = TimezoneStandard()
    winter.add("dtstart", datetime(1970, 10, 25, 3, 0, 0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    winter.add("tzoffsetfrom", _offset(2))
    winter.add("tzoffsetto", _offset(1))
    winter.add("tzname", "CET")
    tz.add_component(summer)
    tz.add_component(winter)
    return tz


def _offset(hours: int) -> Any:
    from datetime import timedelta

    return timedelta(hours=hours)


def calendar_bytes(name: str, meetings: Iterable[dict[str, Any]], stamp: datetime) -> bytes:
    """One VCALENDAR (METHOD:PUBLISH) with a VEVENT per meeting, cancelled ones included."""
    from zoneinfo import ZoneInfo

    from icalendar import Calendar, Event

    tz = ZoneInfo("Europe/Stockholm")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Europe/Stockholm")
    cal.add_component(stockholm_vtimezone())
    for m in meetings:
        start = datetime.fromisoformat(m["starts_at"]).astimezone(tz)
        event = Event()
        event.add("uid", m["uid"])
        event.add("dtstamp", stamp)
        event.add("sequence", m["sequence"])
        event.add("summary", m["summary"])
        event.add("dtstart", start)
        event.add("dtend", start + _minutes(m["duration_minutes"]))
        if m.get("location"):
            event.add("location", m["location"])
        event.add("description", m["description"])
        event.add("status", "CANCELLED" if m["status"] == "cancelled" else "CONFIRMED")
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()


def _minutes(n: int) -> Any:
    from datetime import timedelta

    return timedelta(minutes=n)


def invitation(
    method: str,
    meeting: dict[str, Any],
    summary: str,
    description: str,
    organizer: str,
    attendees: list[tuple[str, str]],
    stamp: datetime,
) -> bytes:
    """A meeting as an invitation (METHOD:REQUEST or CANCEL) with the export's UID and SEQUENCE."""
    from email.utils import parseaddr
    from zoneinfo import ZoneInfo

    from icalendar import Calendar, Event, vCalAddress, vText

    tz = ZoneInfo("Europe/Stockholm")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    cal.add_component(stockholm_vtimezone())
    start = datetime.fromisoformat(meeting["starts_at"]).astimezone(tz)
    event = Event()
    event.add("uid", meeting["uid"])
    event.add("dtstamp", stamp)
    event.add(
        "sequence",
        meeting["sequence"] + (1 if method == "CANCEL" and meeting["status"] != "cancelled" else 0),
    )
    event.add("summary", summary)
    event.add("dtstart", start)
    event.add("dtend", start + _minutes(meeting["duration_minutes"]))
    if meeting.get("location"):
        event.add("location", meeting["location"])
    event.add("description", description)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    name, email = parseaddr(organizer)
    org = vCalAddress(f"mailto:{email}")
    org.params["cn"] = vText(name or email)
    event.add("organizer", org)
    for attendee_name, attendee_email in attendees:
        att = vCalAddress(f"mailto:{attendee_email}")
        att.params["cn"] = vText(attendee_name)
        att.params["role"] = vText("REQ-PARTICIPANT")
        att.params["partstat"] = vText("NEEDS-ACTION")
        att.params["rsvp"] = vText("FALSE")
        event.add("attendee", att, encode=0)
    cal.add_component(event)
    return cal.to_ical()
