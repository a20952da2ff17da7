"""`audit verify` walks the trail in chunks (issue 17): a trail longer than a chunk verifies
as one chain, tampering inside a chunk or across a chunk's edge is found with the same
message as by a walk in one piece, and --forbund reads its förbund's rows alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import ALE_FILE, SOS_FILE, make_app, statements, tamper

from workflow.core import audit
from workflow.core.models import AuditEvent
from workflow.core.uow import UnitOfWork

SOS = "sydostra-skane"
ALE = "ale-kungalv"
ROWS = 1000  # rows after the two `init` rows: ten chunks of 100
CHUNK = 100


def grow(app: Any, rows: int) -> None:
    """`rows` rows continuing both chains, alternating between the förbund, hashed by the
    functions `append` uses and inserted at once (append's head queries per row would
    make the trail slow to build)."""
    with UnitOfWork(app) as uow:
        last = audit.head(uow.session)
        assert last is not None
        seq, prev, at = last.seq, last.hash, last.at
        heads = {}
        for key in (SOS, ALE):
            mine = audit.forbund_head(uow.session, key)
            assert mine is not None
            heads[key] = (mine.seq_in_forbund, mine.hash_in_forbund)
        batch = []
        for _ in range(rows):
            seq += 1
            at += timedelta(minutes=1)
            key = SOS if seq % 2 else ALE
            fseq, fprev = heads[key]
            values: dict[str, Any] = {
                "seq": seq, "at": at, "forbund_key": key, "plan_id": None, "plan_year": None,
                "subject": f"meeting:{seq}", "revision": 0, "action": "move", "kind": "change",
                "outcome": None, "from_state": "planned", "to_state": "planned",
                "new_revision": None, "actor_email": "chef@sos.example", "actor_name": "Chef",
                "actor_role": "förbundschef", "body": None, "meeting_date": "2027-05-12",
                "paragraph": None, "comment": f"Flyttat ({seq}).", "channel": "cli",
                "follows_recommendation": None, "content_sha256": "", "prev_hash": prev,
                "seq_in_forbund": fseq + 1, "prev_hash_in_forbund": fprev,
            }  # fmt: skip
            values["hash"] = audit.row_hash(values)
            values["hash_in_forbund"] = audit.forbund_hash(values)
            prev, heads[key] = values["hash"], (fseq + 1, values["hash_in_forbund"])
            batch.append(values)
        uow.session.execute(sa.insert(AuditEvent), batch)
        uow.commit()


@pytest.fixture
def long(app_url: str, clock: Any) -> Any:
    """Two förbund and a trail of ten chunks and a little."""
    app = make_app(app_url, clock, SOS_FILE, ALE_FILE)
    grow(app, ROWS)
    yield app
    app.engine.dispose()


def _trail_queries(seen: list[str]) -> int:
    return sum(1 for s in seen if "FROM audit_event" in s)


def test_a_trail_longer_than_a_chunk_verifies_as_one_chain(long: Any) -> None:
    with statements(long) as seen:
        result = audit.verify_database(long, chunk=CHUNK)
    whole = audit.verify_database(long)  # one chunk holds it all
    assert result.ok and result.rows == ROWS + 2, result.problems
    assert (result.head, result.heads) == (whole.head, whole.heads)
    assert len(result.heads) == 2
    # the walk read it a chunk at a time: ten full chunks and the two rows after them
    assert _trail_queries(seen) == (ROWS + 2) // CHUNK + 1


def test_the_head_from_the_minutes_is_found_in_a_later_chunk(long: Any) -> None:
    sought = audit.verify_database(long).head[:16]
    assert audit.verify_database(long, sought, chunk=CHUNK).expected_head_found is True
    assert audit.verify_database(long, "f" * 16, chunk=CHUNK).ok is False


@pytest.mark.parametrize(
    "seq", [550, 600, 601], ids=["mid-chunk", "last-of-chunk", "first-of-chunk"]
)
def test_an_edited_row_is_found_wherever_it_falls(long: Any, seq: int) -> None:
    tamper(long, f"UPDATE audit_event SET comment = 'Annat' WHERE seq = {seq}")
    chunked, whole = audit.verify_database(long, chunk=CHUNK), audit.verify_database(long)
    assert not chunked.ok and chunked.first_bad_seq == seq
    assert chunked.problems == whole.problems
    row_id = _id_of(long, seq)
    assert chunked.problem == f"row seq {seq} (id {row_id}) was edited after it was written"


@pytest.mark.parametrize("seq", [550, 601], ids=["mid-chunk", "first-of-chunk"])
def test_a_removed_row_is_found_wherever_it_falls(long: Any, seq: int) -> None:
    after = _id_of(long, seq + 1)
    tamper(long, f"DELETE FROM audit_event WHERE seq = {seq}")
    chunked, whole = audit.verify_database(long, chunk=CHUNK), audit.verify_database(long)
    assert not chunked.ok and chunked.first_bad_seq == seq + 1
    assert chunked.problems == whole.problems
    assert chunked.problem == (
        f"row seq {seq + 1} (id {after}) follows seq {seq - 1}: a row is missing before it"
    )


def test_one_forbunds_walk_reads_its_rows_alone(long: Any) -> None:
    tamper(long, "UPDATE audit_event SET comment = 'Annat' WHERE seq = 601")  # a Sydöstra row
    with statements(long) as seen:
        ale = audit.verify_database(long, forbund_key=ALE, chunk=CHUNK)
    assert ale.ok and ale.rows == ROWS // 2 + 1, ale.problems
    assert ale.forbund == ALE and list(ale.heads) == [ALE]
    # its chunks: its own rows only, not the trail's
    assert _trail_queries(seen) == (ROWS // 2 + 1) // CHUNK + 1
    sos = audit.verify_database(long, forbund_key=SOS, chunk=CHUNK)
    assert not sos.ok and sos.rows == 301
    assert sos.problem == (
        f"row seq 301 of förbund {SOS} (id {_id_of(long, 601)}) was edited after it was written"
    )
    assert sos.problems == audit.verify_database(long, forbund_key=SOS).problems


def _id_of(app: Any, seq: int) -> int:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(AuditEvent.id).where(AuditEvent.seq == seq)).scalar_one()
