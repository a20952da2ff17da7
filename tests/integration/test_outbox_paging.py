"""`finsam outbox list` a page at a time: the newest first, `--before` for the older ones,
one bounded query per page however large the outbox grows."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import dump, queue_arrivals, run_cli, statements

from workflow.core.models import OutboxMessage
from workflow.mail import delivery as outbox


@pytest.fixture
def ids(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """120 queued messages, and the CLI pointed at their database; their ids, newest first."""
    monkeypatch.setenv("FINSAM_DATABASE_URL", app.url)
    return sorted((m.id for m in queue_arrivals(app, 120)), reverse=True)


def listed(*args: str, code: int = 0) -> Any:
    return run_cli("outbox", "list", *args, code=code)


def page(*args: str) -> dict[str, Any]:
    return json.loads(listed(*args, "--json").stdout)  # type: ignore[no-any-return]


def walk(*args: str) -> tuple[list[int], list[int]]:
    """Every page from the newest on, following `next`: the ids in order, each page's size."""
    shown: list[int] = []
    sizes: list[int] = []
    data = page(*args)
    while True:
        shown += [m["id"] for m in data["messages"]]
        sizes.append(len(data["messages"]))
        if data["next"] is None:
            return shown, sizes
        assert data["next"] == {"before": shown[-1]}  # the smallest id shown
        data = page(*args, "--before", str(data["next"]["before"]))


def test_the_first_page_is_the_newest_fifty(ids: list[int]) -> None:
    first = page()
    assert [m["id"] for m in first["messages"]] == ids[:50]
    assert first["next"] == {"before": ids[49]}
    assert first["messages"][0]["key"] == "test:119"
    table = listed().stdout
    assert "test:119" not in table  # the table shows subjects, not keys
    assert table.rstrip().endswith(f"older: finsam outbox list --before {ids[49]}")


def test_before_walks_to_the_end_without_repeats_or_gaps(ids: list[int]) -> None:
    assert walk() == (ids, [50, 50, 20])
    # a page size that divides the outbox: the last full page says there is no more
    assert walk("--limit", "40") == (ids, [40, 40, 40])
    last = listed("--limit", "40", "--before", str(ids[79])).stdout
    assert "older:" not in last
    assert page("--before", str(ids[-1])) == {"messages": [], "next": None}


def test_state_filters_with_paging(app: Any, ids: list[int]) -> None:
    failed = ids[::3]  # 40 of them, spread over the whole outbox
    with app.engine.begin() as conn:
        conn.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id.in_(failed)).values(state="failed")
        )
    assert walk("--state", "failed", "--limit", "15") == (failed, [15, 15, 10])
    assert walk("--state", "queued") == ([i for i in ids if i not in failed], [50, 30])
    foot = listed("--state", "failed", "--limit", "15").stdout.rstrip().splitlines()[-1]
    assert foot == f"older: finsam outbox list --state failed --limit 15 --before {failed[14]}"


def test_a_bad_limit_or_before_is_refused(app: Any, ids: list[int]) -> None:
    before = dump(app.url)
    out_of_range = "is out of range\nhint: use a number from 1 to 1000"
    for args, says in [
        (("--limit", "0"), f"error: --limit 0 {out_of_range}"),
        (("--limit", "1001"), f"error: --limit 1001 {out_of_range}"),
        (("--limit", "ten"), "Invalid value for '--limit'"),
        (("--before", "0"), "error: --before 0 is not a message id"),
        (("--before", "-4"), "error: --before -4 is negative"),
        (("--before", "x"), "Invalid value for '--before'"),
        (("--state", "lost", "--json"), "error: --state 'lost' is not known"),
    ]:
        assert says in listed(*args, code=2).stderr, args
    assert dump(app.url) == before


def test_a_page_costs_the_same_statements_with_120_and_1200(app: Any, ids: list[int]) -> None:
    def cost() -> list[str]:
        with statements(app) as seen:
            shown = outbox.list_messages(app, before=ids[10])
        assert len(shown["messages"]) == 50
        return seen

    few = cost()
    copy_rows(app, 1080)
    many = cost()
    assert len(many) == len(few)
    select = next(s for s in many if "FROM outbox_message" in s)
    # one bounded query that leaves the message bodies in the database
    assert "LIMIT" in select and "outbox_message.raw" not in select


def copy_rows(app: Any, count: int) -> None:
    """`count` more messages in one statement: copies of the first, under new keys."""
    table = OutboxMessage.__table__
    with app.engine.begin() as conn:
        first = dict(conn.execute(sa.select(table).order_by(table.c.id).limit(1)).mappings().one())
        del first["id"]
        conn.execute(
            table.insert(),
            [
                first | {"key": f"copy:{i}", "message_id": f"<copy.{i}@example>"}
                for i in range(count)
            ],
        )
