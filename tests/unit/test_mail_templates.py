"""Every mail template renders with its context, and a missing value fails loudly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import jinja2
import pytest

from notifications.messages import build, render_parts

MEETING = {
    "body_name": "Styrelsen",
    "date": "2027-11-23",
    "time": "14:00",
    "end": "16:00",
    "location": "Sjöbo kommun",
    "theme": "Beslut",
    "sequence": 0,
    "kind": "board",
}
CONTEXTS = {
    "reminder": {
        "greeting": "Sofia",
        "report": "Tertialrapport 1 2027",
        "insats": "Mariamottagningen",
        "period": "2027-01-01 – 2027-04-30",
        "due": date(2027, 4, 19),
        "days_left": 3,
        "days_late": 0,
        "meeting": date(2027, 5, 11),
        "comment": None,
        "chef": "Annika",
        "forbund": "Samordningsförbundet Sydöstra Skåne",
        "link": "https://finsam.example/signin/" + "x" * 43,
        "hours": 72,
        "copy_of": None,
    },
    "returned": {
        "greeting": "Sofia",
        "insats": "Mariamottagningen",
        "reports": [
            {
                "name": "Tertialrapport 1 2027",
                "period": "2027-01-01 – 2027-04-30",
                "due": date(2027, 4, 19),
                "meeting": date(2027, 5, 11),
            }
        ],
        "comment": "Siffrorna för män saknas.",
        "link": "https://finsam.example/signin/" + "x" * 43,
        "hours": 72,
        "chef": "Annika",
        "forbund": "SÖS",
    },
    "owed": {
        "greeting": "Sofia",
        "insats": "Mariamottagningen",
        "reports": [
            {
                "name": "Årsberättelse 2027",
                "period": "2026-01-01 – 2026-12-31",
                "due": date(2027, 3, 1),
                "meeting": None,
            },
            {
                "name": "Tertialrapport 1 2027",
                "period": "2027-01-01 – 2027-04-30",
                "due": date(2027, 4, 19),
                "meeting": date(2027, 5, 11),
            },
        ],
        "comment": None,
        "link": "https://finsam.example/signin/" + "x" * 43,
        "hours": 72,
        "chef": "Annika",
        "forbund": "SÖS",
    },
    "arrival": {
        "plan_title": "Verksamhetsplan 2028",
        "revision": 2,
        "body": "Presidiet",
        "meeting_date": date(2027, 11, 8),
        "meeting_time": "10:00",
        "location": None,
        "comment": None,
        "forbund": "SÖS",
    },
    "decision": {
        "forbund": "SÖS",
        "body": "Styrelsen",
        "meeting_date": date(2027, 11, 23),
        "paragraph": "52",
        "plan_title": "Verksamhetsplan 2028",
        "decision": "att anta planen",
        "reason": None,
        "approved": date(2027, 11, 26),
        "appeal_ends": date(2027, 12, 17),
        "attached": True,
        "member": "Ystads kommun",
        "chef": "Annika",
        "anslagstavla": "https://finsam.example/sos/anslagstavla",
    },
    "cycle": {"chef": "Annika", "forbund": "SÖS", "year": 2028},
    "notice": {
        "forbund": "SÖS",
        "meeting": MEETING,
        "date": date(2027, 11, 23),
        "called": [{"name": "Karin", "role": "ordförande", "member": "Ystad"}],
        "items": [{"number": 1, "title": "Mötets öppnande", "kind": "standing"}],
        "documents": [],
        "overviews": [],
        "sender": "Annika",
        "method": "REQUEST",
    },
}


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_every_mail_template_renders(kind: str) -> None:
    subject, text, html = render_parts(kind, CONTEXTS[kind])
    assert subject and "\n" not in subject
    assert text.strip() and html.lstrip().startswith(("<!DOCTYPE html>", "<"))
    built = build(
        sender="SÖS <kansli@sos.example>",
        reply_to=None,
        to=["a@b.example"],
        cc=None,
        subject=subject,
        text=text,
        html=html,
        when=datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert built.message_id.endswith("@sos.example>")
    assert b"Content-Type: text/plain" in built.raw and b"Content-Type: text/html" in built.raw


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_a_missing_value_fails(kind: str) -> None:
    context = dict(CONTEXTS[kind])
    context.pop(next(iter(context)))
    with pytest.raises(jinja2.UndefinedError):
        render_parts(kind, context)


def test_cancel_notice() -> None:
    subject, text, _ = render_parts("notice", {**CONTEXTS["notice"], "method": "CANCEL"})
    assert subject == "Inställt: Styrelsen 23 november 2027"
    assert "är inställt" in text
