"""The outbox against a real SMTP server on loopback: reminders, retries, failures, notices,
claims that are renewed and checked, and outcomes per recipient."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import (
    CHEF,
    LEADER,
    MEMBER,
    add_maria,
    adopt_in_september,
    advance_to,
    begin_2027,
    dump,
)
from smtp_sink import Handler, Sink

from workflow.core import audit
from workflow.core.exceptions import ConfigError, NotAllowed, UsageError
from workflow.core.models import UTCDateTime
from workflow.cycle import meetings, protokoll
from workflow.mail import compose as notify
from workflow.mail import delivery as outbox
from workflow.reports import obligations as reports


@pytest.fixture
def year(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    begin_2027(app, clock, tmp_path, monkeypatch)
    add_maria(app, contact_name="Per Öhman", contact_email="per.ohman@skane.example")
    made = {r["kind"]: r for r in reports.generate(app, None, 2027, actor_email=CHEF)}
    return made


PER = "per.ohman@skane.example"
LINK = re.compile(r"https?://[^\s\"<>]+/signin/[A-Za-z0-9_-]{43}")


def _received(sink: Sink, subject: str) -> list[Any]:
    return sorted(
        (r for r in sink.received if r.message["Subject"] == subject), key=lambda r: r.recipients
    )


def test_a_reminder_goes_out_once_at_eight(app: Any, clock: Any, year: Any, sink: Sink) -> None:
    """One mail per reader, each with a personal link of its own; a late report's
    förbundschef gets a copy of their own, without the link."""
    t1 = year["tertial-1"]  # due 2027-04-19
    advance_to(clock, "2027-04-05T07:59")  # 14 days before, a minute before eight
    # the årsberättelse, long overdue: the leader, the contact and the chef's copy
    assert notify.sweep(app)["reminders"] == 3
    advance_to(clock, "2027-04-05T08:00")
    assert notify.sweep(app) == {"reminders": 2, "notices": 0}  # the leader and the contact
    assert notify.sweep(app) == {"reminders": 0, "notices": 0}  # idempotent
    sent = outbox.send(app)  # and the two mails of the reports owed since January
    assert sent == {"sent": 7, "transient": 0, "failed": 0, "skipped": 0, "lost": 0}
    on_time = _received(
        sink, f"{t1['name']} 2027 för Mariamottagningen ska lämnas senast 19 april 2027"
    )
    assert [r.recipients for r in on_time] == [[PER], [LEADER]]
    per, sofia = (r.message for r in on_time)
    assert sofia["From"] == "Samordningsförbundet Sydöstra Skåne <kansli@sydostraskane.example>"
    assert sofia["To"] == "Sofia Ek <sofia.ek@skane.example>"
    assert per["To"] == "Per Öhman <per.ohman@skane.example>"
    assert sofia["Reply-To"] == "annika.rasmusson@sydostraskane.example"
    text = sofia.get_body(("plain",)).get_content()
    html = sofia.get_body(("html",)).get_content()
    assert (
        "Hej Sofia Ek," in text
        and "Om 14 dagar, senast 19 april 2027, ska Tertialrapport 1 2027" in text
    )
    assert "<strong>19 april 2027</strong>" in html
    assert "Så lämnar du rapporten" in text and "/signin/" in text
    links = {LINK.search(m.get_body(("plain",)).get_content()).group(0) for m in (per, sofia)}
    assert len(links) == 2  # each reader's own
    late = _received(sink, "Påminnelse: Årsberättelse 2027 för Mariamottagningen är försenad")
    chef = "annika.rasmusson@sydostraskane.example"
    assert sorted(r.recipients for r in late) == [[chef], [PER], [LEADER]]  # escalation
    copy = next(r for r in late if r.recipients == [chef]).message.get_body(("plain",))
    assert "din kopia av påminnelsen till Sofia Ek, Per Öhman" in copy.get_content()
    assert "/signin/" not in copy.get_content()  # the chef signs in as themselves
    # the DST change lies between: the reminder time is still eight o'clock local
    stamp = notify.reminder_time(date(2027, 4, 19), 14, 8)
    assert (stamp.hour, stamp.utcoffset().total_seconds()) == (8, 7200)


def test_after_downtime_only_the_latest_reminder_goes(app: Any, clock: Any, year: Any) -> None:
    advance_to(clock, "2027-04-27T09:00")  # past 14, 3 and 0 days before, and 7 after due
    notify.sweep(app)
    keys = sorted(
        m["key"]
        for m in outbox.list_messages(app, limit=None)["messages"]
        if "tertial-1" not in m["key"]
    )
    t1 = year["tertial-1"]["id"]
    assert f"reminder:{t1}:2027-04-19:-7" in keys
    assert f"reminder:{t1}:2027-04-19:-7:chef" in keys
    offsets = {k.split(":")[3] for k in keys if k.startswith(f"reminder:{t1}:")}
    assert offsets == {"-7"}


def test_a_report_submitted_meanwhile_is_not_reminded(
    app: Any, clock: Any, year: Any, sink: Sink, tmp_path: Path
) -> None:
    advance_to(clock, "2027-04-16T08:30")
    notify.sweep(app)
    doc = tmp_path / "t1.pdf"
    doc.write_bytes(b"rapport")
    reports.submit(app, year["tertial-1"]["id"], doc, LEADER)
    result = outbox.send(app)
    assert result["skipped"] == 2  # the leader's and the contact's
    assert all("Tertialrapport 1" not in r.message["Subject"] for r in sink.received)


def test_busy_server_then_accepts(
    app: Any, clock: Any, year: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sink(Handler(busy_for=1)) as server:
        monkeypatch.setenv("FINSAM_MAIL_URL", server.url)
        monkeypatch.setenv("FINSAM_MAIL_CONCURRENCY", "1")
        advance_to(clock, "2027-02-15T08:00")
        notify.sweep(app)
        first = outbox.send(app)  # one at a time: the first message meets the busy server
        assert first["transient"] == 1
        waiting = outbox.list_messages(app, "queued", limit=None)["messages"][0]
        assert waiting["last_error"].startswith(f"{LEADER}: 451")
        assert waiting["message_id"] not in {m.message["Message-ID"] for m in server.received}
        none = {"sent": 0, "transient": 0, "failed": 0, "skipped": 0, "lost": 0}
        assert outbox.send(app) == none
        advance_to(clock, "2027-02-15T09:00")  # past the backoff
        assert outbox.send(app)["sent"] == 1
        assert waiting["message_id"] in {m.message["Message-ID"] for m in server.received}
        attempts = outbox.show(app, waiting["id"])["attempts_log"]
        assert [a["outcome"] for a in attempts] == ["transient", "sent"]


def test_refused_recipient_fails_with_the_servers_answer(
    app: Any, clock: Any, year: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = Handler(refuse={LEADER, "per.ohman@skane.example"})
    with Sink(handler) as server:
        monkeypatch.setenv("FINSAM_MAIL_URL", server.url)
        advance_to(clock, "2027-02-15T08:00")
        notify.sweep(app)
        # the leader's reminder and the contact's, and their mails of the reports owed
        assert outbox.send(app)["failed"] == 4
        failed = outbox.list_messages(app, "failed", limit=None)["messages"][0]
        assert "550 5.1.1 Mailbox unavailable" in failed["last_error"]
        before = dump(app.url)
        with pytest.raises(UsageError, match="who is acting"):
            outbox.retry(app, failed["id"], None)
        with pytest.raises(NotAllowed, match=r"only the förbundschef may put a failed message"):
            outbox.retry(app, failed["id"], MEMBER)
        assert dump(app.url) == before
        assert outbox.retry(app, failed["id"], CHEF)["state"] == "queued"
        row = audit.log(app, subject=f"message:{failed['id']}")[-1]
        assert (row["action"], row["actor"], row["role"], row["from"], row["to"]) == (
            "retry",
            CHEF,
            "förbundschef",
            "failed",
            "queued",
        )
        assert "550 5.1.1 Mailbox unavailable" in row["comment"]


def test_unreachable_server_keeps_the_message(
    app: Any, clock: Any, year: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smtp_sink import free_port

    monkeypatch.setenv("FINSAM_MAIL_URL", f"smtp://127.0.0.1:{free_port()}")
    advance_to(clock, "2027-02-15T08:00")
    notify.sweep(app)
    # the leader's reminder and the contact's, and their mails of the reports owed
    assert outbox.send(app)["transient"] == 4
    queued = [
        m
        for m in outbox.list_messages(app, "queued", limit=None)["messages"]
        if m["kind"] == "reminder"
    ]
    assert len(queued) == 2 and all("Connect" in m["last_error"] for m in queued)


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
    meetings.move(app, board["id"], date(2027, 5, 18), actor_email=CHEF)
    notify.sweep(app)
    outbox.send(app)
    meetings.cancel(app, board["id"], actor_email=CHEF)
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
    adopt_in_september(app, clock)
    board = next(
        m for m in meetings.list_meetings(app, None, 2027) if m["key"] == "styrelse-2027-09"
    )
    vice, member = "lars.berg@skane.example", "eva.lind@simrishamn.example"
    protokoll.record_minutes(app, board["id"], [CHEF, vice, member], [vice], actor_email=CHEF)
    assert not [
        m for m in outbox.list_messages(app, limit=None)["messages"] if m["kind"] == "decision"
    ]
    protokoll.justera(app, board["id"], vice)
    decisions = [
        m for m in outbox.list_messages(app, limit=None)["messages"] if m["kind"] == "decision"
    ]
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


# ---------------------------------------------------------------- claims and leases


def wait_for(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_two_deliverers_and_a_server_slower_than_the_lease_send_each_message_once(
    app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every send outlasts the lease: the holder renews its claim, the other leaves it be.

    Deliverer a sends 4 messages, two at a time, to a server that takes 1.5 s over
    each; its lease is 1 s. Deliverer b tries again and again meanwhile, as a
    second node would. Unrenewed, a's claims would run out during its first send
    and b would send them all a second time.
    """
    from helpers import queue_arrivals

    from workflow.core.clock import RunningClock

    expected = {m.message_id for m in queue_arrivals(app, 4, "slow")}
    app.clock = RunningClock(clock.now())  # leases run out in real time
    monkeypatch.setenv("FINSAM_MAIL_LEASE_SECONDS", "1")
    monkeypatch.setenv("FINSAM_MAIL_CONCURRENCY", "2")
    with Sink(Handler(slow=1.5)) as server:
        monkeypatch.setenv("FINSAM_MAIL_URL", server.url)
        runs: list[dict[str, int]] = []
        first = threading.Thread(target=lambda: runs.append(outbox.send(app, worker="a")))
        first.start()
        wait_for(lambda: outbox.held_elsewhere(app, "b"), "a's claims")
        while first.is_alive():
            runs.append(outbox.send(app, worker="b"))
            time.sleep(0.05)
        first.join()
    ids = Counter(r.message["Message-ID"] for r in server.received)
    assert set(ids) == expected and max(ids.values()) == 1, ids
    assert sum(r["sent"] for r in runs) == 4
    assert outbox.counts(app) == {"sent": 4}
    assert len(runs) > 10  # b tried many times, long after a's first lease had run out


def test_a_deliverer_whose_claim_was_taken_over_neither_sends_nor_marks_it(
    app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """a stalls in its first send past its lease, b claims the rows: a lets them go.

    The message a had on the wire arrives (nothing can call it back) but a does
    not mark it; the two it had not begun it neither sends nor marks. b holds all
    three, untouched.
    """
    from helpers import queue_arrivals

    from workflow.core.models import OutboxAttempt, OutboxMessage
    from workflow.core.uow import read

    rows = queue_arrivals(app, 3, "taken")
    monkeypatch.setenv("FINSAM_MAIL_LEASE_SECONDS", "60")
    monkeypatch.setenv("FINSAM_MAIL_CONCURRENCY", "1")
    handler = Handler()
    handler.gate.clear()
    with Sink(handler) as server:
        monkeypatch.setenv("FINSAM_MAIL_URL", server.url)
        result: dict[str, int] = {}
        a = threading.Thread(target=lambda: result.update(outbox.send(app, worker="a")))
        a.start()
        wait_for(lambda: handler.waiting == 1, "a's first message on the wire")
        clock.advance(timedelta(seconds=61))
        taken = outbox.claim(app, 10, "b", timedelta(seconds=60))
        handler.gate.set()
        a.join(30)
        assert not a.is_alive()
    assert taken == sorted(m.id for m in rows)
    assert result == {"sent": 0, "transient": 0, "failed": 0, "skipped": 0, "lost": 3}
    assert [r.message["Message-ID"] for r in server.received] == [rows[0].message_id]
    with read(app) as uow:
        s = uow.session
        now = [(m.state, m.claimed_by, m.attempts) for m in s.scalars(sa.select(OutboxMessage))]
        assert now == [("sending", "b", 0)] * 3
        assert s.scalars(sa.select(OutboxAttempt)).all() == []
    assert outbox.held_elsewhere(app, "a") == [
        {"by": "b", "messages": 3, "until": (clock.now() + timedelta(seconds=60)).isoformat()}
    ]


def test_renewing_and_marking_are_the_holders_alone(app: Any, clock: Any) -> None:
    """The compare-and-set itself: a renewal or a mark after the lease ran out changes nothing."""
    from helpers import queue_arrivals

    from workflow.mail.delivery import Claims

    queue_arrivals(app, 2, "cas")
    lease = timedelta(seconds=30)
    mine = Claims(app, "a", lease)
    try:
        first, second = mine.take(10)
        assert mine.renew() == set() and mine.holds(first)
        assert mine.mark(first, "sent", "", {}, 8, 0, []) is True
        clock.advance(timedelta(seconds=31))  # the lease on the second has run out
        assert mine.renew() == {second} and not mine.holds(second)
        assert mine.mark(second, "sent", "", {}, 8, 0, []) is False
        assert outbox.release(app, [second], "a") == 0
    finally:
        mine.close()
    states = {
        m["id"]: (m["state"], m["attempts"])
        for m in outbox.list_messages(app, limit=None)["messages"]
    }
    assert states == {first: ("sent", 1), second: ("sending", 0)}
    assert outbox.claim(app, 10, "b", lease) == [second]  # due again, for anyone


def test_marks_wait_for_a_busy_sqlite_under_the_one_retry_rule(tmp_path: Path, clock: Any) -> None:
    """Another writer holding SQLite's lock delays a mark; past the busy deadline the
    delivery ends with Busy (exit 3), as every other writer does, not a raw error."""
    import sqlite3

    from helpers import make_app, queue_arrivals

    from workflow.core.exceptions import Busy
    from workflow.mail.delivery import Claims

    path = tmp_path / "busy.db"
    app = make_app(f"sqlite:///{path}", clock)
    app.busy_seconds = 0.5
    queue_arrivals(app, 2, "busy")
    claims = Claims(app, "a", timedelta(seconds=60))
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        first, second = claims.take(10)
        other.execute("BEGIN IMMEDIATE")  # another writer, done within the deadline
        threading.Timer(0.2, lambda: other.execute("COMMIT")).start()
        assert claims.mark(first, "sent", "", {}, 8, 0, []) is True
        other.execute("BEGIN IMMEDIATE")  # and one that is not
        began = time.monotonic()
        with pytest.raises(Busy):
            claims.mark(second, "sent", "", {}, 8, 0, [])
        assert time.monotonic() - began >= 0.5
        other.execute("ROLLBACK")
    finally:
        claims.close()
        other.close()
    states = {m["id"]: m["state"] for m in outbox.list_messages(app, limit=None)["messages"]}
    assert states == {first: "sent", second: "sending"}
    app.engine.dispose()


# ---------------------------------------------------------------- per recipient


@pytest.mark.parametrize("answer", ["refuse", "defer"])
def test_after_a_partial_failure_only_the_others_get_it_again(
    app: Any, clock: Any, year: Any, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    """One recipient of a kallelse refused (5xx: failed, then `outbox retry`) or deferred
    (4xx: backoff).

    The next delivery has the same raw message, headers and all, and goes to the
    refused recipient alone.
    """
    handler = Handler(**{answer: {MEMBER}})
    with Sink(handler) as server:
        monkeypatch.setenv("FINSAM_MAIL_URL", server.url)
        advance_to(clock, "2027-05-04T15:00")  # a week before the May board meeting
        notify.sweep(app)
        outbox.send(app)
        message = next(
            m
            for m in outbox.list_messages(app, limit=None)["messages"]
            if m["kind"] == "notice" and MEMBER in m["recipients"]
        )
        others = [r for r in message["recipients"] if r != MEMBER]
        if answer == "refuse":
            assert message["state"] == "failed"
            assert message["last_error"] == f"{MEMBER}: 550 5.1.1 Mailbox unavailable"
            handler.refuse.clear()
            assert outbox.retry(app, message["id"], CHEF)["accepted"] == others
        else:
            assert message["state"] == "queued"
            assert message["last_error"].startswith(f"{MEMBER}: 451")
            handler.defer.clear()
            advance_to(clock, "2027-05-04T16:00")  # past the backoff
        assert message["accepted"] == others
        outbox.send(app)
        one, two = (r for r in server.received if r.message["Message-ID"] == message["message_id"])
    assert (one.recipients, two.recipients) == (others, [MEMBER])
    for header in ("Message-ID", "To", "Subject", "Date"):
        assert one.message[header] == two.message[header]
    shown = outbox.show(app, message["id"])
    assert shown["state"] == "sent" and sorted(shown["accepted"]) == sorted(message["recipients"])
    log = [(a["recipient"], a["outcome"]) for a in shown["attempts_log"]]
    refused = "permanent" if answer == "refuse" else "transient"
    assert log[-1] == (MEMBER, "sent") and (MEMBER, refused) in log
    assert sorted(r for r, outcome in log if outcome == "sent") == sorted(message["recipients"])


# ---------------------------------------------------------------- the schema


def test_upgrading_to_0008_keeps_the_outbox_and_learns_who_accepted(
    db_url: str, clock: Any
) -> None:
    """Rows written before 0008 stay; a sent message was accepted by all, a failed one by
    those with a 'sent' attempt on record, so a retry of it goes only to the others."""
    from workflow.bootstrap import bootstrap
    from workflow.core.db import head_revision, upgrade

    app = bootstrap(db_url, clock, must_exist=False, check=False)
    try:
        assert upgrade(app.engine, "0007") == (None, "0007")
        now = clock.now()
        old = sa.table(
            "outbox_message",
            *(
                sa.column(c)
                for c in ("id", "key", "forbund_key", "kind", "subject", "sender", "message_id")
            ),
            *(sa.column(c) for c in ("state", "attempts", "last_error")),
            sa.column("recipients", sa.JSON()),
            sa.column("raw", sa.LargeBinary()),
            sa.column("not_before", UTCDateTime()),
            sa.column("created_at", UTCDateTime()),
        )
        attempt = sa.table(
            "outbox_attempt",
            *(sa.column(c) for c in ("message", "worker", "recipient", "outcome", "detail")),
            sa.column("at", UTCDateTime()),
        )
        a, b = "a@example.se", "b@example.se"
        with app.engine.begin() as conn:
            for i, state in enumerate(("sent", "failed", "queued"), start=1):
                conn.execute(
                    old.insert().values(
                        id=i,
                        key=f"old:{i}",
                        forbund_key="sos",
                        kind="arrival",
                        subject=f"Ämne {i}",
                        sender="kansli@example.se",
                        message_id=f"<{i}@example.se>",
                        state=state,
                        attempts=1 if state != "queued" else 0,
                        last_error=f"{b}: 550 nej" if state == "failed" else None,
                        recipients=[a, b],
                        raw=b"Subject: x\r\n\r\nhej\r\n",
                        not_before=now,
                        created_at=now,
                    )
                )
            for message, recipient, outcome in [
                (1, a, "sent"),
                (1, b, "sent"),
                (2, a, "sent"),
                (2, b, "permanent"),
            ]:
                conn.execute(
                    attempt.insert().values(
                        message=message,
                        worker="old:1",
                        recipient=recipient,
                        outcome=outcome,
                        detail="",
                        at=now,
                    )
                )
        assert upgrade(app.engine) == ("0007", head_revision())
        kept = {
            m["id"]: (m["state"], m["recipients"], m["accepted"])
            for m in outbox.list_messages(app, limit=None)["messages"]
        }
        assert kept == {
            1: ("sent", [a, b], [a, b]),
            2: ("failed", [a, b], [a]),
            3: ("queued", [a, b], []),
        }
        assert [x["outcome"] for x in outbox.show(app, 2)["attempts_log"]] == ["sent", "permanent"]
        assert outbox.show(app, 2)["last_error"] == f"{b}: 550 nej"
    finally:
        app.engine.dispose()
