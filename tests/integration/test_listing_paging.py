"""`audit log`, `plan list` and `reports status` a page at a time: the newest first,
`--before` for the older ones (the cursor `next` names), one bounded query a page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import add_plans, advance_to, dump, owe_reports, run_cli, statements

from states.roles import Actor
from workflow.core import audit
from workflow.core.models import AuditEvent, Obligation
from workflow.core.uow import UnitOfWork
from workflow.plans import services as plans
from workflow.reports import obligations as reports

SOS = "sydostra-skane"
ACTOR = Actor(email="finsam", name="finsam", memberships=frozenset())
OUT_OF_RANGE = "is out of range\nhint: use a number from 1 to 1000"


@pytest.fixture
def cli(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The CLI pointed at the app's database, at the app's time (1 October 2026)."""
    monkeypatch.setenv("FINSAM_DATABASE_URL", app.url)
    monkeypatch.setenv("FINSAM_NOW", "2026-10-01T10:00")
    return app


def add_rows(app: Any, count: int, subjects: tuple[str, ...] = ("insats:2",)) -> None:
    """`count` audit rows, the subjects taken in turn."""
    with UnitOfWork(app) as uow:
        for i in range(count):
            audit.change(
                uow.session,
                at=app.clock.now(),
                forbund_key=SOS,
                subject=subjects[i % len(subjects)],
                action="edited",
                actor=ACTOR,
                role="system",
                to_state="active",
                comment=f"row {i}",
            )
        uow.commit()


def json_of(*args: str, code: int = 0) -> Any:
    return json.loads(run_cli(*args, "--json", code=code).stdout)


def walk(command: tuple[str, ...], key: str, *args: str) -> tuple[list[Any], list[int]]:
    """Every page of `command --json` from the newest on, following `next`: the rows in
    order and each page's size; each `next` names the last row shown."""
    rows: list[Any] = []
    sizes: list[int] = []
    data = json_of(*command, *args)
    while True:
        rows += data[key]
        sizes.append(len(data[key]))
        if data["next"] is None:
            return rows, sizes
        data = json_of(*command, *args, "--before", str(data["next"]["before"]))


def refused(command: tuple[str, ...], app: Any, cases: list[tuple[tuple[str, ...], str]]) -> None:
    """Each bad paging option exits 2 saying what is wrong, and nothing changes."""
    before = dump(app.url)
    for args, says in cases:
        assert says in run_cli(*command, *args, code=2).stderr, args
    assert dump(app.url) == before


def same_cost(app: Any, read: Callable[[], int], grow: Callable[[], None]) -> list[str]:
    """The statements of one page before and after the data grows: as many, the same page."""
    with statements(app) as few:
        shown = read()
    grow()
    with statements(app) as many:
        assert read() == shown
    assert len(many) == len(few), (few, many)
    return many


# ---------------------------------------------------------------- audit log


def test_audit_log_walks_the_trail_newest_first(cli: Any) -> None:
    add_rows(cli, 110, ("insats:2", "insats:2", "meeting:1"))
    with cli.engine.connect() as conn:
        seqs = list(conn.scalars(sa.select(AuditEvent.seq).order_by(AuditEvent.seq.desc())))
    assert len(seqs) > 110  # the förbund's registration is a row too
    first = json_of("audit", "log")
    assert [r["seq"] for r in first["rows"]] == seqs[:50]
    assert first["next"] == {"before": seqs[49]}
    rows, sizes = walk(("audit", "log"), "rows")
    assert [r["seq"] for r in rows] == seqs
    assert sizes == [50, 50, len(seqs) - 100]
    table = run_cli("audit", "log").stdout.rstrip()
    assert table.endswith(f"older: finsam audit log --before {seqs[49]}")
    last = run_cli("audit", "log", "--before", str(seqs[-1])).stdout
    assert "older:" not in last
    assert json_of("audit", "log", "--before", "1") == {"rows": [], "next": None}


def test_audit_log_pages_a_subject_and_a_forbund_by_their_own_seq(cli: Any) -> None:
    add_rows(cli, 60, ("insats:2", "meeting:1"))
    meeting, sizes = walk(("audit", "log"), "rows", "--subject", "meeting:1", "--limit", "12")
    assert sizes == [12, 12, 6]
    assert [r["subject"] for r in meeting] == ["meeting:1"] * 30
    assert [r["seq"] for r in meeting] == sorted((r["seq"] for r in meeting), reverse=True)
    foot = run_cli("audit", "log", "--subject", "meeting:1", "--limit", "12").stdout
    assert foot.rstrip().splitlines()[-1] == (
        f"older: finsam audit log --subject meeting:1 --limit 12 --before {meeting[11]['seq']}"
    )
    own = json_of("audit", "log", "--forbund", SOS, "--limit", "5")
    assert [r["chain"] for r in own["rows"]] == ["forbund"] * 5
    assert own["next"] == {"before": own["rows"][-1]["seq"]}
    rows, _ = walk(("audit", "log"), "rows", "--forbund", SOS, "--limit", "40")
    assert [r["seq"] for r in rows] == list(range(len(rows), 0, -1))  # its own chain's seqs


def test_audit_log_refuses_a_bad_page(cli: Any) -> None:
    refused(
        ("audit", "log"),
        cli,
        [
            (("--limit", "0"), f"error: --limit 0 {OUT_OF_RANGE}"),
            (("--limit", "1001"), f"error: --limit 1001 {OUT_OF_RANGE}"),
            (("--limit", "ten"), "Invalid value for '--limit'"),
            (("--before", "0"), "error: --before 0 is not a row's seq"),
            (("--before", "x"), "Invalid value for '--before'"),
            (("--before", "0", "--forbund", SOS), "error: --before 0 is not a förbund's seq"),
        ],
    )


def test_an_audit_page_costs_the_same_statements_with_30_and_300_rows(cli: Any) -> None:
    add_rows(cli, 30)

    def read() -> int:
        page = audit.log_page(cli, subject="insats:2", limit=20, before=25)
        return len(page["rows"])

    many = same_cost(cli, read, lambda: add_rows(cli, 270))
    select = next(s for s in many if "FROM audit_event" in s)
    assert "LIMIT" in select


# ---------------------------------------------------------------- plan list


def test_plan_list_walks_the_plans_newest_year_first(cli: Any) -> None:
    add_plans(cli, SOS, range(2000, 2061))
    first = json_of("plan", "list")
    years = [p["year"] for p in first["plans"]]
    assert years == list(range(2060, 2010, -1))
    assert first["next"] == {"before": f"2011:{first['plans'][-1]['id']}"}
    plans_, sizes = walk(("plan", "list"), "plans", "--limit", "25")
    assert [p["year"] for p in plans_] == list(range(2060, 1999, -1))
    assert sizes == [25, 25, 11]
    table = run_cli("plan", "list", "--forbund", SOS, "--limit", "60").stdout.rstrip()
    assert table.splitlines()[-1] == (
        f"older: finsam plan list --forbund {SOS} --limit 60 --before 2001:{plans_[59]['id']}"
    )
    assert "older:" not in run_cli("plan", "list", "--before", f"2001:{plans_[59]['id']}").stdout
    empty = json_of("plan", "list", "--before", f"2000:{plans_[-1]['id']}")
    assert empty == {"plans": [], "next": None}


def test_plan_list_refuses_a_bad_page(cli: Any) -> None:
    add_plans(cli, SOS, range(2020, 2023))
    cursor = "is not a page's cursor\nhint: give YEAR:ID, e.g. 2027:12, as printed"
    refused(
        ("plan", "list"),
        cli,
        [
            (("--limit", "0"), f"error: --limit 0 {OUT_OF_RANGE}"),
            (("--limit", "5000", "--json"), f"error: --limit 5000 {OUT_OF_RANGE}"),
            (("--before", "2027"), f"error: --before '2027' {cursor}"),
            (("--before", "27:3"), f"error: --before '27:3' {cursor}"),
            (("--before", "²⁰²⁷:3"), f"error: --before '²⁰²⁷:3' {cursor}"),  # digits, not ASCII
            (("--before", "2027:0"), f"error: --before '2027:0' {cursor}"),
            (("--before", "2027:" + "9" * 30), "is not a page's cursor"),
            (("--forbund", "lund"), "unknown förbund"),
        ],
    )


def test_a_plan_page_costs_the_same_statements_with_5_and_60_plans(cli: Any) -> None:
    add_plans(cli, SOS, range(2030, 2035))

    def read() -> int:
        page = plans.plan_page(cli, SOS, limit=3, before=(2034, 10**6))
        return len(page["plans"])

    many = same_cost(cli, read, lambda: add_plans(cli, SOS, range(2035, 2090)))
    assert "LIMIT" in next(s for s in many if "plan.year DESC" in s.replace('"', ""))


# ---------------------------------------------------------------- reports status


def owed(app: Any) -> list[tuple[str, int]]:
    """(due, id) of every obligation, the latest first."""
    with app.engine.connect() as conn:
        query = sa.select(Obligation.due, Obligation.id).order_by(
            Obligation.due.desc(), Obligation.id.desc()
        )
        return [(d, i) for d, i in conn.execute(query)]


def test_reports_status_walks_the_year_latest_due_first(cli: Any) -> None:
    # three due dates, each shared by many: the id orders those of one day
    for day, prefix in (("2026-03-31", "a"), ("2026-09-30", "b"), ("2026-12-31", "c")):
        owe_reports(cli, 30, day, prefix=prefix, year=2026)
    expected = owed(cli)
    first = json_of("reports", "status", "--year", "2026")
    assert [(r["due"], r["id"]) for r in first["obligations"]] == expected[:50]
    assert first["next"] == {"before": "{}:{}".format(*expected[49])}
    rows, sizes = walk(("reports", "status", "--year", "2026"), "obligations", "--limit", "40")
    assert [(r["due"], r["id"]) for r in rows] == expected
    assert sizes == [40, 40, 10]
    # late (owed, due before 1 October 2026): a page holds as many as it asks for
    late, sizes = walk(("reports", "status", "--year", "2026"), "obligations", "--late")
    assert [(r["due"], r["id"]) for r in late] == expected[30:]
    assert sizes == [50, 10] and all(r["late"] for r in late)
    foot = run_cli("reports", "status", "--year", "2026", "--late", "--limit", "7").stdout
    assert foot.rstrip().splitlines()[-1] == (
        "older: finsam reports status --year 2026 --late --limit 7 --before {}:{}".format(
            *expected[36]
        )
    )


def test_reports_status_csv_has_every_row_unless_limited(cli: Any) -> None:
    owe_reports(cli, 70, "2026-06-30", year=2026)
    expected = owed(cli)
    whole = run_cli("reports", "status", "--year", "2026", "--csv")
    lines = whole.stdout_bytes.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("id;insats;rapport")
    assert [int(line.split(";")[0]) for line in lines[1:]] == [i for _, i in expected]
    some = run_cli("reports", "status", "--year", "2026", "--csv", "--limit", "20")
    assert len(some.stdout_bytes.decode("utf-8-sig").splitlines()) == 21
    assert some.stderr.strip() == (
        "older: finsam reports status --year 2026 --csv --limit 20 --before {}:{}".format(
            *expected[19]
        )
    )


def test_reports_status_refuses_a_bad_page(cli: Any) -> None:
    owe_reports(cli, 3, "2026-06-30", year=2026)
    cursor = "is not a page's cursor\nhint: give DATE:ID, e.g. 2027-05-31:123, as printed"
    refused(
        ("reports", "status", "--year", "2026"),
        cli,
        [
            (("--limit", "0"), f"error: --limit 0 {OUT_OF_RANGE}"),
            (("--limit", "1001", "--csv"), f"error: --limit 1001 {OUT_OF_RANGE}"),
            (("--before", "12"), f"error: --before '12' {cursor}"),
            (("--before", "2026-02-30:4"), f"error: --before '2026-02-30:4' {cursor}"),
            (("--before", "2026-06-30:x"), f"error: --before '2026-06-30:x' {cursor}"),
        ],
    )


def test_a_reports_page_costs_the_same_statements_with_30_and_300(cli: Any) -> None:
    owe_reports(cli, 30, "2026-06-30", year=2026)
    advance_to(cli.clock, "2026-10-01T10:00")

    def read() -> int:
        page = reports.status_page(cli, SOS, 2026, late_only=True, limit=10, before=None)
        return len(page["obligations"])

    many = same_cost(
        cli, read, lambda: owe_reports(cli, 270, "2026-05-31", prefix="more", year=2026)
    )
    assert "LIMIT" in next(s for s in many if "FROM obligation" in s)


def test_the_services_still_read_every_row_in_the_old_order(cli: Any) -> None:
    """`audit.log` and `reports.status` (what the checks and the desk read) are unchanged."""
    add_rows(cli, 3)
    owe_reports(cli, 2, "2026-06-30", year=2026)
    seqs = [r["seq"] for r in audit.log(cli)]
    assert seqs == sorted(seqs)
    dues = [r["due"] for r in reports.status(cli, SOS, 2026)]
    assert dues == sorted(dues)
