"""The start page: the förbundschef's desk (plans, meetings, late reports, failed mail
with a retry, the scheduler's nodes) and what other people see."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from helpers import CHAIR, CHEF, dump, owe_reports
from webtools import csrf_of, signed_in_client

from workflow.core import audit
from workflow.core.models import Forbund
from workflow.core.uow import UnitOfWork
from workflow.forbund import registry as forbunds
from workflow.mail import compose as notify
from workflow.mail import delivery
from workflow.plans import services as plans
from workflow.plans.content import Content

ALE_CHAIR = "bengt.alm@kungalv.example"


def _late_report(app: Any, name: str) -> None:
    """An ended insats of Sydöstra Skåne whose final report was due on 1 March."""
    owe_reports(app, 1, "2027-03-01", prefix=name)
    with app.engine.begin() as conn:  # owe_reports takes whichever förbund comes first
        conn.execute(
            sa.text(
                "UPDATE insats SET forbund_id = "
                "(SELECT id FROM forbund WHERE key = 'sydostra-skane') WHERE name = :n"
            ),
            {"n": f"{name} 0"},
        )


def _failed_message(app: Any, forbund_key: str, subject_key: str) -> int:
    """A message of the förbund that could not be sent."""
    now = app.clock.now()
    with UnitOfWork(app) as uow:
        s = uow.session
        row = s.scalars(sa.select(Forbund).where(Forbund.key == forbund_key)).one()
        cfg = forbunds.config_of(row)
        message = notify.enqueue(
            s,
            key=subject_key,
            forbund_key=row.key,
            kind="arrival",
            cfg=cfg,
            to=[cfg.chef()[1]],
            cc=None,
            now=now,
            not_before=now,
            context={
                "plan_title": "Verksamhetsplan 2028",
                "revision": 1,
                "body": "Styrelsen",
                "meeting_date": now.date(),
                "meeting_time": "14:00",
                "location": "Ystad",
                "comment": None,
                "forbund": cfg.forbund.name,
            },
        )
        uow.commit()
        message_id = message.id
    with app.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE outbox_message SET state = 'failed', last_error = :e WHERE id = :i"),
            {"e": "550 mailbox unavailable", "i": message_id},
        )
    return int(message_id)


def test_the_desk_shows_late_reports_and_failed_mail_and_retry_works(year: Any) -> None:
    _late_report(year, "sen")
    mine = _failed_message(year, "sydostra-skane", "desk:1")
    theirs = _failed_message(year, "ale-kungalv", "desk:2")
    chef = signed_in_client(year, CHEF)
    desk = chef.get("/")
    assert desk.status_code == 200
    text = desk.text
    assert "Sena och återsända rapporter" in text and "sen 0" in text and "sen, " in text
    assert "550 mailbox unavailable" in text and f'action="/mail/{mine}/retry"' in text
    assert f'action="/mail/{theirs}/retry"' not in text  # Ale-Kungälv's mail is theirs
    assert "Schemaläggaren" in text and "Ingen nod av schemaläggaren lever" in text
    assert "Nästa möten" in text
    answer = chef.post(f"/mail/{mine}/retry", data={"csrf": csrf_of(text, f"/mail/{mine}/retry")})
    assert answer.status_code == 303
    assert delivery.show(year, mine)["state"] == "queued"
    row = audit.log(year, subject=f"message:{mine}")[-1]
    assert (row["action"], row["actor"], row["channel"]) == ("retry", CHEF, "web")
    before = dump(str(year.engine.url))
    other = chef.post(f"/mail/{theirs}/retry", data={"csrf": csrf_of(text, "/signout")})
    assert other.status_code == 404
    assert dump(str(year.engine.url)) == before


def test_others_see_their_plans_and_meetings_not_the_desk(year: Any) -> None:
    _late_report(year, "sen")
    _failed_message(year, "sydostra-skane", "desk:1")
    pid = plans.create(
        year,
        forbund_key="sydostra-skane",
        year=2028,
        last_year=None,
        title=None,
        actor_email=CHEF,
        content=Content("# Plan\n\nText.", "markdown"),
    )["id"]
    plans.move(year, pid, "submit", actor_email=CHEF)  # before the presidium
    chair = signed_in_client(year, CHAIR)
    text = chair.get("/").text
    assert f'href="/plans/{pid}"' in text and "väntar på er" in text
    assert "Nästa möten" in text and "Presidiet" in text
    assert "Sena och återsända rapporter" not in text and "550 mailbox" not in text
    assert "Schemaläggaren" not in text
    ale = signed_in_client(year, ALE_CHAIR).get("/").text
    assert f'href="/plans/{pid}"' not in ale
