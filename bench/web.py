"""The web's pages must cost the same on a national database as on a small one.

Two SQLite databases: one förbund and one year, and 80 förbund and ten years
(`tests/scale.py`: each förbund's meetings, its two insatser's report obligations
and a submitted plan every year; and
for Sydöstra Skåne, `bench/sweep.py`'s history every year: approved reports,
sent mail and audit rows). Sydöstra Skåne's current year is alike in both, so
its förbundschef sees the same pages. Each database is served by `finsam web`'s
app under uvicorn in a thread of this process; the bench signs the chef in
(a session row from `sessions.start`) and asks, in interleaved rounds, for
/healthz (the trivial route), the desk, the plan list, the plan page, the
reports, a report handed in and the tertial overview of both. Printed: pages
per second (median of the rounds) for each, the ratio big/small per page
(target: at most 1.3) and the SQL statements of one request to each page. The
last line is JSON. Not part of the tests.

The big database takes a few minutes to build; it is kept in
/tmp/finsam-bench-web/ under the schema head and the builder's version.
Settings: BENCH_ROUNDS (7), BENCH_REQUESTS per round and page (30),
BENCH_FORBUND (80), BENCH_YEARS (10), BENCH_PER_YEAR (sweep.py's history, 400).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

HERE = Path(__file__).resolve().parent
# this file is bench/web.py: its folder must not hide the `web` package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]
os.environ.setdefault("BENCH_PER_YEAR", "400")

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
FORBUND = int(os.environ.get("BENCH_FORBUND", "80"))
YEARS = int(os.environ.get("BENCH_YEARS", "10"))
NOW = datetime(2027, 8, 20, 9, tzinfo=UTC)
CACHE = Path("/tmp/finsam-bench-web")
BUILDER = "3"  # bump when the data built changes
PAGES = (
    "/healthz",
    "/",
    "/plans",
    "/plans/{plan}",
    "/rapporter",
    "/rapporter/{report}",
    "/sydostra-skane/oversikt/2027/tertial-1",
)


def build(path: Path, forbund: int, years: int) -> dict[str, int]:
    """The database at `path` (built once, then kept); the ids of Sydöstra Skåne's
    current plan and of its first insats's tertial 1 report, handed in with figures."""
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return {k: int(v) for k, v in json.loads(meta.read_text()).items()}
    from helpers import SOS_FILE, make_app
    from scale import SOS, leader_of, other_key, register, with_insatser, year_of_work

    from workflow.core.clock import FixedClock

    history_year = _sweep().history_year
    first = NOW.year - years + 1
    clock = FixedClock(datetime(first, 1, 1, 9, tzinfo=UTC))
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    app = make_app(f"sqlite:///{partial}", clock, SOS_FILE)  # Sydöstra Skåne first (id 1)
    keys = [*(other_key(n) for n in range(1, forbund)), SOS]
    register(app, keys)
    with_insatser(app, keys)
    plan = 0
    for year in range(first, NOW.year + 1):
        print(f"  building {path.name}: {year}", file=sys.stderr, flush=True)
        plan = year_of_work(app, clock, keys, year, reports=True)[SOS]
        if year < NOW.year:  # the years behind: reports, mail and audit rows
            history_year(app, clock, year, meetings=False)
    clock.set(NOW)
    _sent_before(app, datetime(NOW.year, 1, 1, tzinfo=UTC))
    report = _hand_in(app, path, leader_of(SOS))
    app.engine.dispose()
    partial.rename(path)
    ids = {"plan": plan, "report": report}
    meta.write_text(json.dumps(ids))
    return ids


def _sent_before(app: Any, day: datetime) -> None:
    """The mail the years behind queued (each year's reports owed) went long ago: sent,
    as in a förbund whose scheduler ran, not waiting on the desk."""
    import sqlalchemy as sa

    from workflow.core.models import OutboxMessage
    from workflow.core.uow import UnitOfWork

    with UnitOfWork(app) as uow:
        uow.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.state == "queued", OutboxMessage.created_at < day)
            .values(state="sent", sent_at=OutboxMessage.created_at)
        )
        uow.commit()


def _hand_in(app: Any, path: Path, leader: str) -> int:
    """Sydöstra Skåne's first insats's tertial 1 report of this year, with its figures."""
    from workflow.reports import obligations

    report = next(
        o
        for o in obligations.status(app, "sydostra-skane", NOW.year)
        if o["kind"] == "tertial-1" and o["insats_name"] == "Mariamottagningen"
    )
    doc = path.with_suffix(".pdf")
    doc.write_bytes(b"%PDF-1.4 rapport")
    figures = {
        "participants_women": "12",
        "participants_men": "9",
        "participants_other": "1",
        "participants_new": "7",
        "ended_work_or_studies": "4",
        "sus_up_to_date": "ja",
        "costs_tkr": "412,5",
        "goal_fulfilment": "Målen nås.",
    }
    obligations.submit(app, report["id"], doc, leader, figures)
    doc.unlink()
    return int(report["id"])


def _sweep() -> Any:
    """bench/sweep.py, whose history builder this reuses (bench/ is not on the path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sweep", HERE / "sweep.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Served:
    """`finsam web`'s app on one database, under uvicorn in a thread, the chef signed in."""

    def __init__(self, db: Path, ids: dict[str, int]) -> None:
        import httpx
        import uvicorn
        from helpers import CHEF

        from web.server import create_app
        from workflow.bootstrap import bootstrap
        from workflow.core.clock import FixedClock
        from workflow.identity import sessions

        self.app = bootstrap(f"sqlite:///{db}", FixedClock(NOW))
        self.ids = ids
        port = _free_port()
        config = uvicorn.Config(
            create_app(self.app), host="127.0.0.1", port=port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)  # start-up only: the server sets `started` when it listens
        secret = sessions.start(self.app, CHEF).secret
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", cookies={"finsam_session": secret}
        )

    def url(self, page: str) -> str:
        return page.format(**self.ids)

    def rate(self, page: str) -> float:
        """Pages per second over REQUESTS requests, one after the other."""
        url = self.url(page)
        start = time.perf_counter()
        for _ in range(REQUESTS):
            answer = self.client.get(url)
            assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
        return REQUESTS / (time.perf_counter() - start)

    def statements(self, page: str) -> int:
        import sqlalchemy as sa

        seen: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(statement)

        sa.event.listen(self.app.engine, "before_cursor_execute", count)
        try:
            self.client.get(self.url(page))
        finally:
            sa.event.remove(self.app.engine, "before_cursor_execute", count)
        return len(seen)

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join()
        self.app.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    from workflow.core.db import SCHEMA_HEAD

    os.environ.pop("FINSAM_BASE_URL", None)
    CACHE.mkdir(parents=True, exist_ok=True)
    tag = f"{SCHEMA_HEAD}-b{BUILDER}-p{os.environ['BENCH_PER_YEAR']}"
    small_db = CACHE / f"web-{tag}-1x1.db"
    big_db = CACHE / f"web-{tag}-{FORBUND}x{YEARS}.db"
    plans = {"small": build(small_db, 1, 1), "big": build(big_db, FORBUND, YEARS)}
    run = CACHE / "run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    served = {}
    for name, db in (("small", small_db), ("big", big_db)):
        copy = run / db.name  # a session row is written: keep the built database clean
        shutil.copy(db, copy)
        served[name] = Served(copy, plans[name])
    try:
        rates: dict[tuple[str, str], list[float]] = {(n, p): [] for n in served for p in PAGES}
        for s in served.values():  # warm each process's caches, as a running server's are
            for p in PAGES:
                s.client.get(s.url(p))
        for _ in range(ROUNDS):  # interleaved, so noise hits both alike
            for p in PAGES:
                for n, s in served.items():
                    rates[(n, p)].append(s.rate(p))
        counts = {(n, p): s.statements(p) for n, s in served.items() for p in PAGES}
    finally:
        for s in served.values():
            s.stop()
        shutil.rmtree(run, ignore_errors=True)
    report(rates, counts)


def report(rates: dict[tuple[str, str], list[float]], counts: dict[tuple[str, str], int]) -> None:
    print(f"1 förbund x 1 year against {FORBUND} förbund x {YEARS} years; SQLite; uvicorn")
    print(f"pages/s: median of {ROUNDS} rounds of {REQUESTS} requests")
    print(f"{'page':<42}{'small':>10}{'big':>10}{'big/small':>11}{'SQL small':>11}{'SQL big':>9}")
    result: dict[str, Any] = {}
    for p in PAGES:
        small, big = median(rates[("small", p)]), median(rates[("big", p)])
        slower = small / big  # how many times longer a page takes on the big database
        print(
            f"{p:<42}{small:>10.1f}{big:>10.1f}{slower:>11.2f}"
            f"{counts[('small', p)]:>11}{counts[('big', p)]:>9}"
        )
        result[p] = {
            "small_per_s": round(small, 1),
            "big_per_s": round(big, 1),
            "ratio": round(slower, 2),
            "sql_small": counts[("small", p)],
            "sql_big": counts[("big", p)],
        }
    worst = max(v["ratio"] for k, v in result.items() if k != "/healthz")
    print(f"worst page ratio: {worst:.2f}  (target <= 1.30)")
    print(json.dumps({"pages": result, "worst_ratio": worst}))


if __name__ == "__main__":
    main()
