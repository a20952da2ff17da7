"""The outbox against a real SMTP server on loopback: reminders, retries, failures, notices."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import CHAIR, CHEF, LEADER, add_maria, advance_to, begin_2027, store_plan_file
from smtp_sink import Handler, Sink

from workflow import meeting_docs, meetings, notify, outbox, plans, reports
from workflow.exceptions import ConfigError


@pytest.fixture
def year(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    begin_2027(app, clock, tmp_path, monkeypatch)
    add_maria(app, contact_name="Per Öhman", contact_email="per.ohman@skane.example")
    return {r["kind"]: r for r in reports.generate(app, None, 2027)}


def test_a_reminder_goes_out_once_at_eight(app: Any, clock: Any, year: Any, sink: Sink) -> None:
    t1 = year["tertial-1"]  # due 2027-04-19
    advance_to(clock, "2027-04-05T07:59")  # 14 days before, a minute before eight
    assert notify.sweep(app)["reminders"] == 1  # the årsberättelse, long overdue
    advance_to(clock, "2027-04-05T08:00")
    assert notify.sweep(app) == {"reminders": 1, "notices": 0}
    assert notify.sweep(app) == {"reminders": 0, "notices": 0}  # idempotent
    assert outbox.send(app) == {"sent": 2, "transient": 0, "failed": 0, "skipped": 0}
    by_subject = {r.message["Subject"]: r for r in sink.received}
    got = by_subject[
        f"{t1['name']} 2027 för Mariamottagningen ska lämnas senast 19 apr. 2027".replace(
            "19 apr. 2027", "19 april 2027"
        )
    ]
    msg = got.message
    assert msg["From"] == "Samordningsförbundet Sydöstra Skåne <kansli@sydostraskane.example>"
    assert msg["To"] == "Sofia Ek <sofia.ek@skane.example>, Per Öhman <per.ohman@skane.example>"
    assert msg["Reply-To"] == "annika.rasmusson@sydostraskane.example"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Om 14 dagar, senast 19 april 2027, ska Tertialrapport 1 2027" in text
    assert "<strong>19 april 2027</strong>" in html
    assert sorted(got.recipients) == ["per.ohman@skane.example", LEADER]
    late = by_subject["Påminnelse: Årsberättelse 2027 för Mariamottagningen är försenad"]
    assert "annika.rasmusson@sydostraskane.example" in late.recipients  # escalation
    # the DST change lies between: the reminder time is still eight o'clock local
    stamp = notify.reminder_time(date(2027, 4, 19), 14, 8)
    assert (stamp.hour, stamp.utcoffset().total_seconds()) == (8, 7200)


def test_after_downtime_only_the_latest_reminder_goes(app: Any, clock: Any, year: Any) -> None:
    advance_to(clock, "2027-04-27T09:00")  # past 14, 3 and 0 days before, and 7 after due
    notify.sweep(app)
    keys = sorted(m["key"] for m in outbox.list_messages(app) if "tertial-1" not in m["key"])
    t1 = year["tertial-1"]["id"]
    assert f"reminder:{t1}:2027-04-19:-7" in keys
    assert not any(k.startswith(f"reminder:{t1}:") and not k.endswith(":-7") for k in keys)


def test_a_report_submitted_meanwhile_is_not_reminded(
    app: Any, clock: Any, year: Any, sink: Sink, tmp_path: Path
) -> None:
    advance_to(clock, "2027-04-16T08:30")
    notify.sweep(app)
    doc = tmp_path / "t1.pdf"
    doc.write_bytes(b"rapport")
    reports.submit(app, year["tertial-1"]["id"], doc, LEADER)
    result = outbox.send(app)
    assert result["skipped"] == 1
    assert all("Tertialrapport 1" not in r.message["Subject"] for r in sink.received)


def test_busy_server_then_accepts(
    app: Any, clock: Any, year: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sink(Handler(busy_for=1)) as server:
        monkeypatch.setenv("FINSAM_MAIL_URL", server.url)
        monkeypatch.setenv("FINSAM_MAIL_CONCURRENCY", "1")
        advance_to(clock, "2027-02-15T08:00")
        notify.sweep(app)
        first = outbox.send(app)
        assert first["transient"] == 1 and not server.received
        waiting = outbox.list_messages(app, "queued")[0]
        assert waiting["last_error"].startswith(f"{LEADER}: 451")
        assert outbox.send(app) == {"sent": 0, "transient": 0, "failed": 0, "skipped": 0}
        advance_to(clock, "2027-02-15T09:00")  # past the backoff
        assert outbox.send(app)["sent"] == 1 and len(server.received) == 1
        attempts = outbox.show(app, waiting["id"])["attempts_log"]
        assert [a["outcome"] for a in attempts] == ["transient", "transient", "sent", "sent"]


def test_refused_recipient_fails_with_the_servers_answer(
    app: Any, clock: Any, year: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = Handler(refuse={LEADER, "per.ohman@skane.example"})
    with Sink(handler) as server:
        monkeypatch.setenv("FINSAM_MAIL_URL", server.url)
        advance_to(clock, "2027-02-15T08:00")
        notify.sweep(app)
        assert outbox.send(app)["failed"] == 1
        failed = outbox.list_messages(app, "failed")[0]
        assert "550 5.1.1 Mailbox unavailable" in failed["last_error"]
        assert outbox.retry(app, failed["id"])["state"] == "queued"


def test_unreachable_server_keeps_the_message(
    app: Any, clock: Any, year: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smtp_sink import free_port

    monkeypatch.setenv("FINSAM_MAIL_URL", f"smtp://127.0.0.1:{free_port()}")
    advance_to(clock, "2027-02-15T08:00")
    notify.sweep(app)
    assert outbox.send(app)["transient"] == 1
    queued = outbox.list_messages(app, "queued")
    assert len(queued) == 1 and "Connect" in queued[0]["last_error"]


@pytest.mark.parametrize(
    "url",
    ["smtp://", "smtp://host:abc", "carrier-pigeon://x", "smtp://h?starttls=maybe", "file://"],
)
def test_malformed_mail_url(app: Any, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("FINSAM_MAIL_URL", url)
    with pytest.raises(ConfigError, match="FINSAM_MAIL_URL"):
        outbox.send(app)


def test_kallelse_invitation_update_and_cancel(app: Any, clock: Any, year: Any, sink: Sink) -> None:
    board = next(
        m for m in meetings.list_meetings(app, None, 2027) if m["key"] == "styrelse-2027-05"
    )
    advance_to(clock, "2027-05-04T15:00")  # a week before 11 May, 14:00
    assert notify.sweep(app)["notices"] >= 1
    outbox.send(app)
    meetings.move(app, board["id"], date(2027, 5, 18))
    notify.sweep(app)
    outbox.send(app)
    meetings.cancel(app, board["id"])
    notify.sweep(app)
    outbox.send(app)
    invites = []
    for r in sink.received:
        for part in r.message.walk():
            if part.get_content_type() == "text/calendar":
                text = part.get_content()
                if board["uid"] in text:
                    invites.append((part.get_param("method"), text))
    assert [m for m, _ in invites] == ["REQUEST", "REQUEST", "CANCEL"]
    assert "SEQUENCE:0" in invites[0][1] and "SEQUENCE:1" in invites[1][1]
    assert "SEQUENCE:2" in invites[2][1] and "STATUS:CANCELLED" in invites[2][1]
    assert "ORGANIZER;CN=" in invites[0][1] and "ATTENDEE;CN=" in invites[0][1]
    subjects = [r.message["Subject"] for r in sink.received]
    assert "Kallelse: Styrelsen 11 maj 2027 14:00" in subjects
    assert "Ändrad kallelse: Styrelsen 18 maj 2027 14:00" in subjects
    assert "Inställt: Styrelsen 18 maj 2027" in subjects


def test_arrival_and_decision_notices(app: Any, clock: Any, year: Any, sink: Sink) -> None:

    advance_to(clock, "2027-08-20T09:00")
    pid = store_plan_file(app)
    plans.move(app, pid, "submit", actor_email=CHEF)
    advance_to(clock, "2027-09-06T11:30")
    plans.move(app, pid, "recommend-adopt", actor_email=CHAIR)
    advance_to(clock, "2027-09-06T15:00")
    plans.move(app, pid, "recommend-adopt", actor_email=CHEF)
    advance_to(clock, "2027-09-21T16:00")
    plans.move(app, pid, "adopt", actor_email=CHEF)
    board = next(
        m for m in meetings.list_meetings(app, None, 2027) if m["key"] == "styrelse-2027-09"
    )
    vice, member = "lars.berg@skane.example", "eva.lind@simrishamn.example"
    meeting_docs.record_minutes(app, board["id"], [CHEF, vice, member], [vice])
    assert not [m for m in outbox.list_messages(app) if m["kind"] == "decision"]
    meeting_docs.justera(app, board["id"], vice)
    decisions = [m for m in outbox.list_messages(app) if m["kind"] == "decision"]
    assert len(decisions) == 7  # one per member organisation's registry
    outbox.send(app)
    arrivals = [r for r in sink.received if "kommer till" in r.message["Subject"]]
    assert {r.message["Subject"] for r in arrivals} == {
        "Verksamhetsplan och budget 2028 kommer till presidiets möte 6 september 2027",
        "Verksamhetsplan och budget 2028 kommer till beredningsgruppens möte 6 september 2027",
        "Verksamhetsplan och budget 2028 kommer till styrelsens möte 21 september 2027",
    }
    notice = next(r for r in sink.received if r.recipients == ["registrator@ystad.example"])
    msg = notice.message
    assert msg["Subject"].startswith("Protokollsutdrag: Styrelsen 21 september 2027 §")
    assert "Styrelsen beslutar att anta planen." in msg.get_body(("plain",)).get_content()
    attachment = next(msg.iter_attachments())
    assert attachment.get_filename() == "Verksamhetsplan och budget 2028 (revision 1).html"
    assert b"Antagen av styrelsen 21 september 2027" in attachment.get_content().encode()
