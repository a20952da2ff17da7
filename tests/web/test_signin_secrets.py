"""A sign-in link's token lives no longer than needed: it leaves the stored mail the
moment the mail is settled (sent, skipped or failed), an expired link is not sent,
and `outbox show` never prints a token that still works."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from typing import Any

import pytest
from helpers import CHAIR, CHEF, advance_to, dump, run_cli
from webtools import outbox_rows, token_in

from workflow.identity import signin
from workflow.mail import delivery
from workflow.mail.redaction import HIDDEN

BASE = "https://finsam.example.se"


def _texts(raw: bytes) -> str:
    """Every text part of a stored mail, decoded (a token cannot hide in an encoding)."""
    message = message_from_bytes(raw, policy=policy.default)
    parts = [p for p in message.walk() if p.get_content_maintype() == "text"]
    return "\n".join(p.get_content() for p in parts)  # type: ignore[attr-defined]


def _row(app: Any) -> Any:
    [row] = outbox_rows(app)
    return row


def _state(app: Any, message_id: int) -> tuple[str, str | None]:
    shown = delivery.show(app, message_id)
    return shown["state"], shown["last_error"]


@pytest.fixture
def link(web_app: Any, clock: Any) -> str:
    """A sign-in link queued for the chair at 09:00; its token, read from the queued mail."""
    advance_to(clock, "2027-03-01T09:00")
    assert signin.send_link(web_app, CHAIR, BASE) is not None
    token = token_in(_row(web_app).raw)
    assert token in _texts(_row(web_app).raw)  # waiting to go, the mail holds it
    return token


def test_a_sent_link_leaves_no_token_behind(web_app: Any, sink: Any, link: str) -> None:
    assert delivery.send(web_app)["sent"] == 1
    [mail] = sink.received
    assert token_in(mail.raw) == link  # the person got the working link
    assert signin.valid(web_app, link)
    row = _row(web_app)
    kept = _texts(row.raw)
    assert link not in kept and link not in row.raw.decode("utf-8", "replace")
    assert kept.count(HIDDEN) >= 2  # the text part and the HTML part
    assert message_from_bytes(row.raw, policy=policy.default)["Subject"].startswith(
        "Din inloggningslänk"
    )
    assert _state(web_app, row.id) == ("sent", None)


def test_an_expired_link_is_not_sent(web_app: Any, sink: Any, clock: Any, link: str) -> None:
    advance_to(clock, "2027-03-01T09:15")  # valid 15 minutes: over now
    assert delivery.send(web_app)["skipped"] == 1
    assert sink.received == []
    row = _row(web_app)
    assert _state(web_app, row.id) == ("skipped", "the sign-in link has expired")
    assert link not in _texts(row.raw) and HIDDEN in _texts(row.raw)


def test_a_link_still_valid_goes(web_app: Any, sink: Any, clock: Any, link: str) -> None:
    advance_to(clock, "2027-03-01T09:14")
    assert delivery.send(web_app)["sent"] == 1 and len(sink.received) == 1


def test_a_refused_link_fails_and_forgets_its_token(web_app: Any, sink: Any, link: str) -> None:
    sink.handler.refuse = {CHAIR}
    assert delivery.send(web_app)["failed"] == 1
    row = _row(web_app)
    assert _state(web_app, row.id)[0] == "failed"
    assert link not in _texts(row.raw) and HIDDEN in _texts(row.raw)


def test_a_deferred_link_keeps_its_token_until_it_goes(
    web_app: Any, sink: Any, clock: Any, link: str
) -> None:
    sink.handler.defer = {CHAIR}
    assert delivery.send(web_app)["transient"] == 1
    assert link in _texts(_row(web_app).raw)  # to go again, it must still hold it
    sink.handler.defer = set()
    advance_to(clock, "2027-03-01T09:05")  # past the backoff, within the link's life
    assert delivery.send(web_app)["sent"] == 1
    assert token_in(sink.received[-1].raw) == link
    assert link not in _texts(_row(web_app).raw)


def test_outbox_show_never_prints_a_live_token(
    web_app: Any, link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_DATABASE_URL", web_app.url)
    message_id = str(_row(web_app).id)
    shown = run_cli("outbox", "show", message_id).output
    assert shown.startswith(f"Message {message_id} (queued")
    # the mail as printed (line ends shown as ␍), read back as a mail
    printed = shown.split("\n", 1)[1].replace("␍\n", "\n").encode()
    assert link not in shown and link not in _texts(printed) and HIDDEN in _texts(printed)
    as_json = json.loads(run_cli("outbox", "show", message_id, "--json").output)
    assert link not in as_json["raw"] and HIDDEN in _texts(as_json["raw"].encode())
    assert link in _texts(_row(web_app).raw)  # hidden in the view only: it is still to go


def test_a_signin_message_is_not_retried(
    web_app: Any, sink: Any, link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its token is gone from it: sent again it would carry no link."""
    sink.handler.refuse = {CHAIR}
    delivery.send(web_app)
    monkeypatch.setenv("FINSAM_DATABASE_URL", web_app.url)
    before = dump(web_app.url)
    refused = run_cli("outbox", "retry", str(_row(web_app).id), "--as", CHEF, code=2)
    assert "a sign-in link is never sent again" in refused.stderr
    assert "/signin" in refused.stderr
    assert dump(web_app.url) == before
