"""`finsam outbox ...` through the CLI: queue, send, list, show, retry, bad input."""

from __future__ import annotations

import json

import pytest
from helpers import dump, run_cli
from smtp_sink import Sink, free_port

finsam = run_cli


@pytest.fixture
def db(year_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FINSAM_NOW", "2027-02-15T08:00")
    return year_db


def test_queue_send_list_show(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Queued 1 reminder(s) and 0 kallelse(r)" in finsam("outbox", "queue").stdout
    with Sink() as sink:
        monkeypatch.setenv("FINSAM_MAIL_URL", sink.url)
        assert "sent 1," in finsam("outbox", "send").stdout
        assert len(sink.received) == 1
    rows = json.loads(finsam("outbox", "list", "--state", "sent", "--json").stdout)
    assert rows[0]["subject"] == (
        "Årsberättelse 2027 för Mariamottagningen ska lämnas senast 22 februari 2027"
    )
    shown = json.loads(finsam("outbox", "show", str(rows[0]["id"]), "--json").stdout)
    assert "Subject: =?utf-8?q?=C3=85rsber=C3=A4ttelse" in shown["raw"]
    assert shown["attempts_log"][0]["outcome"] == "sent"


def test_unreachable_server_exits_non_zero_and_keeps_the_message(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    finsam("outbox", "queue")
    monkeypatch.setenv("FINSAM_MAIL_URL", f"smtp://127.0.0.1:{free_port()}")
    assert "retry later 1" in finsam("outbox", "send", code=1).stdout
    queued = json.loads(finsam("outbox", "list", "--state", "queued", "--json").stdout)
    assert len(queued) == 1 and queued[0]["last_error"]


def test_bad_input(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    finsam("outbox", "queue")
    before = dump(db)
    monkeypatch.setenv("FINSAM_MAIL_URL", "smtp//nohost")
    assert finsam("outbox", "send", code=2).stderr.startswith(
        "error: FINSAM_MAIL_URL 'smtp//nohost' is not a mail address finsam knows"
    )
    monkeypatch.setenv("FINSAM_MAIL_URL", "console:")
    assert "unknown message 99" in finsam("outbox", "show", "99", code=2).stderr
    assert "unknown message 99" in finsam("outbox", "retry", "99", code=2).stderr
    assert (
        "--state 'lost' is not known" in finsam("outbox", "list", "--state", "lost", code=2).stderr
    )
    assert dump(db) == before
