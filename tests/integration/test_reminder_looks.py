"""A report's reminders are looked at when the next one comes, and again whenever what they
hang on changes: its due date, its project people, its förbund's rules.

The notify sweep reads only the reports whose next reminder has come
(`next_reminder_at`), so a sweep with nothing due reads none. These tests hold the
other half: a change that makes a reminder due now is never left waiting for the
report's next reminder."""

from __future__ import annotations

import threading
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CHEF, LEADER, SOS_FILE, add_maria, advance_to, begin_2027
from smtp_sink import Sink

from workflow.core.clock import LOCAL_TZ
from workflow.core.models import Obligation
from workflow.core.uow import UnitOfWork
from workflow.forbund import registry
from workflow.forbund.file import parse_forbund
from workflow.mail import compose
from workflow.reports import insatser
from workflow.scheduler import daemon as scheduler
from workflow.scheduler import sweeps

CONTACT = "per.berg@skane.example"


@pytest.fixture
def year(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """January 2027, the cycle generated, Mariamottagningen owing its reports."""
    begin_2027(app, clock, tmp_path, monkeypatch)
    app.maria = add_maria(app)["id"]
    return app


def tick(app: Any) -> None:
    results = scheduler.tick(app, log=sweeps.quiet)
    assert all(r["outcome"] == "ok" for r in results), results


def tertial_1(sink: Sink, to: str) -> list[str]:
    """The subjects of the tertial 1 reminders `to` has had."""
    return [
        str(r.message["Subject"])
        for r in sink.received
        if to in r.recipients and "Tertialrapport 1" in str(r.message["Subject"])
    ]


def next_looks(app: Any) -> dict[str, datetime | None]:
    with UnitOfWork(app) as uow:
        rows = uow.session.execute(
            sa.select(Obligation.kind, Obligation.next_reminder_at).where(
                Obligation.state.in_(("pending", "returned"))
            )
        )
        return {kind: at for kind, at in rows}


def test_each_report_waits_for_its_next_reminder_once_this_one_is_sent(
    year: Any, clock: Any, sink: Sink
) -> None:
    advance_to(clock, "2027-04-06T09:00")  # tertial 1 is due 19 April: 14 days before has come
    tick(year)
    assert len(tertial_1(sink, LEADER)) == 1
    looks = next_looks(year)
    # three days before, at eight local time; nothing owed is looked at before its time
    assert looks["tertial-1"] == datetime(2027, 4, 16, 8, tzinfo=LOCAL_TZ)
    assert all(at is None or at > clock.now() for at in looks.values()), looks
    advance_to(clock, "2027-04-16T07:59")
    tick(year)
    assert len(tertial_1(sink, LEADER)) == 1
    advance_to(clock, "2027-04-16T08:00")
    tick(year)
    assert len(tertial_1(sink, LEADER)) == 2


def test_a_new_owner_contact_has_the_reminder_the_leader_already_had(
    year: Any, clock: Any, sink: Sink
) -> None:
    advance_to(clock, "2027-04-06T09:00")
    tick(year)
    assert tertial_1(sink, CONTACT) == []
    insatser.edit(year, year.maria, insatser.InsatsChanges(contact_email=CONTACT), actor_email=CHEF)
    tick(year)  # the same day: not at the next reminder, three days before
    assert len(tertial_1(sink, CONTACT)) == 1
    assert len(tertial_1(sink, LEADER)) == 1  # and the leader not again


def test_a_reminder_the_forbund_adds_to_its_rules_goes_at_the_next_sweep(
    year: Any, clock: Any, sink: Sink
) -> None:
    advance_to(clock, "2027-04-06T09:00")  # 13 days before tertial 1 is due
    tick(year)
    assert len(tertial_1(sink, LEADER)) == 1  # the one 14 days before
    data = tomllib.loads(SOS_FILE.read_text(encoding="utf-8"))
    data["mail"]["reminder_offsets"] = [14, 13, 3, 0, -7]
    registry.register(year, parse_forbund(data, "sydostra-skane.toml"), actor_email=CHEF)
    tick(year)
    assert len(tertial_1(sink, LEADER)) == 2  # 13 days before: come at 08:00 today


# SQLite's batch mode reflects the insatser's table, whose expression indexes it skips
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_an_upgraded_database_looks_at_every_report_owed_once(
    year: Any, clock: Any, sink: Sink
) -> None:
    """Reports owed before schema 0021 had no next look: the upgrade gives each one, so
    the first sweep after it sends what is due (a NULL would have meant never)."""
    from alembic import command

    from workflow.core.db import _alembic_config, upgrade

    tick(year)  # January: the year's reports are owed, their next looks set
    year.engine.dispose()
    with year.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0020")
    assert upgrade(year.engine) == ("0020", "0021")
    assert all(at is not None and at <= clock.now() for at in next_looks(year).values())
    advance_to(clock, "2027-04-06T09:00")
    tick(year)
    assert len(tertial_1(sink, LEADER)) == 1


def waiting_on_a_lock(app: Any) -> bool:
    """Whether a session of this database waits for a row lock (PostgreSQL)."""
    with app.engine.connect() as conn:
        return bool(
            conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
        )


@pytest.mark.parametrize("db_backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_rules_registered_while_a_sweep_moves_the_reports_on_wait_for_it_and_count(
    year: Any, clock: Any, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL, two writers: the förbund's new rules are registered while the sweep is
    moving its reports on to their next reminder. The sweep locks the reports before it
    reads the rules, so the registration waits for it and sets them back after: the
    reminder the new rules make due goes at the next sweep, not days later."""
    advance_to(clock, "2027-04-06T09:00")  # 13 days before tertial 1 is due
    data = tomllib.loads(SOS_FILE.read_text(encoding="utf-8"))
    data["mail"]["reminder_offsets"] = [14, 13, 3, 0, -7]
    rules = parse_forbund(data, "sydostra-skane.toml")
    settling, registering = threading.Event(), []
    real_heads, real_settle = compose.heads, compose.settle_reminders

    def settle(*args: Any, **kwargs: Any) -> Any:
        settling.set()
        return real_settle(*args, **kwargs)

    def heads(s: Any, *args: Any, **kwargs: Any) -> Any:
        found = real_heads(s, *args, **kwargs)  # the rules as they were
        if settling.is_set() and not registering:  # and now new ones come
            other = threading.Thread(
                target=registry.register, args=(year, rules), kwargs={"actor_email": CHEF}
            )
            other.start()
            registering.append(other)
            deadline = time.monotonic() + 30
            while other.is_alive() and not waiting_on_a_lock(year):
                assert time.monotonic() < deadline, "the registration neither waited nor ended"
                time.sleep(0.01)
        return found

    with monkeypatch.context() as patched:
        patched.setattr(compose, "settle_reminders", settle)
        patched.setattr(compose, "heads", heads)
        tick(year)
    registering[0].join(30)
    assert not registering[0].is_alive()
    assert len(tertial_1(sink, LEADER)) == 1  # the one 14 days before
    tick(year)
    assert len(tertial_1(sink, LEADER)) == 2  # 13 days before, by the new rules
