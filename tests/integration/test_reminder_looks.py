"""A report's reminders are looked at when the next one comes, and again whenever what they
hang on changes: its due date, its project people, its förbund's rules.

The notify sweep reads only the reports whose next reminder has come
(`next_reminder_at`), so a sweep with nothing due reads none. These tests hold the
other half: a change that makes a reminder due now is never left waiting for the
report's next reminder."""

from __future__ import annotations

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
