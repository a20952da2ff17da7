"""An everyday command asks the database as many questions on a national database as on
a small one (issue 17): its SQL statements, counted with an event listener on every
engine, are as many on one förbund × one year as on four förbund × three years
(`tests/scale.py`: meetings, insatser, their reports owed and handed in, plans and
mail every year; Sydöstra Skåne, whose data the commands read, built alike in both).
A statement per förbund, per year or per row is a query whose cost grows with the
data where it should follow what was asked; `bench/scale.py` times the same commands
as processes on 80 förbund × ten years."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import SOS_FILE, make_app, run_cli
from scale import SOS, other_key, register, settle_year, with_insatser, year_of_work

NOW = datetime(2027, 8, 20, 9, tzinfo=UTC)

# (what, the command's arguments: {plan}, {meeting}, {insats} filled in per database)
COMMANDS = [
    ("plan list", ("plan", "list", "--forbund", SOS)),
    ("plan show", ("plan", "show", "{plan}")),
    ("plan history", ("plan", "history", "{plan}")),
    ("reports status", ("reports", "status", "--year", "2027", "--forbund", SOS)),
    ("cycle show", ("cycle", "show", "--year", "2027", "--forbund", SOS)),
    ("meeting agenda", ("meeting", "agenda", "{meeting}")),
    ("meeting notice", ("meeting", "notice", "{meeting}")),
    ("calendar export",
     ("calendar", "export", "--year", "2027", "--forbund", SOS, "--ics", "{ics}")),
    ("insats list", ("insats", "list", "--forbund", SOS)),
    ("insats show", ("insats", "show", "{insats}")),
    ("outbox list", ("outbox", "list")),
    ("outbox list --state sent", ("outbox", "list", "--state", "sent")),
    ("audit log --plan", ("audit", "log", "--plan", "{plan}")),
    ("audit head", ("audit", "head", "--forbund", SOS)),
    ("db check", ("db", "check")),  # exits 1 unless every report's file is in the store
]  # fmt: skip


def _build(path: Path, forbund: int, years: int) -> dict[str, Any]:
    """The database at `path`: `forbund` förbund × `years` years up to 2027, the years
    before settled; the ids the commands name (Sydöstra Skåne's)."""
    from workflow.core.clock import FixedClock
    from workflow.core.models import AgendaItem, Insats

    first = NOW.year - years + 1
    files = path.with_name(f"{path.stem}-files")  # its report file store
    clock = FixedClock(datetime(first, 1, 1, 9, tzinfo=UTC))
    app = make_app(f"sqlite:///{path}", clock, SOS_FILE)  # Sydöstra Skåne first (id 1)
    keys = [*(other_key(n) for n in range(1, forbund)), SOS]
    register(app, keys)
    with_insatser(app, keys, count=2, since=first)
    plan = 0
    for year in range(first, NOW.year + 1):
        plan = year_of_work(app, clock, keys, year, reports=True)[SOS]
        if year < NOW.year:
            settle_year(app, keys, year, datetime(year, 12, 20, 12, tzinfo=UTC), store=files)
    with app.engine.connect() as conn:
        meeting = conn.scalar(sa.select(AgendaItem.meeting_id).where(AgendaItem.plan_id == plan))
        insats = conn.scalar(sa.select(Insats.id).where(Insats.forbund_id == 1).limit(1))
    app.engine.dispose()
    return {
        "url": f"sqlite:///{path}",
        "files": str(files),
        "plan": plan,
        "meeting": meeting,
        "insats": insats,
    }


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("scale")
    return {
        "small": _build(folder / "small.db", 1, 1),
        "big": _build(folder / "big.db", 4, 3),
    }


@pytest.fixture
def counted() -> Iterator[list[str]]:
    """Every statement any engine issues while the test runs (BEGIN not counted)."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement != "BEGIN":
            seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)


def _statements(
    db: dict[str, Any], args: tuple[str, ...], seen: list[str], monkeypatch: Any, tmp: Path
) -> list[str]:
    monkeypatch.setenv("FINSAM_DATABASE_URL", db["url"])
    monkeypatch.setenv("FINSAM_NOW", NOW.isoformat())
    monkeypatch.setenv("FINSAM_DATA_DIR", db["files"])
    given = [a.format(ics=tmp / "out.ics", **db) for a in args]
    seen.clear()
    run_cli(*given)
    return list(seen)


@pytest.mark.parametrize(("what", "args"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_a_command_asks_as_much_of_a_national_database_as_of_a_small_one(
    databases: dict[str, dict[str, Any]],
    counted: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    what: str,
    args: tuple[str, ...],
) -> None:
    small = _statements(databases["small"], args, counted, monkeypatch, tmp_path)
    big = _statements(databases["big"], args, counted, monkeypatch, tmp_path)
    assert small, what  # it did ask the database: the count means something
    assert len(big) == len(small), (what, len(small), len(big), big)


def test_the_big_database_is_bigger(
    databases: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison means something: the big database holds several times the rows the
    commands could be led to read (the trail, reports, meetings, mail), and its trail
    verifies and the files its reports name are in the store, one per förbund that
    settled a year (the builder's bulk rows are valid ones)."""
    from workflow.bootstrap import bootstrap
    from workflow.core import audit
    from workflow.core.clock import FixedClock
    from workflow.reports import files

    sizes = {}
    for name, db in databases.items():
        app = bootstrap(db["url"], FixedClock(NOW))
        try:
            with app.engine.connect() as conn:
                sizes[name] = {
                    t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
                    for t in ("audit_event", "obligation", "meeting", "outbox_message", "plan")
                }
            checked = audit.verify_database(app)
            assert checked.ok, (name, checked.problem, checked.problems)
            monkeypatch.setenv("FINSAM_DATA_DIR", db["files"])
            store = files.check(app)
            assert store["clean"], (name, store)
            assert store["stored_files"] == {"small": 0, "big": 4}[name], (name, store)
        finally:
            app.engine.dispose()
    for table, rows in sizes["small"].items():
        assert sizes["big"][table] >= 5 * rows, (table, sizes)
