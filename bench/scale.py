"""Every everyday command on a national database against one förbund and one year.

Builds two databases through finsam's services (`tests/scale.py`): one förbund × one
year, and N förbund × Y years (80 × 10 unless told). Each förbund has its insatser
(`--insatser`, 16) and, every year, its meetings from the cycle rules, its insatser's
report obligations (`reports generate`) and a plan submitted to the presidium. Every
year before this one is settled in bulk (`scale.settle_year`: each report handed in
with a file in the database's report file store and approved, both audit chains
continued, a reminder sent per report, the year's mail sent), so `audit verify` and
`db check` pass on both (each is timed, and a timed command must succeed). Sydöstra
Skåne, whose commands are timed, is built alike in both; only what lies beside it
differs.

Then each command runs as a process (`.venv/bin/finsam`, FINSAM_DATABASE_URL and
FINSAM_NOW set) on the small and the big database, interleaved, `--rounds` rounds;
the writing ones (`scheduler tick`) each on a fresh copy. Printed: the median
seconds, the ratio big/small, and the SQL statements one in-process run of each
command issues on each database; then, for the big database, the query plan
(EXPLAIN) of every statement each command issued, flagging a scan of a table that
grows with the data (one with over 1 000 rows and ten times as many as in the small
database); the last line is JSON. `--backend postgres` (or `both`) copies the built
databases (`db copy`) into a throwaway PostgreSQL server and does the same there.

Built databases are kept in a folder of the run's own under /tmp/finsam-bench-scale/
(printed; two runs at once never rebuild each other's files), or in `--reuse DIR`,
which reuses what a run built there before. Not part of the tests.

    .venv/bin/python bench/scale.py --forbund 5 --years 2 --rounds 1   # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# this file is bench/scale.py: its folder must not hide tests/scale.py, the builder
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from throwaway_pg import NoPostgres, Server  # noqa: E402 - found through the path above

NOW = datetime(2027, 8, 20, 9, tzinfo=UTC)
SOS = "sydostra-skane"
FINSAM = str(ROOT / ".venv" / "bin" / "finsam")
CACHE = Path("/tmp/finsam-bench-scale")
BUILDER = "2"  # bump when the data built changes


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...]  # {plan}, {meeting}, {insats}, {ics} filled in per database
    writes: bool = False  # runs on a fresh copy each time
    ticked: bool = False  # on the database after one tick: nothing due


COMMANDS = (
    Command("--help", ("--help",)),
    Command("plan list", ("plan", "list", "--forbund", SOS)),
    Command("plan show", ("plan", "show", "{plan}")),
    Command("plan history", ("plan", "history", "{plan}")),
    Command("reports status", ("reports", "status", "--year", "2027", "--forbund", SOS)),
    Command("cycle show", ("cycle", "show", "--year", "2027", "--forbund", SOS)),
    Command("meeting agenda", ("meeting", "agenda", "{meeting}")),
    Command(
        "calendar export",
        ("calendar", "export", "--year", "2027", "--forbund", SOS, "--ics", "{ics}"),
    ),
    Command("insats list", ("insats", "list", "--forbund", SOS)),
    Command("insats show", ("insats", "show", "{insats}")),
    Command("outbox list", ("outbox", "list")),
    Command("audit log --plan", ("audit", "log", "--plan", "{plan}")),
    Command("audit verify --forbund", ("audit", "verify", "--forbund", SOS)),
    Command("audit verify", ("audit", "verify")),
    Command("db check", ("db", "check")),
    Command("scheduler tick --dry-run", ("scheduler", "tick", "--dry-run", "-q")),
    Command("scheduler tick", ("scheduler", "tick", "-q"), writes=True),
    Command("scheduler tick, nothing due", ("scheduler", "tick", "-q"), writes=True, ticked=True),
)
# what grows with the whole database by its nature, not by a missing index or filter
GROWS_BY_DESIGN = {
    "audit verify": "walks every row of the trail",
    "audit verify --forbund": "walks the förbund's trail, all its years",
    "db check": "hashes every stored report file, reads every row naming one",
    "plan list": "lists every year's plan",
    "scheduler tick": "does every förbund's work due now",
    "scheduler tick --dry-run": "shows every förbund's work due now",
}


# ---------------------------------------------------------------- building


def files_of(path: Path) -> Path:
    """The report file store of the database built at `path`, shared by its copies."""
    return path.with_name(f"{path.stem}-files")


def build(path: Path, forbund: int, years: int, insatser: int) -> dict[str, Any]:
    """The SQLite database at `path` and, beside it, its copy after one tick and its
    report file store; the ids the commands name and what the build took. Kept: a second
    call reads the JSON beside it."""
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return dict(json.loads(meta.read_text()))
    from helpers import SOS_FILE, make_app
    from scale import other_key, register, settle_year, with_insatser, year_of_work

    from workflow.core.clock import FixedClock

    first = NOW.year - years + 1
    clock = FixedClock(datetime(first, 1, 1, 9, tzinfo=UTC))
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    shutil.rmtree(files_of(path), ignore_errors=True)
    start = time.perf_counter()
    app = make_app(f"sqlite:///{partial}", clock, SOS_FILE)  # Sydöstra Skåne first (id 1)
    keys = [*(other_key(n) for n in range(1, forbund)), SOS]
    register(app, keys)
    with_insatser(app, keys, count=insatser, since=first)
    plan = 0
    for year in range(first, NOW.year + 1):
        print(f"  building {path.name}: {year}", file=sys.stderr, flush=True)
        plan = year_of_work(app, clock, keys, year, reports=True)[SOS]
        if year < NOW.year:
            at = datetime(year, 12, 20, 12, tzinfo=UTC)
            settle_year(app, keys, year, at, store=files_of(path))
    clock.set(NOW)
    ids = _ids(app, plan)
    counts = _counts(app.engine)
    app.engine.dispose()
    built = time.perf_counter() - start
    ticked = path.with_suffix(".ticked.db")
    shutil.copy(partial, ticked)
    _tick(ticked, path.parent, files_of(path))
    partial.rename(path)
    info = {**ids, "build_s": round(built, 1), "rows": counts}
    meta.write_text(json.dumps(info))
    return info


def _ids(app: Any, plan: int) -> dict[str, int]:
    """Sydöstra Skåne's current plan, the meeting whose agenda holds it, its first insats."""

    from workflow.core.models import AgendaItem, Forbund, Insats

    with app.engine.connect() as conn:
        sos = conn.scalar(sa.select(Forbund.id).where(Forbund.key == SOS))
        meeting = conn.scalar(
            sa.select(AgendaItem.meeting_id).where(AgendaItem.plan_id == plan).limit(1)
        )
        insats = conn.scalar(
            sa.select(Insats.id).where(Insats.forbund_id == sos).order_by(Insats.id).limit(1)
        )
    assert meeting is not None and insats is not None, (plan, meeting, insats)
    return {"plan": plan, "meeting": int(meeting), "insats": int(insats)}


def _counts(engine: Any) -> dict[str, int]:

    with engine.connect() as conn:
        names = sorted(sa.inspect(conn).get_table_names())
        return {n: int(conn.exec_driver_sql(f'SELECT count(*) FROM "{n}"').scalar()) for n in names}


def _tick(db: Path, folder: Path, files: Path) -> None:
    """One tick at NOW on `db`: what was due is done, so the next tick finds nothing."""
    env = _env(f"sqlite:///{db}", folder, files)
    done = subprocess.run([FINSAM, "scheduler", "tick", "-q"], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def _env(url: str, folder: Path, files: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINSAM_")}
    mail = folder / "mail"
    mail.mkdir(exist_ok=True)
    env.update(
        FINSAM_DATABASE_URL=url,
        FINSAM_NOW=NOW.isoformat(),
        FINSAM_MAIL_URL=f"file://{mail}",
        FINSAM_DATA_DIR=str(files),
        FINSAM_USER="annika.rasmusson@sydostraskane.example",
    )
    return env


# ---------------------------------------------------------------- the databases to run on


@dataclass
class Target:
    """One built database on one backend: how to reach it and to get a fresh copy."""

    name: str  # small or big
    ids: dict[str, Any]
    folder: Path
    url: str
    ticked_url: str
    copies: Any  # (url) -> context manager yielding a fresh copy's URL
    files: Path  # its report file store
    counts: dict[str, int] = field(default_factory=dict)

    def args(self, cmd: Command) -> list[str]:
        ics = str(self.folder / f"{self.name}.ics")
        return [a.format(ics=ics, **self.ids) for a in cmd.args]


@contextmanager
def sqlite_copy(url: str) -> Iterator[str]:
    src = Path(url.removeprefix("sqlite:///"))
    copy = src.with_name(f"run-{uuid.uuid4().hex[:8]}-{src.name}")
    shutil.copy(src, copy)
    # on disk before the command starts: else the checkpoint at its end (an fsync) writes
    # the whole fresh copy out, 90 ms of the big one charged to the command
    with open(copy, "rb+") as f:
        os.fsync(f.fileno())
    try:
        yield f"sqlite:///{copy}"
    finally:
        copy.unlink(missing_ok=True)
        for extra in ("-wal", "-shm", ".scheduler.lock"):
            Path(f"{copy}{extra}").unlink(missing_ok=True)


class Postgres(Server):
    """A throwaway PostgreSQL server (`tests/throwaway_pg.py`, as the tests start one), with
    what the benchmark does on it: load a built SQLite file, copy a database by template."""

    def sql(self, statement: str) -> None:
        engine = sa.create_engine(self.admin, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def load(self, name: str, sqlite: Path) -> str:
        """A database `name` holding every row of the SQLite file (`finsam db copy`)."""
        from workflow.bootstrap import bootstrap
        from workflow.core import db_copy
        from workflow.core.clock import FixedClock

        self.sql(f'CREATE DATABASE "{name}"')
        app = bootstrap(f"sqlite:///{sqlite}", FixedClock(NOW))
        try:
            db_copy.copy(app, self.url(name))
        finally:
            app.engine.dispose()
        engine = sa.create_engine(self.url(name), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        finally:
            engine.dispose()
        return self.url(name)

    @contextmanager
    def copy(self, url: str) -> Iterator[str]:
        name = f"run_{uuid.uuid4().hex[:10]}"
        self.sql(f'CREATE DATABASE "{name}" TEMPLATE "{url.rsplit("/", 1)[1]}"')
        try:
            yield self.url(name)
        finally:
            self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------- measuring


def run_once(target: Target, cmd: Command) -> float:
    """Seconds one run of `cmd` takes as a process (a fresh copy first, untimed, for a
    writing command); the command must succeed."""
    url = target.ticked_url if cmd.ticked else target.url
    with target.copies(url) if cmd.writes else _same(url) as where:
        env = _env(where, target.folder, target.files)
        start = time.perf_counter()
        done = subprocess.run([FINSAM, *target.args(cmd)], env=env, capture_output=True)
        elapsed = time.perf_counter() - start
    assert done.returncode == 0, (cmd.name, target.name, done.stderr.decode()[-2000:])
    return elapsed


@contextmanager
def _same(url: str) -> Iterator[str]:
    yield url


def captured(target: Target, cmd: Command) -> list[tuple[str, Any]]:
    """The SQL statements (with their parameters) one in-process run of `cmd` issues, on a
    fresh copy for a writing command."""
    from typer.testing import CliRunner

    from cli.main import app as cli

    seen: list[tuple[str, Any]] = []
    engines: set[Any] = set()  # the command's own, closed after: a PostgreSQL template
    # database cannot be copied while a pooled connection is still open on it

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        engines.add(conn.engine)
        if statement != "BEGIN":
            seen.append((statement, parameters))

    url = target.ticked_url if cmd.ticked else target.url
    with target.copies(url) if cmd.writes else _same(url) as where:
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
        try:
            env = _env(where, target.folder, target.files)
            result = CliRunner().invoke(cli, target.args(cmd), env=env)
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)
            for engine in engines:
                engine.dispose()
    if result.exit_code != 0:  # counted all the same; the timed process had to succeed
        print(f"  in-process {cmd.name} on {target.name}: exit {result.exit_code}")
        print(_why(result))
    return seen


def _why(result: Any) -> str:
    """What made an in-process run fail, whole: the log lines that say what went wrong
    (a tick's `-q` prints only its log, one JSON line per event), else the output's end,
    and the traceback of an exception that escaped."""
    import traceback

    lines = (result.output or "").splitlines()
    marks = ('"level": "error"', '"level": "warning"', '"event": "transient"', '"event": "failed"')
    wrong = [ln for ln in lines if any(m in ln for m in marks)]
    said = "\n".join(wrong[-20:]) if wrong else "\n".join(lines[-30:])
    if result.exc_info and not isinstance(result.exception, SystemExit):
        said += "\n" + "".join(traceback.format_exception(*result.exc_info))
    return "\n".join(f"    {ln}" for ln in said.splitlines())


def explain(url: str, statements: list[tuple[str, Any]], grows: set[str]) -> list[dict[str, Any]]:
    """Each distinct reading statement's query plan on the database at `url`, and the
    tables that grow with the data it scans whole (LIMIT noted: a scan that stops early).
    On PostgreSQL a table of a few thousand rows is often read whole because that is
    cheaper than its index, so a scan is planned again with sequential scans made dear
    (`enable_seqscan = off`): `unindexed` holds the tables still read whole then, for
    which no index serves the statement."""

    done: dict[str, dict[str, Any]] = {}
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            for statement, params in statements:
                head = statement.lstrip().split(None, 1)[0].upper()
                if head not in ("SELECT", "WITH", "UPDATE", "DELETE") or statement in done:
                    continue
                plan = _plan(conn, statement, params)
                scans = sorted(t for t in grows if _scans(conn.dialect.name, plan, t))
                unindexed = scans
                if scans and conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET enable_seqscan = off")
                    dear = _plan(conn, statement, params)
                    conn.exec_driver_sql("RESET enable_seqscan")
                    unindexed = [t for t in scans if _scans(conn.dialect.name, dear, t)]
                done[statement] = {
                    "sql": " ".join(statement.split())[:300],
                    "plan": plan,
                    "scans": scans,
                    "unindexed": unindexed,
                    "limit": " LIMIT " in statement.upper(),
                }
            conn.rollback()
    finally:
        engine.dispose()
    return list(done.values())


def _plan(conn: Any, statement: str, params: Any) -> str:
    if isinstance(params, list):  # run for many rows at once: one row's plan is theirs
        params = params[0]
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
        return "; ".join(str(r[-1]) for r in rows)
    rows = conn.exec_driver_sql(f"EXPLAIN {statement}", params).all()
    return "; ".join(r[0].strip() for r in rows)


def _scans(dialect: str, plan: str, table: str) -> bool:
    for step in plan.split("; "):
        if dialect == "sqlite":
            words = step.split()
            if words[:2] == ["SCAN", table] and "INDEX" not in step:
                return True
        elif step.startswith(("Seq Scan on", "->  Seq Scan on")) and f" on {table} " in (
            step + " "
        ):
            return True
    return False


def measure(small: Target, big: Target, rounds: int) -> dict[str, Any]:
    times: dict[tuple[str, str], list[float]] = {
        (c.name, t.name): [] for c in COMMANDS for t in (small, big)
    }
    for c in COMMANDS:  # warm the disk cache and compiled files, untimed
        for t in (small, big):
            run_once(t, c)
    for r in range(rounds):  # interleaved, so noise hits both alike
        print(f"  round {r + 1} of {rounds}", file=sys.stderr, flush=True)
        for c in COMMANDS:
            for t in (small, big):
                times[(c.name, t.name)].append(run_once(t, c))
    grows = {
        n
        for n, rows in big.counts.items()
        if rows > 1000 and rows >= 10 * max(1, small.counts.get(n, 0))
    }
    result: dict[str, Any] = {}
    for c in COMMANDS:
        sql_small, sql_big = captured(small, c), captured(big, c)
        plans = explain(big.url, sql_big, grows) if not c.writes else _explain_copy(big, c, grows)
        result[c.name] = {
            "small_s": round(median(times[(c.name, "small")]), 3),
            "big_s": round(median(times[(c.name, "big")]), 3),
            "sql_small": len(sql_small),
            "sql_big": len(sql_big),
            "plans": plans,
        }
        result[c.name]["ratio"] = round(result[c.name]["big_s"] / result[c.name]["small_s"], 2)
    return result


def _explain_copy(big: Target, cmd: Command, grows: set[str]) -> list[dict[str, Any]]:
    """A writing command's statements, explained on a fresh copy of what it ran on."""
    statements = captured(big, cmd)
    url = big.ticked_url if cmd.ticked else big.url
    with big.copies(url) as where:
        return explain(where, statements, grows)


def report(backend: str, small: Target, big: Target, result: dict[str, Any], rounds: int) -> None:
    print()
    print(
        f"{backend}: 1 förbund x 1 year against {big.ids['shape']}; seconds per command as a "
        f"process, median of {rounds} rounds"
    )
    rows = ", ".join(f"{n} {c}" for n, c in big.counts.items() if c >= 1000)
    print(f"big database: {rows}")
    print(f"{'command':<30}{'small':>8}{'big':>8}{'ratio':>7}{'SQL small':>11}{'SQL big':>9}")
    for name, r in result.items():
        note = f"  ({GROWS_BY_DESIGN[name]})" if name in GROWS_BY_DESIGN else ""
        print(
            f"{name:<30}{r['small_s']:>8.2f}{r['big_s']:>8.2f}{r['ratio']:>7.2f}"
            f"{r['sql_small']:>11}{r['sql_big']:>9}{note}"
        )
    print()
    print(f"{backend}: query plans on the big database (each distinct reading statement)")
    for name, r in result.items():
        flagged = [p for p in r["plans"] if p["scans"]]
        print(f"  {name}: {len(r['plans'])} statements, {len(flagged)} scan a growing table")
        for p in flagged:
            stops = " (LIMIT: stops early)" if p["limit"] else ""
            if not p["unindexed"]:
                stops += " (an index serves it: read whole as cheaper at this size)"
            elif p["unindexed"] != p["scans"]:
                stops += f" (no index serves {', '.join(p['unindexed'])})"
            print(f"    SCAN {', '.join(p['scans'])}{stops}: {p['sql'][:160]}")
            print(f"      plan: {p['plan'][:300]}")


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forbund", type=int, default=80)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--insatser", type=int, default=16, help="per förbund")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reuse", type=Path, help="keep the databases here; reuse them")
    opts = parser.parse_args()
    if opts.reuse is None:  # a fresh build, in a folder no other run uses
        CACHE.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE))
    else:
        folder = opts.reuse
        folder.mkdir(parents=True, exist_ok=True)
    print(f"databases in {folder} (--reuse {folder} to use them again)", file=sys.stderr)
    from workflow.core.db import SCHEMA_HEAD

    tag = f"{SCHEMA_HEAD}-b{BUILDER}-i{opts.insatser}"
    dbs = {
        "small": (folder / f"scale-{tag}-1x1.db", 1, 1),
        "big": (folder / f"scale-{tag}-{opts.forbund}x{opts.years}.db", opts.forbund, opts.years),
    }
    info = {n: build(p, f, y, opts.insatser) for n, (p, f, y) in dbs.items()}
    for n, (_, f, y) in dbs.items():
        info[n]["shape"] = f"{f} förbund x {y} years"
        print(f"{n}: {info[n]['shape']}, built in {info[n]['build_s']} s", file=sys.stderr)
    out: dict[str, Any] = {
        "forbund": opts.forbund,
        "years": opts.years,
        "insatser": opts.insatser,
        "build_s": {n: info[n]["build_s"] for n in info},
        "rows_big": info["big"]["rows"],
    }
    backends = ["sqlite", "postgres"] if opts.backend == "both" else [opts.backend]
    for backend in backends:
        try:
            pg = Postgres() if backend == "postgres" else None
        except NoPostgres as exc:
            raise SystemExit(str(exc)) from None
        try:
            targets = {}
            for n, (path, _, _) in dbs.items():
                ticked = path.with_suffix(".ticked.db")
                if pg is None:
                    url, ticked_url, copies = (
                        f"sqlite:///{path}",
                        f"sqlite:///{ticked}",
                        sqlite_copy,
                    )
                else:
                    url, ticked_url = pg.load(f"{n}_built", path), pg.load(f"{n}_ticked", ticked)
                    copies = pg.copy
                targets[n] = Target(
                    n, info[n], folder, url, ticked_url, copies, files_of(path), info[n]["rows"]
                )
            result = measure(targets["small"], targets["big"], opts.rounds)
        finally:
            if pg is not None:
                pg.stop()
        report(backend, targets["small"], targets["big"], result, opts.rounds)
        out[backend] = {
            name: {
                **{k: v for k, v in r.items() if k != "plans"},
                "scans": sorted({f"{t}" for p in r["plans"] for t in p["scans"]}),
                "unindexed": sorted({f"{t}" for p in r["plans"] for t in p["unindexed"]}),
            }
            for name, r in result.items()
        }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
