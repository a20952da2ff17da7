"""`finsam outbox ...` through the CLI: queue, send, list, show, retry, bad input, and
what `send` says about messages another deliverer holds."""

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
        # the reminder and the mail of the reports owed since they were generated
        assert "sent 2," in finsam("outbox", "send").stdout
        assert len(sink.received) == 2
    sent = json.loads(finsam("outbox", "list", "--state", "sent", "--json").stdout)
    rows = [r for r in sent["messages"] if r["kind"] == "reminder"]
    assert rows[0]["subject"] == (
        "Årsberättelse 2027 för Mariamottagningen ska lämnas senast 22 februari 2027"
    )
    shown = json.loads(finsam("outbox", "show", str(rows[0]["id"]), "--json").stdout)
    assert "Subject: =?utf-8?q?=C3=85rsber=C3=A4ttelse" in shown["raw"]
    assert shown["attempts_log"][0]["outcome"] == "sent"
    assert shown["accepted"] == ["sofia.ek@skane.example"]


def test_unreachable_server_exits_non_zero_and_keeps_the_message(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    finsam("outbox", "queue")
    monkeypatch.setenv("FINSAM_MAIL_URL", f"smtp://127.0.0.1:{free_port()}")
    # the reminder and the mail of the reports owed
    assert "retry later 2" in finsam("outbox", "send", code=1).stdout
    queued = json.loads(finsam("outbox", "list", "--state", "queued", "--json").stdout)
    assert queued["next"] is None  # one page holds them
    assert len(queued["messages"]) == 2 and all(m["last_error"] for m in queued["messages"])


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


def test_send_says_what_another_deliverer_holds(db: str) -> None:
    """Rows under another deliverer's unexpired claim are left alone, and the output says so."""
    from datetime import timedelta

    from workflow.bootstrap import bootstrap
    from workflow.core.clock import FixedClock, parse_instant
    from workflow.mail import delivery as outbox

    finsam("outbox", "queue")
    app = bootstrap(db, FixedClock(parse_instant("2027-02-15T08:00")))
    try:
        # the reminder and the mail of the reports owed
        assert len(outbox.claim(app, 10, "elsewhere:4242", timedelta(seconds=300))) == 2
    finally:
        app.engine.dispose()
    before = dump(db)
    assert finsam("outbox", "send").stdout == (
        "sent 0, retry later 0, failed 0, skipped 0\n"
        "2 messages are being sent by elsewhere:4242 until 08:05:00; they are not sent again now\n"
    )
    data = json.loads(finsam("outbox", "send", "--json").stdout)
    assert data == {
        "sent": 0,
        "transient": 0,
        "failed": 0,
        "skipped": 0,
        "lost": 0,
        "held": [{"by": "elsewhere:4242", "messages": 2, "until": "2027-02-15T07:05:00+00:00"}],
    }
    assert dump(db) == before
