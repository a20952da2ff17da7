"""The mails of the digital justering: the draft of the minutes to each justerare, and a
justerare's request for a change to the förbundschef, each with a personal link that
signs its reader in and opens the page where they act."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CHAIR, CHEF, MEMBER, advance_to, begin_2027

from workflow.core.models import OutboxMessage
from workflow.core.uow import read
from workflow.cycle import meetings, protokoll
from workflow.identity import signin
from workflow.mail import compose, links, redaction

VICE = "lars.berg@skane.example"  # vice ordförande of the board
LINK = re.compile(r"https?://[^\s\"<>]+/signin/([A-Za-z0-9_-]{43})")
KINDS = ("justering", "minutes_change")


@pytest.fixture
def march(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """The board's March 2027 meeting, the day after it was held."""
    begin_2027(app, clock, tmp_path, monkeypatch)
    found = {m["key"]: m for m in meetings.list_meetings(app, None, 2027)}
    advance_to(clock, "2027-03-17T10:00")
    return int(found["styrelse-2027-03"]["id"] or 0)


@dataclass(frozen=True)
class Mail:
    """An outbox row as read (the session that read it is gone)."""

    kind: str
    key: str
    state: str
    recipients: list[str]
    ref: str | None
    subject: str
    raw: bytes


def _mails(app: Any) -> list[Mail]:
    with read(app) as uow:
        query = sa.select(OutboxMessage).where(OutboxMessage.kind.in_(KINDS))
        return [
            Mail(m.kind, m.key, m.state, list(m.recipients), m.ref, m.subject, bytes(m.raw))
            for m in uow.session.scalars(query.order_by(OutboxMessage.id))
        ]


def _parsed(row: Mail) -> EmailMessage:
    message = message_from_bytes(row.raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _text(row: Mail) -> str:
    return _parsed(row).get_body(("plain",)).get_content()  # type: ignore[union-attr]


def _html(row: Mail) -> str:
    return _parsed(row).get_body(("html",)).get_content()  # type: ignore[union-attr]


def _token(row: Mail) -> str:
    found = LINK.search(_text(row))
    assert found, _text(row)
    return found.group(1)


def _record(app: Any, meeting: int, *, send: bool) -> Any:
    return protokoll.record_minutes(
        app, meeting, [CHAIR, VICE, MEMBER], [VICE, CHAIR], actor_email=CHEF, send=send
    )


def test_sending_the_minutes_mails_each_justerare_a_personal_link(app: Any, march: int) -> None:
    _record(app, march, send=True)
    mails = _mails(app)
    assert [(m.kind, m.state, m.recipients) for m in mails] == [
        ("justering", "queued", [VICE]),
        ("justering", "queued", [CHAIR]),
    ]
    assert {m.key for m in mails} == {
        f"justering:{march}:1:{links.token_sha256(e)[:12]}" for e in (VICE, CHAIR)
    }
    first = mails[0]
    assert first.ref == f"meeting:{march}"
    assert first.subject == "Protokoll att justera: Styrelsen 16 mars 2027"
    text = _text(first)
    assert "Hej Lars Berg," in text and "Styrelsen 16 mars 2027 är klart att justera" in text
    assert "Logga in" in text and "Justera" in text and "Begär ändring" in text
    assert "gäller i 72 timmar och kan användas en gång" in text
    assert "utkast" not in text  # the first draft is just the protokoll
    signed_in = signin.redeem(app, _token(first))
    assert signed_in is not None
    assert (signed_in.email, signed_in.target) == (VICE, f"/moten/{march}/justering")
    assert signin.redeem(app, _token(first)) is None  # once


def test_a_new_draft_mails_the_justerare_again_as_utkast_2(
    app: Any, clock: Any, march: int
) -> None:
    _record(app, march, send=True)
    protokoll.justera(app, march, VICE)
    advance_to(clock, "2027-03-18T09:00")
    _record(app, march, send=True)
    again = [m for m in _mails(app) if m.key.startswith(f"justering:{march}:2:")]
    assert sorted(m.recipients[0] for m in again) == sorted([VICE, CHAIR])
    assert len(_mails(app)) == 4
    assert again[0].subject == "Nytt utkast (utkast 2) att justera: Styrelsen 16 mars 2027"
    text = _text(again[0])
    assert "ett nytt utkast (utkast 2)" in text
    assert "tidigare godkännanden gäller inte längre" in text
    assert "<strong>ett nytt utkast (utkast 2)</strong>" in _html(again[0])


def test_a_change_request_reaches_the_chef_as_text(app: Any, clock: Any, march: int) -> None:
    _record(app, march, send=True)
    advance_to(clock, "2027-03-17T15:00")
    comment = "I § 5 står <script>alert(1)</script>\r\nBcc: x@evil.example"
    protokoll.request_change(app, march, VICE, comment)
    (chef,) = [m for m in _mails(app) if m.kind == "minutes_change"]
    assert chef.key.startswith("minutes_change:") and chef.recipients == [CHEF]
    assert chef.subject == "Ändring begärd i protokollet: Styrelsen 16 mars 2027"
    message = _parsed(chef)
    for name, value in message.items():  # the comment is in no header
        assert "script" not in value and "evil" not in value, name
    assert "Bcc" not in message
    text = _text(chef)
    assert "Lars Berg, justerare, har läst utkast 1" in text
    assert "I § 5 står <script>alert(1)</script>\nBcc: x@evil.example" in text
    html = _html(chef)
    assert "<script>" not in html
    assert "I § 5 står &lt;script&gt;alert(1)&lt;/script&gt;" in html
    signed_in = signin.redeem(app, _token(chef))
    assert signed_in is not None
    assert (signed_in.email, signed_in.target) == (CHEF, f"/moten/{march}/protokoll")


def test_recording_without_sending_mails_nobody(app: Any, march: int) -> None:
    _record(app, march, send=False)
    _record(app, march, send=False)
    assert _mails(app) == []


def test_a_justering_link_is_hidden_once_the_mail_has_gone(app: Any, march: int) -> None:
    _record(app, march, send=True)
    for row in _mails(app):
        token = _token(row)
        hidden = redaction.redact(row.kind, row.raw)
        assert token.encode() not in hidden and redaction.HIDDEN in _text_of(hidden)
        assert redaction.hidden_when(row.kind, "sent")


def _text_of(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.default)
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_draft_left_unrendered_is_not_sent_once_the_minutes_changed(
    app: Any, clock: Any, march: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between the commit and the render leaves drafts; by the time the sweep
    renders them the minutes may have a new revision, whose own mails are the ones to go."""
    with monkeypatch.context() as crashed:
        crashed.setattr(compose, "render_drafts", lambda *a, **k: 0)
        _record(app, march, send=True)
    advance_to(clock, "2027-03-18T09:00")
    _record(app, march, send=False)
    assert compose.render_drafts(app) == 0
    assert [m.state for m in _mails(app)] == ["draft", "draft"]


def test_a_queued_draft_replaced_by_a_newer_one_is_not_sent(
    app: Any, clock: Any, march: int, sink: Any
) -> None:
    """The mail server was away while the förbundschef sent utkast 1 and then utkast 2:
    only utkast 2 reaches the justerare; utkast 1's mails are skipped, saying why, and
    once the protokoll is justerat nothing about it goes."""
    from workflow.mail import delivery

    _record(app, march, send=True)
    advance_to(clock, "2027-03-18T09:00")
    _record(app, march, send=True)
    assert delivery.send(app)["sent"] == 2
    assert sorted(m.recipients[0] for m in sink.received) == sorted([VICE, CHAIR])
    states = [(m.key.split(":")[2], m.state) for m in _mails(app)]
    assert states == [("1", "skipped"), ("1", "skipped"), ("2", "sent"), ("2", "sent")]
