"""A sweep that queues many messages keeps its write transactions short (SQLite file).

SQLite has one writer. The notify sweep renders every message outside any
transaction and inserts them in batches, so ordinary commands write between
its batches instead of waiting for (or timing out on) the whole sweep.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import (
    CHEF,
    LEADER,
    RenderSpy,
    add_maria,
    advance_to,
    begin_2027,
    draft_plan,
    make_app,
    owe_reports,
)

from workflow.bootstrap import bootstrap
from workflow.core.models import Obligation, OutboxMessage
from workflow.core.uow import read
from workflow.cycle import meetings
from workflow.mail import compose as notify
from workflow.plans import services as plans
from workflow.reports import insatser
from workflow.reports import obligations as reports
from workflow.scheduler import sweeps

REMINDERS = 1500  # what the sweep queued while the other commands failed


@pytest.fixture
def app(
    sqlite_url: str, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """January 2027 on a SQLite file: the year's meetings, nothing queued yet."""
    application = make_app(sqlite_url, clock)
    begin_2027(application, clock, tmp_path, monkeypatch)
    yield application
    application.engine.dispose()


def _later_report(app: Any) -> tuple[int, str]:
    """A report whose reminders are months away: (its id, its leader), to submit meanwhile."""
    owe_reports(app, 1, "2027-06-30", prefix="later")
    with read(app) as uow:
        o = uow.session.scalars(sa.select(Obligation).where(Obligation.due == "2027-06-30")).one()
        return o.id, "ledare0@later.example"


def _reminders(app: Any) -> int:
    with read(app) as uow:
        return uow.session.scalar(
            sa.select(sa.func.count()).where(OutboxMessage.kind == "reminder")
        )


def test_four_writes_succeed_while_the_notify_sweep_queues_its_reminders(
    app: Any, clock: Any, tmp_path: Path
) -> None:
    owe_reports(app, REMINDERS, "2027-01-20")  # the 14-day reminders fell due on 6 January
    obligation, leader = _later_report(app)
    plan = draft_plan(app, 2028)
    board = next(
        m for m in meetings.list_meetings(app, None, 2027) if m["key"] == "styrelse-2027-05"
    )
    doc = tmp_path / "slutrapport.pdf"
    doc.write_bytes(b"rapport")

    queued: list[int] = []
    first_batch = threading.Event()

    def log(event: str, *args: Any, **fields: Any) -> None:  # called once a batch has committed
        if event == "queued":
            queued.append(int(fields["item"].removeprefix("outbox:")))
            first_batch.set()

    outcome: dict[str, Any] = {}

    def run_sweep() -> None:
        try:
            ctx = sweeps.Context(worker="test", log=log)
            outcome["counts"] = sweeps.BY_NAME["notify"].run(app, ctx)
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc
        finally:
            first_batch.set()

    sweeper = threading.Thread(target=run_sweep)
    sweeper.start()
    # the other commands: their own engine, so their own connections
    other = bootstrap(app.url, clock, check=False)
    writes: list[Callable[[], Any]] = [
        lambda: insatser.add(
            other,
            None,
            actor_email=CHEF,
            name="Ny insats",
            owner="region-skane",
            start=date(2027, 2, 1),
        ),
        lambda: meetings.move(other, board["id"], date(2027, 5, 18), actor_email=CHEF),
        lambda: reports.submit(other, obligation, doc, leader),
        lambda: plans.move(other, plan, "submit", actor_email=CHEF),
    ]
    try:
        assert first_batch.wait(timeout=120)
        assert "error" not in outcome, outcome
        with ThreadPoolExecutor(len(writes)) as pool:
            results = [f.result() for f in [pool.submit(w) for w in writes]]
        queued_meanwhile = len(queued)
        running = sweeper.is_alive()
    finally:
        sweeper.join()
        other.engine.dispose()

    assert "error" not in outcome, outcome
    assert all(results)
    # the writes began after the first batch and ended before the last one
    assert notify.BATCH <= queued_meanwhile < REMINDERS and running
    assert outcome["counts"]["reminders"] == REMINDERS == len(queued) == _reminders(app)
    with read(app) as uow:
        s = uow.session
        assert s.get(Obligation, obligation).state == "submitted"
    moved = next(m for m in meetings.list_meetings(app, None, 2027) if m["id"] == board["id"])
    assert moved["date"] == "2027-05-18"
    assert plans.show(app, plan)["state"] != "draft"


def test_sweeps_and_the_dry_run_render_no_message_inside_a_transaction(
    app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_maria(app)
    owe_reports(app, notify.BATCH + 20, "2027-10-10")
    advance_to(clock, "2027-10-06T09:00")  # 2028 has no meetings: the chef is reminded
    spy = RenderSpy(monkeypatch)
    dry = sweeps.dry_run(app)
    assert dry["notify"]["reminders"] > notify.BATCH and dry["year"]["cycle_reminders"] == 1
    assert len(dry["would_send"]) == len(spy.rendered)
    ctx = sweeps.Context(worker="test")
    year = sweeps.BY_NAME["year"].run(app, ctx)
    counts = sweeps.BY_NAME["notify"].run(app, ctx)
    assert year == dry["year"] and counts == dry["notify"]
    assert {"cycle", "reminder", "notice"} <= set(spy.rendered)
    assert spy.inside == []


def test_what_changed_between_the_read_and_the_insert_is_not_queued(
    app: Any, clock: Any, tmp_path: Path
) -> None:
    add_maria(app)
    kinds = {r["id"]: r["kind"] for r in reports.generate(app, None, 2027, actor_email=CHEF)}
    owe_reports(app, 1, "2027-05-10", prefix="kept")  # its 14-day reminder: still due
    advance_to(clock, "2027-05-04T15:00")  # the board's kallelse (11 May) and reminders due
    now = clock.now()
    with read(app) as uow:
        drafts = {
            kinds.get(d.holds.id, "kept") if d.kind == "reminder" else d.kind: d
            for d in notify.due_in(uow.session, now)
        }
    assert set(drafts) == {"arsberattelse", "tertial-1", "kept", "notice"}
    doc = tmp_path / "rapport.pdf"
    doc.write_bytes(b"rapport")
    # meanwhile: the årsberättelse is submitted and the board meeting moved, and
    # with it the due date of the tertial report it handles
    reports.submit(app, drafts["arsberattelse"].holds.id, doc, LEADER)
    meetings.move(app, drafts["notice"].holds.id, date(2027, 5, 18), actor_email=CHEF)
    queued = [q.key for q in notify.queue(app, drafts.values(), now)]
    assert queued == [drafts["kept"].key]
    assert notify.queue(app, drafts.values(), now) == []  # each key once
    # the next sweep: the tertial reminder at its new due date; the kallelse of
    # the meeting, now two weeks away, when its time comes
    # (late by then: the project leader's, and the förbundschef's copy)
    assert notify.sweep(app) == {"reminders": 2, "notices": 0}
