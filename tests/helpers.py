"""Helpers for the tests: the example förbund, a database dump, moving a plan along."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SOS_FILE = EXAMPLES / "forbund" / "sydostra-skane.toml"
ALE_FILE = EXAMPLES / "forbund" / "ale-kungalv.toml"
CHEF = "annika.rasmusson@sydostraskane.example"
CHAIR = "karin.holm@ystad.example"
MEMBER = "eva.lind@simrishamn.example"
LEADER = "sofia.ek@skane.example"


def make_app(url: str, clock: Any, *files: Path) -> Any:
    from workflow.bootstrap import bootstrap
    from workflow.core.db import upgrade
    from workflow.forbund import registry as forbunds
    from workflow.forbund.file import load_forbund

    app = bootstrap(url, clock, must_exist=False, check=False)
    upgrade(app.engine)
    for f in files or (SOS_FILE,):
        forbunds.register(app, load_forbund(f))
    return app


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a refused command changed nothing."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = sorted(sa.inspect(conn).get_table_names())
            return {
                n: sorted(
                    tuple(map(repr, r)) for r in conn.execute(sa.text(f'SELECT * FROM "{n}"'))
                )
                for n in names
            }
    finally:
        engine.dispose()


def draft_plan(app: Any, year: int = 2027, content: str = "# Plan\n\nText.") -> int:
    from workflow.plans import services as plans
    from workflow.plans.content import Content

    return plans.create(
        app,
        forbund_key=None,
        year=year,
        last_year=None,
        title=None,
        actor_email=CHEF,
        content=Content(content, "markdown"),
    )["id"]


def to_board(app: Any, plan_id: int, meeting: str = "2026-11-09") -> None:
    """submit and both recommendations: the plan lies before the board."""
    from datetime import date

    from workflow.plans import services as plans

    day = date.fromisoformat(meeting)
    plans.move(app, plan_id, "submit", actor_email=CHEF)
    plans.move(
        app,
        plan_id,
        "recommend-adopt",
        actor_email=CHAIR,
        meeting=day,
        comment="Presidiet föreslår bifall",
    )
    plans.move(
        app,
        plan_id,
        "recommend-adopt",
        actor_email=CHEF,
        meeting=day,
        comment="Beredningsgruppen tillstyrker",
    )


def advance_to(clock: Any, iso: str) -> None:
    from workflow.core.clock import parse_instant

    clock.set(parse_instant(iso))


def run_cli(*args: str, code: int = 0) -> Any:
    """`finsam ARGS` through Typer's runner, asserting the exit code."""
    from typer.testing import CliRunner

    from cli.main import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
    return result


def queue_arrivals(app: Any, count: int, prefix: str = "test") -> list[Any]:
    """Queue `count` plan-arrival messages to the förbundschef; the stored rows, in order."""
    from workflow.core.models import Forbund
    from workflow.core.uow import UnitOfWork
    from workflow.forbund import registry as forbunds
    from workflow.mail import compose as notify

    now = app.clock.now()
    rows = []
    with UnitOfWork(app) as uow:
        s = uow.session
        row = s.query(Forbund).one()
        cfg = forbunds.config_of(row)
        for i in range(count):
            context = {
                "plan_title": f"Plan {i}",
                "revision": 1,
                "body": "Styrelsen",
                "meeting_date": now.date(),
                "meeting_time": "14:00",
                "location": "Ystad",
                "comment": None,
                "forbund": cfg.forbund.name,
            }
            rows.append(
                notify.enqueue(
                    s,
                    key=f"{prefix}:{i}",
                    forbund_key=row.key,
                    kind="arrival",
                    cfg=cfg,
                    to=[CHEF],
                    cc=None,
                    now=now,
                    not_before=now,
                    context=context,
                )
            )
        uow.commit()
    return rows


DEMO_PLAN = EXAMPLES / "demo" / "sydostra-skane-2028.toml"


def store_plan_file(
    app: Any, path: Path = DEMO_PLAN, forbund: str | None = None, actor: str = CHEF
) -> int:
    """Create a plan from a plan file (its year from the file); the plan's id."""
    from workflow.plans import services as plans
    from workflow.plans.content import read_content

    return plans.create(
        app,
        forbund_key=forbund,
        year=None,
        last_year=None,
        title=None,
        actor_email=actor,
        content=read_content(path),
    )["id"]


def begin_2027(app: Any, clock: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """January 2027: a data folder for report files and the year's meetings generated."""
    from workflow.cycle import meetings

    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    advance_to(clock, "2027-01-10T09:00")
    meetings.generate(app, None, 2027, actor_email=CHEF)


def owe_reports(
    app: Any,
    count: int,
    due: str,
    *,
    prefix: str = "bulk",
    year: int = 2027,
    state: str = "pending",
    spread: bool = False,
) -> None:
    """`count` ended insatser, each owing its final report on `due` (bulk rows, for load):
    all in the first förbund, or with `spread` dealt out over every förbund in turn."""
    import sqlalchemy as sa

    from workflow.core.models import Forbund, Insats, Obligation
    from workflow.core.uow import UnitOfWork

    now = app.clock.now()
    with UnitOfWork(app) as uow:
        s = uow.session
        forbunds = s.scalars(sa.select(Forbund.id).order_by(Forbund.id)).all()
        if not spread:
            forbunds = forbunds[:1]
        ids = s.scalars(
            sa.insert(Insats).returning(Insats.id, sort_by_parameter_order=True),
            [
                {
                    "forbund_id": forbunds[i % len(forbunds)],
                    "name": f"{prefix} {i}",
                    "owner": "region-skane",
                    "leader_name": f"Ledare {i}",
                    "leader_email": f"ledare{i}@{prefix}.example",
                    "contact_name": "",
                    "contact_email": "",
                    "start": f"{year - 1}-01-01",
                    "end": f"{year}-01-01",
                    "budget": {},
                    "status": "ended",
                    "sus": False,
                    "source": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ],
        ).all()
        s.execute(
            sa.insert(Obligation),
            [
                {
                    "insats_id": insats_id,
                    "kind": "slutrapport",
                    "name": "Slutrapport",
                    "year": year,
                    "period_start": f"{year - 1}-01-01",
                    "period_end": f"{year}-01-01",
                    "due": due,
                    "state": state,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for insats_id in ids
            ],
        )
        uow.commit()


def add_plans(app: Any, key: str, years: range) -> None:
    """A plan of förbund `key` for each of `years`, titled "Plan KEY YEAR" (bulk rows, for
    the listings, which read nothing more of a plan)."""
    import sqlalchemy as sa

    from workflow.core.models import Forbund, Plan

    now = app.clock.now()
    with app.engine.begin() as conn:
        forbund_id = conn.execute(sa.select(Forbund.id).where(Forbund.key == key)).scalar_one()
        conn.execute(
            sa.insert(Plan),
            [
                {
                    "forbund_id": forbund_id,
                    "year": y,
                    "last_year": y,
                    "title": f"Plan {key} {y}",
                    "state": "draft",
                    "created_at": now,
                    "updated_at": now,
                }
                for y in years
            ],
        )


def add_maria(app: Any, forbund_key: str | None = None, **extra: Any) -> dict[str, Any]:
    """The insats most tests follow: Mariamottagningen, Region Skåne's, led by Sofia Ek
    (in Sydöstra Skåne: name its key when the database holds other förbund too)."""
    from datetime import date

    from workflow.reports import insatser

    return insatser.add(
        app,
        forbund_key,
        actor_email=CHEF,
        name="Mariamottagningen",
        owner="region-skane",
        start=date(2019, 5, 1),
        leader_name="Sofia Ek",
        leader_email=LEADER,
        **extra,
    )


def adopt_in_september(app: Any, clock: Any) -> int:
    """The 2028 plan from its file, through presidium and beredningsgrupp (6 September
    2027) to the board's adoption on 21 September 2027; returns the plan's id."""
    from workflow.plans import services as plans

    advance_to(clock, "2027-08-20T09:00")
    pid = store_plan_file(app)
    plans.move(app, pid, "submit", actor_email=CHEF)
    advance_to(clock, "2027-09-06T11:30")
    plans.move(app, pid, "recommend-adopt", actor_email=CHAIR)
    advance_to(clock, "2027-09-06T15:00")
    plans.move(app, pid, "recommend-adopt", actor_email=CHEF)
    advance_to(clock, "2027-09-21T16:00")
    plans.move(app, pid, "adopt", actor_email=CHEF)
    return pid


class RenderSpy:
    """Counts the units of work open in each thread, and the messages rendered while
    one was open (`inside`): a render in a transaction is one that held a lock."""

    def __init__(self, monkeypatch: Any) -> None:
        import threading

        from workflow.core.uow import UnitOfWork
        from workflow.mail import compose as notify

        self.open = threading.local()
        self.rendered: list[str] = []
        self.inside: list[str] = []
        enter, leave, render_parts = UnitOfWork.__enter__, UnitOfWork.__exit__, notify.render_parts

        def entered(uow: UnitOfWork) -> UnitOfWork:
            result = enter(uow)
            self.open.n = getattr(self.open, "n", 0) + 1
            return result

        def left(uow: UnitOfWork, *exc: object) -> None:
            self.open.n -= 1
            leave(uow, *exc)

        def rendering(kind: str, context: dict[str, Any]) -> Any:
            self.rendered.append(kind)
            if getattr(self.open, "n", 0):
                self.inside.append(kind)
            return render_parts(kind, context)

        monkeypatch.setattr(UnitOfWork, "__enter__", entered)
        monkeypatch.setattr(UnitOfWork, "__exit__", left)
        monkeypatch.setattr(notify, "render_parts", rendering)


def race(calls: list[Any], join_seconds: float = 60) -> list[Any]:
    """Run the calls in threads that start together; each one's result, or the FinsamError
    it raised (a lost race is an answer, not a failure of the test)."""
    import threading

    from workflow.core.exceptions import FinsamError

    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except FinsamError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(join_seconds)
    return results


def tamper(app: Any, *statements: str) -> None:
    """Play the attacker: lift the audit trail's append-only trigger, then rewrite rows
    behind finsam's back (what `audit verify` must catch)."""
    with app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        for s in statements:
            conn.exec_driver_sql(s)


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements `app`'s engine issues inside the block (BEGIN not counted: a
    dialect's own framing), for the tests that a page's or a service's cost does not
    grow with the data."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement != "BEGIN":
            seen.append(statement)

    sa.event.listen(app.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(app.engine, "before_cursor_execute", count)
