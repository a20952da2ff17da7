"""Databases of many förbund and many years, for the web's statement counts and bench/web.py.

Every förbund is Sydöstra Skåne's file under another key, with every address
moved to a domain of its own (`karin.holm@ystad.f07.example`), so nobody is in
two förbund. Each förbund gets, per year, its meetings and one plan submitted to
the presidium (on its agenda), and, when asked for, two insatser
(`with_insatser`) with their report obligations, so the later years have data
like the first.
The signed-in person is Sydöstra Skåne's förbundschef, whose current year
looks the same in a database of one förbund and one year as in a big one:
what a page shows does not change, only what lies beside it.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpers import CHEF, SOS_FILE

SOS = "sydostra-skane"


def other_key(n: int) -> str:
    return f"f{n:02d}"


def chef_of(key: str) -> str:
    """The förbundschef's address in förbund `key`."""
    return CHEF if key == SOS else CHEF.replace(".example", f".{key}.example")


def forbund_file(key: str) -> Any:
    """Sydöstra Skåne's file as förbund `key`, its people at addresses of their own."""
    from workflow.forbund.file import parse_forbund

    text = SOS_FILE.read_text(encoding="utf-8")
    if key != SOS:
        text = text.replace(f'key = "{SOS}"', f'key = "{key}"', 1)
        text = text.replace('.example"', f'.{key}.example"')
    data = tomllib.loads(text)
    if key != SOS:
        data["forbund"]["name"] = f"Samordningsförbundet {key.upper()}"
    return parse_forbund(data, f"{SOS_FILE} as {key}")


def register(app: Any, keys: list[str]) -> None:
    from workflow.forbund import registry

    for key in keys:
        registry.register(app, forbund_file(key))


INSATSER = ("Mariamottagningen", "Unga vuxna")


def leader_of(key: str, n: int = 0) -> str:
    """The project leader of the förbund's `n`th insats (each leads one insats only)."""
    return f"ledare{n}@{key}.example"


def insats_name(n: int) -> str:
    """The `n`th insats's name: the two most tests know, then numbered ones."""
    return INSATSER[n] if n < len(INSATSER) else f"Insats {n + 1}"


def with_insatser(app: Any, keys: list[str], count: int = 2, since: int = 2019) -> None:
    """Each förbund's `count` insatser (two unless told), running since `since`, a budget
    every year."""
    from datetime import date

    from workflow.reports import insatser

    for key in keys:
        for n in range(count):
            insatser.add(
                app,
                key,
                actor_email=chef_of(key),
                name=insats_name(n),
                owner="region-skane",
                start=date(since, 1, 1),
                leader_name=f"Ledare {n}",
                leader_email=leader_of(key, n),
                budget={y: 1000 + 100 * n for y in range(since, 2031)},
            )


def year_of_work(
    app: Any, clock: Any, keys: list[str], year: int, reports: bool = False
) -> dict[str, int]:
    """The year's meetings of each förbund, its reports owed and its plan, submitted; the
    plans' ids. One förbund after the other at the same instants: the trail's times
    never go back."""
    from workflow.cycle import meetings
    from workflow.plans import services as plans
    from workflow.plans.content import Content
    from workflow.reports import obligations

    clock.set(datetime(year, 1, 2, 9, tzinfo=UTC))
    for key in keys:
        meetings.generate(app, key, year, actor_email=chef_of(key))
        if reports:
            obligations.generate(app, key, year, actor_email=chef_of(key))
    clock.set(datetime(year, 1, 12, 9, tzinfo=UTC))
    made = {}
    for key in keys:
        made[key] = pid = plans.create(
            app,
            forbund_key=key,
            year=year,
            last_year=None,
            title=f"Verksamhetsplan {year}",
            actor_email=chef_of(key),
            content=Content(f"# Verksamhetsplan {year}\n\nText.\n", "markdown"),
        )["id"]
        plans.move(app, pid, "submit", actor_email=chef_of(key))
    return made


def build(
    app: Any,
    clock: Any,
    forbund: int,
    years: list[int],
    now: datetime,
    reports: bool = False,
) -> int:
    """`forbund` förbund (Sydöstra Skåne among them) with `years` of work each (and,
    with `reports`, their insatser and report obligations), the clock at `now`; the id
    of Sydöstra Skåne's plan for the last year. Sydöstra Skåne comes last in each year,
    so its current year is built alike whatever else the database holds."""
    keys = [*(other_key(n) for n in range(1, forbund)), SOS]
    register(app, keys)
    if reports:
        with_insatser(app, keys)
    made: dict[str, int] = {}
    for year in years:
        made = year_of_work(app, clock, keys, year, reports)
    clock.set(now)
    return made[SOS]


def report_file(key: str) -> bytes:
    """The small PDF every report of förbund `key` hands in when a year is settled in
    bulk: one file per förbund in the store, as its content differs by förbund only."""
    return f"%PDF-1.4\n% Rapport {key}\n%%EOF\n".encode("ascii")


def _staged_reports(store: Path, keys: list[str]) -> dict[str, Any]:
    """Each förbund's report file, staged through the file store's own `stage` (hashed
    and typed from its bytes as a submission is), to be published once its rows commit."""
    import os
    import tempfile

    from workflow.reports import files

    staged: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for key in keys:
                source = Path(tmp) / f"{key}.pdf"
                source.write_bytes(report_file(key))
                fd = os.open(source, os.O_RDONLY)
                try:
                    staged[key] = files.stage(store, fd, "rapport.pdf", 1024 * 1024)
                finally:
                    os.close(fd)
        except BaseException:
            for done in staged.values():
                done.discard()
            raise
    return staged


def settle_year(
    app: Any, keys: list[str], year: int, at: datetime, store: Path | None = None
) -> dict[str, int]:
    """The year gone by in förbund `keys` at `at`: each of the year's reports handed in by
    its insats's leader and approved by the förbundschef, a reminder sent for each, and
    every message queued before `at` sent. Bulk rows (a national database in minutes),
    but valid ones: each obligation moves as `reports submit` and `reports approve` move
    it (state, version, who and when), and its two rows continue both audit chains with
    the audit module's own hashes, so `audit verify` passes. The file each report names
    is in the report file store (`store`, else the one the app's database uses), put
    there by the store's own functions, staged before the rows commit and published
    after, one file per förbund shared by content hash: `finsam db check` finds it
    clean. The counts written."""
    from workflow.reports import files

    at = at.astimezone(UTC)
    staged = _staged_reports(store or files.root(app.url), keys)
    try:
        counts = _settle(app, keys, year, at, staged)
    except BaseException:
        for one in staged.values():
            one.discard()
        raise
    for one in staged.values():
        files.publish(one)
    return counts


def _settle(
    app: Any, keys: list[str], year: int, at: datetime, staged: dict[str, Any]
) -> dict[str, int]:
    """`settle_year`'s rows, committed; `staged` holds each förbund's report file."""
    import sqlalchemy as sa

    from workflow.core import audit
    from workflow.core.models import AuditEvent, Forbund, Insats, Obligation, OutboxMessage
    from workflow.core.uow import UnitOfWork
    from workflow.forbund import registry

    with UnitOfWork(app) as uow:
        s = uow.session
        last = audit.head(s)
        seq, prev = (last.seq, last.hash) if last else (0, audit.GENESIS)
        events: list[dict[str, Any]] = []
        moved: list[dict[str, Any]] = []
        mail: list[dict[str, Any]] = []
        for key in keys:
            row = s.scalars(sa.select(Forbund).where(Forbund.key == key)).one()
            chef = registry.config_of(row).actor(chef_of(key))
            assert chef is not None, key
            mine = audit.forbund_head(s, key)
            own, own_prev = (
                (mine.seq_in_forbund, mine.hash_in_forbund) if mine else (0, audit.GENESIS)
            )
            owed = s.execute(
                sa.select(Obligation, Insats)
                .join(Insats, Insats.id == Obligation.insats_id)
                .where(
                    Insats.forbund_id == row.id,
                    Obligation.year == year,
                    Obligation.state == "pending",
                )
                .order_by(Obligation.id)
            ).all()
            file = staged[key]
            for o, insats in owed:
                steps = (
                    ("submit", "pending", "submitted", insats.leader_email, insats.leader_name,
                     "project", f"rapport.pdf ({file.size} bytes, {file.mime})"),
                    ("approve", "submitted", "approved", chef.email, chef.name,
                     "förbundschef", None),
                )  # fmt: skip
                for action, before, after, email, name, role, comment in steps:
                    seq, own = seq + 1, own + 1
                    values: dict[str, Any] = {
                        "seq": seq, "at": at, "forbund_key": key, "plan_id": None,
                        "plan_year": None, "subject": f"obligation:{o.id}", "revision": 0,
                        "action": action, "kind": "report", "outcome": None,
                        "from_state": before, "to_state": after, "new_revision": None,
                        "actor_email": email, "actor_name": name, "actor_role": role,
                        "body": None, "meeting_date": None, "paragraph": None,
                        "comment": comment, "follows_recommendation": None,
                        "content_sha256": file.sha256, "channel": "cli", "prev_hash": prev,
                        "seq_in_forbund": own, "prev_hash_in_forbund": own_prev,
                    }  # fmt: skip
                    values["hash"] = prev = audit.row_hash(values)
                    values["hash_in_forbund"] = own_prev = audit.forbund_hash(values)
                    events.append(values)
                moved.append(
                    {
                        "id": o.id,
                        "state": "approved",
                        "version": o.version + 2,
                        "submitted_at": at,
                        "submitted_by": insats.leader_email,
                        "file_name": "rapport.pdf",
                        "file_size": file.size,
                        "file_sha256": file.sha256,
                        "decided_at": at,
                        "decided_by": chef.email,
                        "updated_at": at,
                    }
                )
                mail.append(
                    {
                        "key": f"scale:{year}:{o.id}",
                        "forbund_key": key,
                        "kind": "reminder",
                        "subject": f"Påminnelse: {o.name} {year}",
                        "sender": f"kansli@{key}.example",
                        "recipients": [insats.leader_email],
                        "message_id": f"<scale.{year}.{o.id}@{key}.example>",
                        "raw": b"Subject: x\r\n\r\nx\r\n" * 40,
                        "state": "sent",
                        "not_before": at,
                        "attempts": 1,
                        "sent_at": at,
                        "created_at": at,
                    }
                )
        if moved:
            s.execute(sa.update(Obligation), moved)
            s.execute(sa.insert(AuditEvent), events)
            s.execute(sa.insert(OutboxMessage), mail)
        sent = s.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.state == "queued",
                OutboxMessage.forbund_key.in_(keys),
                OutboxMessage.created_at < at,
            )
            .values(state="sent", sent_at=at, attempts=1)
        ).rowcount
        uow.commit()
    return {"approved": len(moved), "audit": len(events), "mail": len(mail) + sent}


def cycle_2027(url: str, count: int) -> tuple[Any, Any]:
    """(app, clock) of `count` förbund (Sydöstra Skåne and copies), each with its 2027
    cycle, two insatser and their obligations, made through the services; the clock at
    2 January 2027."""
    from helpers import make_app

    from workflow.core.clock import FixedClock
    from workflow.cycle import meetings
    from workflow.reports import obligations

    clock = FixedClock(datetime(2027, 1, 1, 9, tzinfo=UTC))
    app = make_app(url, clock)
    keys = [other_key(n) for n in range(1, count)]
    register(app, keys)
    everyone = [*keys, SOS]
    with_insatser(app, everyone)
    clock.set(datetime(2027, 1, 2, 9, tzinfo=UTC))
    for key in everyone:
        meetings.generate(app, key, 2027, actor_email=chef_of(key))
        obligations.generate(app, key, 2027, actor_email=chef_of(key))
    return app, clock
