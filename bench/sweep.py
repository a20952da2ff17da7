"""A sweep's cost must follow the work that is due, not the years of history behind it.

Two SQLite databases of Sydöstra Skåne: one with one year of history, one with
ten (each past year: its meetings, approved reports, sent messages and audit
rows). Both get the same work due now: reports whose reminders have fallen
due. Then, in the same run and interleaved, a tick (the year, notify and
outbox sweeps, delivering to a file folder) on a copy of each. The last line
is JSON with `history_ratio` = ten-year tick time / one-year tick time.
Not part of the tests.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

DUE_NOW = int(os.environ.get("BENCH_DUE", "200"))
PER_YEAR = int(os.environ.get("BENCH_PER_YEAR", "400"))  # reports, messages, audit rows
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def history(app: Any, clock: Any, years: int) -> None:
    """`years` past years, each with meetings, approved reports, sent mail and audit rows."""
    for year in range(2027 - years, 2027):
        history_year(app, clock, year)


def history_year(app: Any, clock: Any, year: int, *, meetings: bool = True) -> None:
    """One past year of Sydöstra Skåne (the first förbund of the database): its meetings
    (unless made already), PER_YEAR approved reports, sent messages and audit rows.
    Also the data builder of bench/web.py."""
    import sqlalchemy as sa
    from helpers import CHEF, owe_reports

    from workflow.core import audit
    from workflow.core.models import OutboxMessage
    from workflow.core.uow import UnitOfWork
    from workflow.cycle import meetings as calendar

    if meetings:
        clock.set(datetime(year, 1, 2, 9, tzinfo=UTC))
        calendar.generate(app, "sydostra-skane", year, actor_email=CHEF)
    owe_reports(app, PER_YEAR, f"{year}-05-01", prefix=f"h{year}", year=year, state="approved")
    at = datetime(year, 6, 1, 9, tzinfo=UTC)
    with UnitOfWork(app) as uow:
        s = uow.session
        s.execute(
            sa.insert(OutboxMessage),
            [
                {
                    "key": f"history:{year}:{i}",
                    "forbund_key": "sydostra-skane",
                    "kind": "reminder",
                    "subject": "Påminnelse",
                    "sender": "kansli@sos.example",
                    "recipients": ["ledare@sos.example"],
                    "message_id": f"<history.{year}.{i}@sos.example>",
                    "raw": b"Subject: x\r\n\r\nx\r\n" * 40,
                    "state": "sent",
                    "not_before": at,
                    "attempts": 1,
                    "sent_at": at,
                    "created_at": at,
                }
                for i in range(PER_YEAR)
            ],
        )
        for i in range(PER_YEAR):
            audit.append(
                s,
                at=at,
                forbund_key="sydostra-skane",
                plan_id=None,
                plan_year=None,
                subject=f"history:{year}:{i}",
                revision=0,
                action="approve",
                kind="report",
                from_state="submitted",
                to_state="approved",
                actor_email="chef@sos.example",
                actor_name="Chef",
                actor_role="förbundschef",
                comment=None,
                content_sha256="",
            )
        uow.commit()


def build(folder: Path, years: int) -> Path:
    from helpers import CHEF, make_app, owe_reports

    from workflow.core.clock import FixedClock
    from workflow.cycle import meetings

    path = folder / f"history-{years}.db"
    clock = FixedClock(datetime(2027 - years, 1, 1, 9, tzinfo=UTC))  # the trail never goes back
    app = make_app(f"sqlite:///{path}", clock)
    history(app, clock, years)
    clock.set(datetime(2027, 1, 2, 9, tzinfo=UTC))
    meetings.generate(app, "sydostra-skane", 2027, actor_email=CHEF)
    owe_reports(app, DUE_NOW, "2027-03-10", prefix="due")  # 14-day reminders due by now
    app.engine.dispose()
    return path


def time_tick(db: Path, folder: Path, mail: Path) -> float:
    from helpers import make_app

    from workflow.core.clock import FixedClock
    from workflow.scheduler import daemon as scheduler
    from workflow.scheduler import sweeps

    copy = folder / f"run-{db.name}"
    shutil.copy(db, copy)
    shutil.rmtree(mail, ignore_errors=True)
    app = make_app(f"sqlite:///{copy}", FixedClock(NOW))
    start = time.perf_counter()
    results = scheduler.tick(app, log=sweeps.quiet)
    elapsed = time.perf_counter() - start
    sent = next(r for r in results if r["sweep"] == "outbox")["counts"]["sent"]
    assert sent >= DUE_NOW, results  # and a kallelse or so, alike in both
    app.engine.dispose()
    copy.unlink()
    return elapsed


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="finsam-sweep-"))
    mail = folder / "mail"
    os.environ["FINSAM_MAIL_URL"] = f"file://{mail}"
    one, ten = build(folder, 1), build(folder, 10)
    times: dict[str, list[float]] = {"one": [], "ten": []}
    for _ in range(ROUNDS):  # interleaved, so noise hits both alike
        times["one"].append(time_tick(one, folder, mail))
        times["ten"].append(time_tick(ten, folder, mail))
    a, b = median(times["one"]), median(times["ten"])
    print(f"{DUE_NOW} reminders due; history of {PER_YEAR} reports, messages and audit rows a year")
    print(f"tick on one year of history:  {a * 1000:7.1f} ms (median of {ROUNDS})")
    print(f"tick on ten years of history: {b * 1000:7.1f} ms")
    print(
        json.dumps(
            {
                "due": DUE_NOW,
                "one_year_ms": round(a * 1000, 1),
                "ten_years_ms": round(b * 1000, 1),
                "history_ratio": round(b / a, 2),
            }
        )
    )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
