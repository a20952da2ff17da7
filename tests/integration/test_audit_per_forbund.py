"""One audit chain per förbund (issue 14): each förbund's rows verify on their own, its
head and its exported trail say nothing of another förbund, a pre-0011 trail is
chained per förbund by the migration, and old heads of the whole trail still verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import ALE_FILE, CHEF, SOS_FILE, advance_to, make_app, race, tamper

from notifications.render import render
from states.roles import Actor
from workflow.bootstrap import bootstrap
from workflow.core import audit
from workflow.core.db import head_revision, upgrade
from workflow.core.db_errors import duplicate, transient
from workflow.core.exceptions import NotFound, UsageError
from workflow.core.models import AuditEvent, SQLModel, UTCDateTime
from workflow.core.uow import write
from workflow.cycle import meetings, protokoll
from workflow.forbund.file import load_forbund
from workflow.plans import services as plans
from workflow.plans.content import Content

SOS = "sydostra-skane"
ALE = "ale-kungalv"
ALE_CHEF = "per.liljeback@sofakst.example"
VICE = "lars.berg@skane.example"


def new_plan(app: Any, key: str, chef: str, year: int) -> int:
    return plans.create(
        app,
        forbund_key=key,
        year=year,
        last_year=None,
        title=None,
        actor_email=chef,
        content=Content("# Plan\n\nText.", "markdown"),
    )["id"]


@pytest.fixture
def two(app_url: str, clock: Any) -> Any:
    """Sydöstra Skåne and Ale in one database, their changes interleaved."""
    app = make_app(app_url, clock, SOS_FILE, ALE_FILE)
    sos = new_plan(app, SOS, CHEF, 2027)
    ale = new_plan(app, ALE, ALE_CHEF, 2027)
    plans.move(app, sos, "submit", actor_email=CHEF)
    plans.move(app, ale, "submit", actor_email=ALE_CHEF)
    new_plan(app, SOS, CHEF, 2028)
    yield app
    app.engine.dispose()


def test_each_forbunds_chain_verifies_alone(two: Any) -> None:
    whole = audit.verify_database(two)
    assert whole.ok and whole.rows == 7 and whole.forbund is None
    sos = audit.verify_database(two, forbund_key=SOS)
    ale = audit.verify_database(two, forbund_key=ALE)
    assert (sos.ok, sos.rows, sos.forbund) == (True, 4, SOS)
    assert (ale.ok, ale.rows) == (True, 3)
    assert whole.heads == {ALE: ale.head, SOS: sos.head}
    assert whole.head not in (sos.head, ale.head)
    head = audit.head_of(two, SOS)
    assert (head["forbund"], head["seq"], head["hash"]) == (SOS, 4, sos.head)
    assert head["short"] == sos.head[: audit.SHORT]


def test_a_forbunds_export_holds_nothing_of_another(two: Any) -> None:
    rows = audit.log(two, forbund_key=ALE)
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert {r["forbund"] for r in rows} == {ALE} and {r["chain"] for r in rows} == {"forbund"}
    # each row links to the one before it in the export, the first to the genesis
    assert [r["prev_hash"] for r in rows] == [audit.GENESIS] + [r["hash"] for r in rows[:-1]]
    others = {e.hash for e in _rows(two)} | {e.hash_in_forbund for e in _rows(two, SOS)}
    assert not others & {r["hash"] for r in rows}
    assert not any(k.endswith("_in_forbund") for r in rows for k in r)
    # the whole trail's log keeps its seqs and hashes and adds the förbund's
    whole = audit.log(two)
    assert [r["seq"] for r in whole] == list(range(1, 8))
    assert [r["seq_in_forbund"] for r in whole if r["forbund"] == ALE] == [1, 2, 3]
    assert {r["chain"] for r in whole} == {"trail"}


def _rows(app: Any, key: str | None = None) -> list[AuditEvent]:
    with app.engine.connect() as conn:
        query = sa.select(AuditEvent.__table__)
        if key is not None:
            query = query.where(AuditEvent.forbund_key == key)
        return list(conn.execute(query).all())  # type: ignore[arg-type]


def test_the_head_needs_the_forbund_when_there_are_several(two: Any) -> None:
    with pytest.raises(UsageError, match="several förbund") as exc:
        audit.head_of(two)
    assert exc.value.hint == f"choose one with --forbund KEY: {ALE}, {SOS}"
    with pytest.raises(NotFound, match="unknown förbund 'lund'"):
        audit.head_of(two, "lund")
    with pytest.raises(NotFound, match="unknown förbund 'lund'"):
        audit.verify_database(two, forbund_key="lund")


def test_the_only_forbunds_head_is_the_whole_trails(app: Any) -> None:
    """In a database of one förbund both chains are the same numbers, so every head
    written into its minutes before issue 14 is its förbund's head too."""
    new_plan(app, SOS, CHEF, 2027)
    head = audit.head_of(app)
    whole = audit.verify_database(app)
    assert head["forbund"] == SOS and (head["seq"], head["hash"]) == (whole.rows, whole.head)


def test_an_edited_row_breaks_its_forbund_and_the_whole_trail_only(two: Any) -> None:
    ale_row = next(e for e in _rows(two, ALE) if e.seq_in_forbund == 2)
    tamper(two, f"UPDATE audit_event SET comment = 'x' WHERE id = {ale_row.id}")
    ale = audit.verify_database(two, forbund_key=ALE)
    assert not ale.ok and ale.first_bad_seq == 2
    assert (
        ale.problem
        == f"row seq 2 of förbund {ALE} (id {ale_row.id}) was edited after it was written"
    )
    assert audit.verify_database(two, forbund_key=SOS).ok
    whole = audit.verify_database(two)
    assert not whole.ok and whole.first_bad_seq == ale_row.seq


def test_a_changed_forbund_hash_is_found_by_the_whole_trails_walk(two: Any) -> None:
    """The whole trail's hash does not cover the förbund's: its walk checks both chains."""
    sos_row = next(e for e in _rows(two, SOS) if e.seq_in_forbund == 3)
    tamper(two, f"UPDATE audit_event SET hash_in_forbund = 'f' WHERE id = {sos_row.id}")
    whole = audit.verify_database(two)
    assert not whole.ok and whole.first_bad_seq == sos_row.seq
    assert f"row seq 3 of förbund {SOS} (id {sos_row.id}) was edited" in whole.problem
    assert not audit.verify_database(two, forbund_key=SOS).ok
    assert audit.verify_database(two, forbund_key=ALE).ok


def test_a_removed_row_shows_in_its_forbund_by_its_plan(two: Any) -> None:
    last = max(_rows(two, ALE), key=lambda e: e.seq)
    tamper(two, f"DELETE FROM audit_event WHERE id = {last.id}")
    ale = audit.verify_database(two, forbund_key=ALE)
    assert not ale.ok
    assert "its last row in the trail (seq 2 of förbund ale-kungalv, create)" in ale.problem
    assert audit.verify_database(two, forbund_key=SOS).ok


def test_a_head_from_a_forbunds_minutes(two: Any) -> None:
    head = audit.head_of(two, SOS)["hash"]
    new_plan(two, ALE, ALE_CHEF, 2028)
    new_plan(two, SOS, CHEF, 2029)
    assert audit.verify_database(two, head[:16], SOS).expected_head_found is True
    # without --forbund the head is looked for in every chain
    assert audit.verify_database(two, head[:16]).ok
    other = audit.verify_database(two, head[:16], ALE)
    assert not other.ok and other.expected_head_found is False
    assert f"is not in förbund {ALE}'s chain" in other.problem
    assert f"'finsam audit verify --head {head[:16]}' without --forbund" in other.problem


def test_backdating_is_refused_across_forbund(two: Any, clock: Any) -> None:
    """One order of times for the whole trail: Ale cannot write before Skåne's last row."""
    advance_to(clock, "2026-12-01T10:00")
    new_plan(two, SOS, CHEF, 2029)
    clock.set(datetime(2026, 11, 1, 10, 0, tzinfo=UTC))
    with pytest.raises(audit.Backdated):
        new_plan(two, ALE, ALE_CHEF, 2028)


def test_losing_a_forbunds_head_is_retried_like_the_trails(two: Any) -> None:
    """A second row on a förbund's seq or previous hash is refused by the database, and
    the refusal is the kind a writer retries (on SQLite and PostgreSQL alike)."""
    last = max(_rows(two, ALE), key=lambda e: e.seq)
    top = max(e.seq for e in _rows(two))
    base = {k: v for k, v in last._mapping.items() if k != "id"}
    forks = [
        {"seq_in_forbund": last.seq_in_forbund, "prev_hash_in_forbund": "a" * 64},
        {"seq_in_forbund": last.seq_in_forbund + 1},
    ]
    for n, fork in enumerate(forks):
        row = {
            **base,
            "seq": top + 1 + n,
            "prev_hash": f"{n}" * 64,
            "hash": f"{n + 2}" * 64,
            "hash_in_forbund": "b" * 64,
            **fork,
        }
        with two.engine.connect() as conn:
            with pytest.raises(sa.exc.IntegrityError) as exc:
                conn.execute(sa.insert(AuditEvent.__table__).values(**row))
            conn.rollback()
        assert transient(exc.value) and not duplicate(exc.value), exc.value


def test_writers_of_two_forbund_at_once_keep_both_chains(two: Any) -> None:
    clients = [bootstrap(two.url, two.clock) for _ in range(4)]
    calls = [
        lambda c=clients[0]: new_plan(c, SOS, CHEF, 2029),
        lambda c=clients[1]: new_plan(c, ALE, ALE_CHEF, 2029),
        lambda c=clients[2]: new_plan(c, SOS, CHEF, 2030),
        lambda c=clients[3]: new_plan(c, ALE, ALE_CHEF, 2030),
    ]
    results = race(calls)
    assert all(isinstance(r, int) for r in results), results
    assert audit.verify_database(two).ok
    assert audit.verify_database(two, forbund_key=SOS).rows == 6
    assert audit.verify_database(two, forbund_key=ALE).rows == 5
    for c in clients:
        c.engine.dispose()


def test_the_minutes_carry_their_forbunds_head(two: Any, clock: Any) -> None:
    meetings.generate(two, SOS, 2026, actor_email=CHEF)
    board = next(
        m for m in meetings.list_meetings(two, SOS, 2026) if m["key"] == "styrelse-2026-11"
    )
    advance_to(clock, "2026-11-24T16:00")
    recorded = protokoll.record_minutes(two, board["id"], [CHEF, VICE], [VICE], actor_email=CHEF)
    head = audit.head_of(two, SOS)
    assert recorded["audit_head"] == head
    assert head["hash"] != audit.verify_database(two).head
    text = render("minutes.md.j2", recorded)
    assert f"kontrollsumma för {recorded['forbund']} vid mötets slut: {head['short']} " in text
    html = render("minutes.html.j2", recorded)
    assert f"<code>{head['short']}</code> (rad {head['seq']})" in html


# ---------------------------------------------------------------- the migration


ACTOR = Actor(email="finsam", name="finsam", memberships=frozenset())


def _pre_0011_rows(count: int, start: datetime) -> list[dict[str, Any]]:
    """A whole trail as schema 0010 held it: one chain, rows of two förbund interleaved."""
    rows, prev = [], audit.GENESIS
    for seq in range(1, count + 1):
        values = {
            "seq": seq,
            "at": start + timedelta(minutes=seq),
            "forbund_key": SOS if seq % 3 else ALE,
            "plan_id": None,
            "plan_year": None,
            "subject": f"meeting:{seq}",
            "revision": 0,
            "action": "move",
            "kind": "change",
            "outcome": None,
            "from_state": None,
            "to_state": "planned",
            "new_revision": None,
            "actor_email": "finsam",
            "actor_name": "finsam",
            "actor_role": "system",
            "body": None,
            "meeting_date": None,
            "paragraph": None,
            "comment": f"row {seq}",
            "follows_recommendation": None,
            "content_sha256": "",
            "prev_hash": prev,
        }
        values["hash"] = prev = audit.row_hash(values)
        rows.append(values)
    return rows


def test_the_migration_chains_an_old_trail_per_forbund(db_url: str, clock: Any) -> None:
    app = bootstrap(db_url, clock, must_exist=False, check=False)
    assert upgrade(app.engine, "0010") == (None, "0010")
    rows = _pre_0011_rows(1500, clock.now() - timedelta(days=30))  # more than one batch
    columns = (sa.column(c, UTCDateTime()) if c == "at" else sa.column(c) for c in rows[0])
    with app.engine.begin() as conn:
        for n, path in enumerate((SOS_FILE, ALE_FILE), start=1):
            cfg = load_forbund(path)
            conn.execute(
                SQLModel.metadata.tables["forbund"]
                .insert()
                .values(
                    id=n,
                    key=cfg.forbund.key,
                    name=cfg.forbund.name,
                    config=cfg.model_dump(mode="json"),
                    config_sha256=cfg.sha256(),
                    created_at=clock.now(),
                    updated_at=clock.now(),
                )
            )
        conn.execute(sa.insert(sa.table("audit_event", *columns)), rows)
    old_head = rows[-1]["hash"]
    assert upgrade(app.engine) == ("0010", head_revision())

    whole = audit.verify_database(app, old_head[:16])
    assert whole.ok and whole.rows == 1500 and whole.head == old_head, whole.problems
    sos = audit.verify_database(app, forbund_key=SOS)
    ale = audit.verify_database(app, forbund_key=ALE)
    assert (sos.ok, sos.rows, ale.ok, ale.rows) == (True, 1000, True, 500)
    backfilled = audit.log(app, forbund_key=ALE)
    assert [r["seq"] for r in backfilled] == list(range(1, 501))
    assert [r["comment"] for r in backfilled[:2]] == ["row 3", "row 6"]

    # a new row continues both chains; old and new heads verify, the old one only whole
    def work(uow: Any) -> None:
        audit.change(
            uow.session,
            at=clock.now(),
            forbund_key=ALE,
            subject="meeting:9999",
            action="move",
            actor=ACTOR,
            role="system",
            to_state="planned",
        )

    write(app, work)
    new_head = audit.head_of(app, ALE)
    assert new_head["seq"] == 501
    assert audit.verify_database(app, old_head[:16]).ok
    assert audit.verify_database(app, new_head["short"]).ok
    assert audit.verify_database(app, new_head["short"], ALE).ok
    assert not audit.verify_database(app, old_head[:16], ALE).ok
    app.engine.dispose()
