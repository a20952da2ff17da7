"""A sweep's cost must follow the work that is due, not the years of history behind it,
nor the number of förbund.

Two SQLite databases of Sydöstra Skåne: one with one year of history, one with
ten (each past year: its meetings, approved reports, sent messages and audit
rows). Both get the same work due now: reports whose reminders have fallen
due. Then, in the same run and interleaved, a tick (the year, notify and
outbox sweeps, delivering to a file folder) on a copy of each.
The förbund axis: one förbund and eighty, the same reminders due in total and
nothing else (BENCH_FORBUND_DUE; the förbund's own reports are owed later and
their kallelser are out), an idle tick and a due notify sweep on each,
interleaved (`idle_ratio`, `due_ratio`: eighty / one). Then the notify sweep's
rate on one core, warm as a running node is: reminders queued a second of wall
time and of CPU time (`reminders_per_second`, `reminders_per_cpu_second`), and
how long each of its write transactions held SQLite's write lock (median, max).
Then, on a throwaway PostgreSQL (FINSAM_TEST_DATABASE_URL, or one started here
with initdb and pg_ctl), three node processes against one finishing a notify
sweep of BENCH_NODES_DUE reminders over eighty förbund, each node warm before
the start (`nodes_ratio`: one node's time / three nodes'; the shares each of
the three queued; `nodes_cpu_ratio`: the three's CPU seconds together / one's).
The machine's cores and load are printed with it: three nodes finish sooner only
where there are cores for them and the server. BENCH_PG=0 skips it.
The last line is JSON with every figure. Not part of the tests.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


# ---------------------------------------------------------------- the förbund axis

FORBUND = int(os.environ.get("BENCH_FORBUND", "80"))
FORBUND_DUE = int(os.environ.get("BENCH_FORBUND_DUE", "400"))  # reminders due in total
RATE_DUE = int(os.environ.get("BENCH_RATE_DUE", "2000"))


def many(url: str, count: int, due_total: int) -> None:
    """`count` förbund with their 2027 cycle, two insatser each and their obligations, and
    `due_total` reports owed across them whose 14-day reminders are due at NOW."""
    import scale
    from helpers import owe_reports

    app, _ = scale.cycle_2027(url, count)
    nothing_else_due(app)
    owe_reports(app, due_total, "2027-03-10", prefix="due", spread=True)  # dealt out
    app.engine.dispose()


def nothing_else_due(app: Any) -> None:
    """Only the reminders dealt out over the förbund are due at NOW, whatever the number of förbund:
    the förbund's own reports are owed in December, and the kallelser due at NOW are
    queued and sent already (one a förbund, so eighty förbund would owe eighty more)."""
    import sqlalchemy as sa

    from workflow.core.models import Obligation, OutboxMessage
    from workflow.core.uow import UnitOfWork
    from workflow.mail import compose as notify

    with UnitOfWork(app) as uow:
        uow.session.execute(sa.update(Obligation).values(due="2027-12-31"))
        uow.commit()
    before = app.clock.now()
    app.clock.set(NOW)
    assert notify.sweep(app)["reminders"] == 0
    with UnitOfWork(app) as uow:
        uow.session.execute(sa.update(OutboxMessage).values(state="sent", sent_at=NOW))
        uow.commit()
    app.clock.set(before)


@contextmanager
def write_holds(engine: Any) -> Iterator[list[float]]:
    """The seconds each write transaction held the write lock, as they end: on SQLite from
    its BEGIN IMMEDIATE (once the lock is had) until its connection is back in the pool,
    commit included; on PostgreSQL (no one write lock) each transaction alike."""
    import sqlalchemy as sa

    from workflow.core.db import IMMEDIATE

    began: dict[int, float] = {}
    held: list[float] = []

    def begin(conn: Any) -> None:  # after the engine's own listener has begun
        if conn.dialect.name != "sqlite" or conn.get_execution_options().get(IMMEDIATE):
            began[id(conn.connection.dbapi_connection)] = time.perf_counter()

    def checkin(dbapi_connection: Any, record: Any) -> None:
        start = began.pop(id(dbapi_connection), None)
        if start is not None:
            held.append(time.perf_counter() - start)

    sa.event.listen(engine, "begin", begin)
    sa.event.listen(engine.pool, "checkin", checkin)
    try:
        yield held
    finally:
        sa.event.remove(engine, "begin", begin)
        sa.event.remove(engine.pool, "checkin", checkin)


CPU_IDLE: list[float] = []  # each idle tick's CPU seconds, as time_forbund measured them


def time_forbund(db: Path, folder: Path) -> tuple[float, float, int, float, list[float]]:
    """(a due notify sweep, an idle tick after it, reminders queued, the sweep's CPU
    seconds, how long each of its write transactions held the lock) on a copy of `db`."""
    from helpers import make_app

    from workflow.core.clock import FixedClock
    from workflow.mail import compose as notify
    from workflow.scheduler import daemon as scheduler
    from workflow.scheduler import sweeps

    copy = folder / f"run-{db.name}"
    shutil.copy(db, copy)
    app = make_app(f"sqlite:///{copy}", FixedClock(NOW), *[])
    with write_holds(app.engine) as held:
        start, cpu = time.perf_counter(), time.process_time()
        queued = notify.sweep(app)["reminders"]
        due, cpu = time.perf_counter() - start, time.process_time() - cpu
    with app.engine.begin() as conn:  # delivery is not measured here
        conn.exec_driver_sql("UPDATE outbox_message SET state = 'sent'")
    scheduler.tick(app, log=sweeps.quiet)
    idles, idle_cpus = [], []
    for _ in range(5):  # an idle tick is milliseconds: the median of a few
        start, idle_cpu = time.perf_counter(), time.process_time()
        scheduler.tick(app, log=sweeps.quiet)
        idles.append(time.perf_counter() - start)
        idle_cpus.append(time.process_time() - idle_cpu)
    idle = median(idles)
    CPU_IDLE.append(median(idle_cpus))
    app.engine.dispose()
    copy.unlink()
    return due, idle, queued, cpu, held


def forbund_axis(folder: Path) -> dict[str, Any]:
    one, eighty = folder / "forbund-1.db", folder / f"forbund-{FORBUND}.db"
    many(f"sqlite:///{one}", 1, FORBUND_DUE)
    many(f"sqlite:///{eighty}", FORBUND, FORBUND_DUE)
    got: dict[str, list[tuple[float, float, int, float, list[float]]]] = {"one": [], "many": []}
    idle_cpu: dict[str, list[float]] = {"one": [], "many": []}
    for _ in range(ROUNDS):
        for which, db in (("one", one), ("many", eighty)):
            got[which].append(time_forbund(db, folder))
            idle_cpu[which].append(CPU_IDLE[-1])
    due1, idle1 = median(x[0] for x in got["one"]), median(x[1] for x in got["one"])
    dueN, idleN = median(x[0] for x in got["many"]), median(x[1] for x in got["many"])
    # CPU seconds too: the machine's other work slows the wall clock, not the CPU time
    cpu_due1, cpu_dueN = median(x[3] for x in got["one"]), median(x[3] for x in got["many"])
    cpu_idle1, cpu_idleN = median(idle_cpu["one"]), median(idle_cpu["many"])
    assert all(x[2] == FORBUND_DUE for v in got.values() for x in v), got  # the same work
    return {
        "idle_one_ms": round(idle1 * 1000, 1),
        "idle_many_ms": round(idleN * 1000, 1),
        "idle_ratio": round(idleN / idle1, 2),
        "due_one_ms": round(due1 * 1000, 1),
        "due_many_ms": round(dueN * 1000, 1),
        "due_ratio": round(dueN / due1, 2),
        "idle_cpu_ratio": round(cpu_idleN / cpu_idle1, 2),
        "due_cpu_ratio": round(cpu_dueN / cpu_due1, 2),
    }


def rate(folder: Path) -> dict[str, Any]:
    """Reminders queued a second by the notify sweep, RATE_DUE over FORBUND förbund."""
    db = folder / "rate.db"
    many(f"sqlite:///{db}", FORBUND, RATE_DUE)
    time_forbund(db, folder)  # a running node has parsed the förbund files and templates
    runs = [time_forbund(db, folder) for _ in range(ROUNDS)]
    seconds, cpu = median(r[0] for r in runs), median(r[3] for r in runs)
    held = sorted(h for r in runs for h in r[4])
    return {
        "rate_due": runs[0][2],
        "reminders_per_second": round(runs[0][2] / seconds),
        "reminders_per_cpu_second": round(runs[0][2] / cpu),
        "writes": len(held) // len(runs),
        "write_held_median_ms": round(median(held) * 1000, 1),
        "write_held_max_ms": round(held[-1] * 1000, 1),
    }


# ---------------------------------------------------------------- PostgreSQL: nodes


NODES_DUE = int(os.environ.get("BENCH_NODES_DUE", "4000"))


def _node(url: str, ready: Any, go: Any, out: Any) -> None:
    """One node: started, connected and warm (its förbund files parsed, its templates
    compiled, as a running node's are) before the start; then a notify sweep, timed
    from the start to its end, its counts and CPU seconds handed back."""
    from workflow.bootstrap import bootstrap
    from workflow.core.clock import FixedClock
    from workflow.core.uow import read
    from workflow.mail import compose as notify
    from workflow.scheduler import sweeps

    app = bootstrap(url, FixedClock(NOW), must_exist=True, check=False)
    with read(app) as uow:
        drafts = notify.due_in(uow.session, NOW)
    for kind in {d.kind for d in drafts}:
        notify.render_draft(next(d for d in drafts if d.kind == kind), NOW)
    ready.set()
    go.wait()
    start, cpu = time.perf_counter(), time.process_time()
    counts = sweeps._notify(app, sweeps.Context(worker=str(os.getpid())))
    out.put((counts, time.perf_counter() - start, time.process_time() - cpu))
    app.engine.dispose()


def time_nodes(admin: str, template: str, nodes: int) -> tuple[float, list[Any]]:
    """(seconds from the start until every node has finished, each node's own figures)."""
    import uuid

    import sqlalchemy as sa

    name = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    readies = [ctx.Event() for _ in range(nodes)]
    procs = [ctx.Process(target=_node, args=(url, r, go, out)) for r in readies]
    for p in procs:
        p.start()
    for r in readies:
        r.wait(300)
    start = time.perf_counter()
    go.set()
    each = [out.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    check = sa.create_engine(url)
    with check.connect() as conn:
        n = conn.scalar(sa.text("SELECT count(*) FROM outbox_message WHERE kind = 'reminder'"))
    check.dispose()
    assert n == NODES_DUE == sum(c["reminders"] for c, *_ in each), (n, each)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    engine.dispose()
    return elapsed, each


def postgres_nodes() -> dict[str, Any]:

    import sqlalchemy as sa
    from throwaway_pg import NoPostgres, Server

    admin = os.environ.get("FINSAM_TEST_DATABASE_URL")
    server = None
    if not admin:
        try:
            server = Server()
        except NoPostgres as exc:
            return {"nodes_ratio": None, "why": str(exc)}
        admin = server.admin
    try:
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql('CREATE DATABASE "bench_sweep_template"')
        engine.dispose()
        template_url = admin.rsplit("/", 1)[0] + "/bench_sweep_template"
        many(template_url, FORBUND, NODES_DUE)
        times: dict[int, list[float]] = {1: [], 3: []}
        shares: list[list[int]] = []
        cpu: dict[int, list[float]] = {1: [], 3: []}
        busiest: dict[int, list[float]] = {1: [], 3: []}
        for _ in range(int(os.environ.get("BENCH_PG_ROUNDS", "3"))):
            for n in (1, 3):
                elapsed, each = time_nodes(admin, "bench_sweep_template", n)
                times[n].append(elapsed)
                cpu[n].append(sum(c for *_, c in each))
                busiest[n].append(max(c for *_, c in each))
                if n == 3:
                    shares.append(sorted(c["reminders"] for c, *_ in each))
        one, three = median(times[1]), median(times[3])
        return {
            "nodes_due": NODES_DUE,
            "one_node_ms": round(one * 1000, 1),
            "three_nodes_ms": round(three * 1000, 1),
            "nodes_ratio": round(one / three, 2),
            # each round's (one node, three nodes): how much the machine's load moved them
            "nodes_rounds_ms": [
                [round(a * 1000), round(b * 1000)] for a, b in zip(times[1], times[3], strict=True)
            ],
            "three_nodes_shares": shares[len(shares) // 2],
            "nodes_cpu_ratio": round(median(cpu[3]) / median(cpu[1]), 2),
            # the one node's CPU seconds / the busiest of the three's: the speed-up where
            # each node has a core of its own (the server's work not counted)
            "nodes_busiest_ratio": round(median(busiest[1]) / median(busiest[3]), 2),
        }
    finally:
        if server is not None:
            server.stop()


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
    axis = forbund_axis(folder)
    speed = rate(folder)
    load = round(os.getloadavg()[0], 2)  # before the PostgreSQL part: others' work too
    pg = postgres_nodes() if os.environ.get("BENCH_PG", "1") != "0" else {"nodes_ratio": None}
    print(f"{DUE_NOW} reminders due; history of {PER_YEAR} reports, messages and audit rows a year")
    print(f"tick on one year of history:  {a * 1000:7.1f} ms (median of {ROUNDS})")
    print(f"tick on ten years of history: {b * 1000:7.1f} ms")
    print(f"{FORBUND_DUE} reminders due in 1 förbund and spread over {FORBUND}:")
    print(f"  idle tick: {axis['idle_one_ms']:7.1f} ms vs {axis['idle_many_ms']:7.1f} ms"
          f"  ratio {axis['idle_ratio']} (CPU time: {axis['idle_cpu_ratio']})")  # fmt: skip
    print(f"  notify sweep: {axis['due_one_ms']:7.1f} ms vs {axis['due_many_ms']:7.1f} ms"
          f"  ratio {axis['due_ratio']} (CPU time: {axis['due_cpu_ratio']})")  # fmt: skip
    print(f"notify sweep of {speed['rate_due']} reminders over {FORBUND} förbund, one core: "
          f"{speed['reminders_per_second']} reminders/s "
          f"({speed['reminders_per_cpu_second']} per CPU second)")  # fmt: skip
    print(f"  {speed['writes']} write transactions, the write lock held "
          f"{speed['write_held_median_ms']} ms (median), {speed['write_held_max_ms']} ms "
          f"at most")  # fmt: skip
    if pg.get("nodes_ratio") is not None:
        print(f"PostgreSQL, {NODES_DUE} reminders over {FORBUND} förbund: one node "
              f"{pg['one_node_ms']:.0f} ms, three nodes {pg['three_nodes_ms']:.0f} ms, "
              f"ratio {pg['nodes_ratio']} (shares {pg['three_nodes_shares']}, "
              f"CPU of three / one {pg['nodes_cpu_ratio']}, one's CPU / the busiest of three's "
              f"{pg['nodes_busiest_ratio']}; {os.cpu_count()} cores, "
              f"load {load})")  # fmt: skip
    print(
        json.dumps(
            {
                "due": DUE_NOW,
                "one_year_ms": round(a * 1000, 1),
                "ten_years_ms": round(b * 1000, 1),
                "history_ratio": round(b / a, 2),
                **axis,
                **speed,
                **pg,
                "cores": os.cpu_count(),
                "load": load,
            }
        )
    )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
