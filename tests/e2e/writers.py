"""Shared pieces of the busy-database and concurrent-writer tests.

Imported, it gives the finsam program, a clean environment for it, a dump of a
SQLite file and the exact busy message. Run as a program it is one writer of
the concurrent-writer test:

    python writers.py INDEX SECONDS RESULTS.json

The writer builds its app once with `workflow.bootstrap.bootstrap()` (the same
FINSAM_* variables the CLI reads), prints "ready", waits for a line on stdin,
and then for SECONDS of wall time keeps calling the service functions the CLI
commands call, picking a command at random each time. A `FinsamError` gives the
exit code the CLI would give (its `exit_code`); anything else is what the CLI
would show as a traceback with exit 1, and is recorded as a crash with its
traceback. The counts go to RESULTS.json.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

FINSAM = str(Path(sys.executable).with_name("finsam"))
BUSY = "the database is busy: another finsam is writing; nothing was changed; try again"

CHEF = "annika.rasmusson@sydostraskane.example"
CHAIR = "karin.holm@ystad.example"

# The instant every writer works at (FINSAM_NOW): mid-June 2027, the 2027 cycle
# generated, so the autumn's meetings lie ahead and June's decisions are past.
NOW = "2027-06-15T10:00"
HELD = "2027-06-10"  # the (past) meeting at which bodies recommend and decide
PLAN_YEARS = (2028, 2029, 2030, 2031)
INSATSER = 6  # insatser at the start, each owing its 2027 reports
OTHER_YEARS = range(2032, 2040)  # cycles the writers generate (and cancel meetings of)
SHARED_NAMES = 12  # insats names every writer tries: the first wins, the rest get exit 2


def environment(url: str | None = None, **extra: str) -> dict[str, str]:
    """The test process's environment without any FINSAM_ variable, plus these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINSAM_")}
    if url:
        env["FINSAM_DATABASE_URL"] = url
    env.update(extra)
    return env


def sqlite_dump(path: Path) -> list[str]:
    """The SQL text of every table and row of a SQLite file."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


# ---------------------------------------------------------------- one writer


class Writer:
    """One writer process's loop: pick a command, look (read) as a user would, act."""

    def __init__(self, index: int, data_dir: Path) -> None:
        from workflow.bootstrap import bootstrap

        self.index = index
        self.rng = random.Random(1000 + index)
        self.app = bootstrap()
        self.data_dir = data_dir
        self.serial = 0
        self.plans = self._plan_ids()
        self.meetings = self._future_meetings(2027)
        self.results: list[tuple[str, int, float]] = []
        self.busy = 0  # how many of the exit 3s were the busy deadline (the rest: conflicts)
        self.crashes: list[dict[str, str]] = []

    # -- reading what a user would look at first (plan show, cycle show, reports status)

    def _plan_ids(self) -> list[int]:
        from workflow.plans import services as plans

        return [p["id"] for p in plans.list_plans(self.app)]

    def _future_meetings(self, year: int) -> list[int]:
        from workflow.cycle import meetings

        return [
            m["id"]
            for m in meetings.list_meetings(self.app, None, year)
            if m["date"] > NOW[:10] and m["status"] == "planned"
        ]

    # -- the commands

    def plan_move(self) -> tuple[str, Callable[[], Any]]:
        """`plan move`: the action the plan's state calls for, sometimes with --if-version."""
        from workflow.plans import services as plans

        pid = self.rng.choice(self.plans)
        seen = plans.show(self.app, pid)
        version = seen["version"] if self.rng.random() < 0.5 else None
        state = seen["state"]
        meeting = date.fromisoformat(HELD)
        para = str(self.rng.randint(1, 99))
        args: dict[str, Any]
        if state == "draft":
            args = {"action": "submit", "actor_email": CHEF}
        elif state == "presidium":
            action = self.rng.choice(["recommend-adopt", "recommend-send-back", "revise"])
            args = {"action": action, "actor_email": CHAIR, "meeting": meeting}
            args["comment"] = "Presidiet har berett ärendet"
            if action == "revise":
                args = {"action": action, "actor_email": CHEF, "comment": "Ny siffra"}
        elif state == "beredningsgrupp":
            args = {"action": "recommend-adopt", "actor_email": CHEF, "meeting": meeting}
        elif state == "styrelse":
            action = "adopt" if self.rng.random() < 0.3 else "send-back"
            args = {"action": action, "actor_email": CHEF, "meeting": meeting, "paragraph": para}
            args["comment"] = "Styrelsen vill se en ny budget"
        elif state == "adopted":
            args = {"action": "revise", "actor_email": CHEF, "comment": "Ändrade förutsättningar"}
        else:
            args = {"action": "force", "actor_email": CHEF, "target": "draft", "comment": "Åter"}
        action = args.pop("action")
        return "plan move", lambda: plans.move(
            self.app, pid, action, expected_version=version, **args
        )

    def plan_edit(self) -> tuple[str, Callable[[], Any]]:
        """`plan edit --title`: refused (2) unless the plan is in draft."""
        from workflow.plans import services as plans

        pid = self.rng.choice(self.plans)
        version = plans.show(self.app, pid)["version"] if self.rng.random() < 0.5 else None
        title = f"Verksamhetsplan {pid}, skrivare {self.index} ändring {self.serial}"
        return "plan edit", lambda: plans.edit(
            self.app, pid, actor_email=CHEF, title=title, expected_version=version
        )

    def meeting_move(self) -> tuple[str, Callable[[], Any]]:
        """`meeting move ID --to DATE`: weekends, holidays and cancelled meetings give 2."""
        from workflow.cycle import meetings

        mid = self.rng.choice(self.meetings)
        day = date(2027, 8, 16) + timedelta(days=self.rng.randint(0, 110))
        return "meeting move", lambda: meetings.move(self.app, mid, day, actor_email=CHEF)

    def meeting_cancel(self) -> tuple[str, Callable[[], Any]]:
        """`meeting cancel ID` on another year's cycle; without one, `cycle generate` it."""
        from workflow.cycle import meetings

        year = self.rng.choice(OTHER_YEARS)
        ids = [m["id"] for m in meetings.list_meetings(self.app, None, year)]
        if not ids:
            return "cycle generate", lambda: meetings.generate(
                self.app, None, year, actor_email=CHEF
            )
        mid = self.rng.choice(ids)
        return "meeting cancel", lambda: meetings.cancel(self.app, mid, actor_email=CHEF)

    def cycle_generate(self) -> tuple[str, Callable[[], Any]]:
        """`cycle generate --year Y` of another year: once per year, then 2."""
        from workflow.cycle import meetings

        year = self.rng.choice(OTHER_YEARS)
        return "cycle generate", lambda: meetings.generate(self.app, None, year, actor_email=CHEF)

    def insats_add(self) -> tuple[str, Callable[[], Any]]:
        """`insats add`: half with a name of its own, half with a name all writers try."""
        from workflow.reports import insatser

        if self.rng.random() < 0.5:
            name = f"Insats {self.index}-{self.serial}"
        else:
            name = f"Gemensam insats {self.rng.randrange(SHARED_NAMES)}"
        return "insats add", lambda: insatser.add(
            self.app,
            None,
            actor_email=CHEF,
            name=name,
            owner="region-skane",
            start=date(2026, 1, 1),
            leader_name="Ledare",
            leader_email=f"ledare{self.index}@insats.example",
            budget={2027: 500},
        )

    def reports_generate(self) -> tuple[str, Callable[[], Any]]:
        """`reports generate --year 2027`: the new insatser's obligations (safe to repeat)."""
        from workflow.reports import obligations as reports

        return "reports generate", lambda: reports.generate(self.app, None, 2027, actor_email=CHEF)

    def report_step(self) -> tuple[str, Callable[[], Any]]:
        """`reports submit|approve|return` on an obligation, as its state calls for."""
        from workflow.reports import obligations as reports

        rows = reports.status(self.app, None, 2027)
        o = self.rng.choice(rows)
        if o["state"] == "submitted":
            if self.rng.random() < 0.15:
                return "reports approve", lambda: reports.decide(self.app, o["id"], "approve", CHEF)
            return "reports return", lambda: reports.decide(
                self.app, o["id"], "return", CHEF, "Komplettera med SUS-data"
            )
        doc = self.data_dir / f"rapport-{self.index}-{self.serial}.txt"
        doc.write_text(f"Rapport {o['id']} från skrivare {self.index}, nummer {self.serial}\n")
        return "reports submit", lambda: reports.submit(self.app, o["id"], doc, CHEF)

    def outbox_queue(self) -> tuple[str, Callable[[], Any]]:
        """`outbox queue`: reminders and kallelser that have fallen due (safe to repeat)."""
        from workflow.mail import compose as notify

        return "outbox queue", lambda: notify.sweep(self.app)

    COMMANDS: tuple[tuple[str, int], ...] = (
        ("plan_move", 30),
        ("plan_edit", 8),
        ("meeting_move", 10),
        ("meeting_cancel", 3),
        ("cycle_generate", 3),
        ("insats_add", 6),
        ("reports_generate", 4),
        ("report_step", 28),
        ("outbox_queue", 8),
    )

    def one(self) -> None:
        from workflow.core.exceptions import Busy, FinsamError

        self.serial += 1
        names, weights = zip(*self.COMMANDS, strict=True)
        choose = getattr(self, self.rng.choices(names, weights)[0])
        kind = choose.__name__
        started = time.monotonic()
        try:
            kind, call = choose()  # what a user looks at first, then the command
            started = time.monotonic()
            call()
            code = 0
        except FinsamError as exc:
            code = exc.exit_code
            self.busy += isinstance(exc, Busy)
        except Exception:
            code = 1
            self.crashes.append({"kind": kind, "traceback": traceback.format_exc()})
        self.results.append((kind, code, time.monotonic() - started))

    def run(self, seconds: float) -> None:
        """Write for `seconds`, and on until one command has gone through: on a loaded
        machine a writer at nice 10 gets few turns, and the test asks that every writer
        gets through some. It gives up at three times `seconds`, so a writer that never
        succeeds still fails the test."""
        start = time.monotonic()
        end, give_up = start + seconds, start + 3 * seconds
        while time.monotonic() < end or (
            time.monotonic() < give_up and not any(code == 0 for _, code, _ in self.results)
        ):
            self.one()


# The writers' CPU priority: below the rest of the suite's (nice 10). The eight still
# contend with each other as before (the same priority, one database); they write for
# SECONDS of wall time whatever they get, and yield the cores to the tests running
# beside them instead of taking both for half a minute.
NICE = 10


def main(argv: list[str]) -> None:
    index, seconds, out = int(argv[1]), float(argv[2]), Path(argv[3])
    os.nice(NICE)
    writer = Writer(index, out.parent)
    print("ready", flush=True)
    sys.stdin.readline()
    writer.run(seconds)
    out.write_text(
        json.dumps({"results": writer.results, "busy": writer.busy, "crashes": writer.crashes})
    )
    writer.app.engine.dispose()


if __name__ == "__main__":
    main(sys.argv)
