"""The scheduler's sweeps on a moving clock against a real SMTP server: catch-up, DST, the year."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CHEF, LEADER, add_maria, advance_to, begin_2027
from smtp_sink import Sink

from workflow.core.clock import LOCAL_TZ
from workflow.core.models import Obligation, OutboxMessage
from workflow.core.uow import UnitOfWork
from workflow.reports import obligations as reports
from workflow.scheduler import daemon as scheduler
from workflow.scheduler import nodes, sweeps


@pytest.fixture
def year(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """January 2027, the cycle generated, one insats; its obligations are the scheduler's job."""
    begin_2027(app, clock, tmp_path, monkeypatch)
    add_maria(app)
    return app


def tick(app: Any) -> dict[str, dict[str, int]]:
    results = scheduler.tick(app, log=sweeps.quiet)
    assert all(r["outcome"] == "ok" for r in results), results
    return {r["sweep"]: r["counts"] for r in results}


def subjects(sink: Sink) -> list[str]:
    return [str(r.message["Subject"]) for r in sink.received]


def test_the_year_sweep_creates_obligations_once(year: Any, clock: Any, sink: Sink) -> None:
    first = tick(year)
    assert first["year"]["obligations"] == 3  # årsberättelse 2026, tertial 1 and 2
    assert tick(year)["year"]["obligations"] == 0
    rows = reports.status(year, None, 2027)
    assert {r["kind"] for r in rows} == {"arsberattelse", "tertial-1", "tertial-2"}


def test_missing_meetings_remind_the_chef_once_from_october(
    year: Any, clock: Any, sink: Sink
) -> None:
    advance_to(clock, "2027-09-30T09:00")
    assert tick(year)["year"]["cycle_reminders"] == 0
    advance_to(clock, "2027-10-01T09:00")
    assert tick(year)["year"]["cycle_reminders"] == 1  # 2028 has no meetings yet
    assert tick(year)["year"]["cycle_reminders"] == 0
    cycle = [r for r in sink.received if "Sammanträdesplanen för 2028" in r.message["Subject"]]
    assert len(cycle) == 1 and cycle[0].recipients == [CHEF]
    text = cycle[0].message.get_body(("plain",)).get_content()
    assert "finsam cycle generate --year 2028" in text


def test_a_month_of_downtime_sends_only_the_latest_reminder_and_no_stale_kallelse(
    year: Any, clock: Any, sink: Sink
) -> None:
    advance_to(clock, "2027-04-01T09:00")
    tick(year)  # the årsberättelse's late reminder, the tertial's 14-day one not yet
    before = len(sink.received)
    # the server is off from 1 April to 10 May: the tertial 1 report (due 19 April)
    # missed its reminders 14 and 3 days before, on the day and 7 days after
    advance_to(clock, "2027-05-10T09:00")
    done = tick(year)
    new = sink.received[before:]
    tertial = [r for r in new if "Tertialrapport 1" in str(r.message["Subject"])]
    # one mail, not four; late: the förbundschef gets a copy of their own
    assert sorted(r.recipients[0] for r in tertial) == [CHEF, LEADER], subjects(sink)
    assert all("försenad" in str(r.message["Subject"]) for r in tertial)
    # kallelser: never one for a meeting that had begun by the time it was queued
    with UnitOfWork(year) as uow:
        s = uow.session
        notices = s.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "notice")).all()
        from workflow.core.models import Meeting

        for n in notices:
            meeting = s.get(Meeting, int(n.ref.split(":")[1]))
            assert meeting.starts_at > n.created_at  # never a kallelse after the meeting
    assert done["outbox"]["failed"] == 0
    late = reports.status(year, None, 2027, late_only=True)
    assert any(r["kind"] == "tertial-1" for r in late)
    assert tick(year)["outbox"]["sent"] == 0  # and nothing goes twice


@pytest.mark.parametrize(
    ("due", "before_utc", "at_utc"),
    [
        # the Monday after the last Sunday of March: CEST, 08:00 local is 06:00 UTC
        ("2027-03-29", "2027-03-29T05:59:00+00:00", "2027-03-29T06:00:00+00:00"),
        # the Monday after the last Sunday of October: CET, 08:00 local is 07:00 UTC
        ("2027-11-01", "2027-11-01T06:59:00+00:00", "2027-11-01T07:00:00+00:00"),
    ],
)
def test_a_reminder_on_the_monday_after_the_dst_change_goes_at_eight_local(
    year: Any, clock: Any, sink: Sink, due: str, before_utc: str, at_utc: str
) -> None:
    tick(year)
    with UnitOfWork(year) as uow:  # a report due that Monday
        s = uow.session
        o = s.scalars(sa.select(Obligation).where(Obligation.kind == "tertial-1")).one()
        o.due = due
        s.add(o)
        uow.commit()
    y, m, d = map(int, due.split("-"))
    advance_to(clock, f"{date(y, m, d).fromordinal(date(y, m, d).toordinal() - 2)}T12:00")
    tick(year)  # the reminder three days before has gone (or is queued) by now
    count = len(sink.received)
    advance_to(clock, before_utc)
    tick(year)
    assert len(sink.received) == count  # 07:59 local: not yet
    advance_to(clock, at_utc)
    tick(year)
    new = sink.received[count:]
    assert len(new) == 1 and "Idag ska" in str(new[0].message["Subject"])
    sent = new[0].message["Date"].datetime.astimezone(LOCAL_TZ)
    assert (sent.hour, sent.minute) == (8, 0)


def test_dry_run_changes_nothing(year: Any, clock: Any, sink: Sink) -> None:
    from helpers import dump

    advance_to(clock, "2027-04-06T09:00")
    before = dump(year.url)
    data = sweeps.dry_run(year)
    assert data["year"]["obligations"] == 3 and data["would_send"]
    assert dump(year.url) == before and sink.received == []


def test_status_is_unhealthy_without_a_recent_node_or_with_failed_mail(
    year: Any, clock: Any, sink: Sink
) -> None:
    from datetime import timedelta

    stale = timedelta(minutes=5)
    assert not nodes.status(year, stale)["healthy"]  # no node has ever run
    tick(year)
    data = nodes.status(year, stale)
    assert data["healthy"], data["problems"]
    assert {w["name"] for w in data["sweeps"]} == {"year", "notify", "outbox"}
    assert data["next_due"] is not None
    clock.advance(timedelta(minutes=6))
    assert "no node has beaten" in nodes.status(year, stale)["problems"][0]


def test_while_the_outbox_was_down_only_the_latest_reminder_and_no_past_kallelse_go(
    year: Any, clock: Any, sink: Sink
) -> None:
    from workflow.mail import compose as notify
    from workflow.mail import delivery as outbox

    tick(year)  # January: the year's obligations; what was due then is sent
    before = len(sink.received)
    # the sweeps ran but nothing was delivered: two reminders for tertial 1 wait
    # (14 days before and on the day), and the kallelser of the late April meetings
    advance_to(clock, "2027-04-05T09:00")
    notify.sweep(year)
    advance_to(clock, "2027-04-20T09:00")
    notify.sweep(year)
    with UnitOfWork(year) as uow:
        s = uow.session
        from workflow.core.models import Meeting

        waiting = s.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.state == "queued")
            .order_by(OutboxMessage.id)
        ).all()
        tertial = [(m.id, m.subject) for m in waiting if "Tertialrapport 1" in m.subject]
        notices = [(m.id, m.subject) for m in waiting if m.kind == "notice"]
        assert len(tertial) == 2 and notices
        last_start = max(
            s.get(Meeting, int(m.ref.split(":")[1])).starts_at
            for m in waiting
            if m.kind == "notice"
        )
    clock.set(last_start)  # every waiting kallelse's meeting has begun by now
    counts = outbox.send(year)
    new = [str(r.message["Subject"]) for r in sink.received[before:]]
    assert [s for s in new if "Tertialrapport 1" in s] == [tertial[1][1]]
    assert not {subject for _, subject in notices} & set(new)
    assert counts["skipped"] >= 1 + len(notices)
    reasons = {outbox.show(year, i)["last_error"] for i, _ in [tertial[0], *notices]}
    assert reasons <= {
        "a later reminder for the same report replaces it",
        "the meeting has begun",
        "a later kallelse for the same meeting replaces it",
    }


def test_a_stopping_node_leaves_the_rest_of_the_reminders_to_the_next_sweep(
    year: Any, clock: Any
) -> None:
    import threading

    from helpers import owe_reports

    from workflow.mail import compose as notify

    owe_reports(year, 20, "2027-01-20")  # the 14-day reminders are due on 10 January
    stop = threading.Event()
    stop.set()  # SIGTERM came: the sweep queues nothing more and ends at once
    assert notify.sweep(year, stop=stop)["reminders"] == 0
    assert notify.sweep(year)["reminders"] == 20  # the next sweep does them


def test_a_stop_mid_sweep_ends_after_the_batch_in_hand_which_stands(year: Any, clock: Any) -> None:
    import threading

    from helpers import owe_reports

    from workflow.mail import compose as notify

    owe_reports(year, notify.BATCH + 30, "2027-01-20")
    stop = threading.Event()
    heard: list[int] = []

    def on_queued(q: Any) -> None:  # SIGTERM comes as the first batch has committed
        heard.append(q.id)
        stop.set()

    assert notify.sweep(year, stop=stop, on_queued=on_queued)["reminders"] == notify.BATCH
    with UnitOfWork(year) as uow:
        stored = uow.session.scalars(sa.select(OutboxMessage.id)).all()
    assert sorted(stored) == sorted(heard)  # what was inserted was committed
    assert notify.sweep(year)["reminders"] == 30  # the next sweep does the rest
