"""The lookups every page and command makes use an index, on SQLite and PostgreSQL: the
database's own query plan (EXPLAIN) for each, with PostgreSQL told not to scan when it
could use an index (on tables this small it would scan anyway), so a plan that scans
means there is no index to use. A query whose cost grows with the history, where it
should follow what was asked, shows here first."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

# each lookup, and what answers it: (what, the query, the index that should answer it)
LOOKUPS = [
    (
        "when a plan's adoption stands: the agenda item its decision's row names",
        "SELECT id FROM agenda_item WHERE audit_seq = 7",
        "ix_agenda_item_audit_seq",
    ),
    (
        "a meeting's agenda",
        "SELECT id FROM agenda_item WHERE meeting_id = 7",
        "ix_agenda_item_meeting_id",
    ),
    (
        "the reports a meeting handles (kallelse, agenda, calendar)",
        "SELECT id FROM obligation WHERE meeting_id = 7",
        "ix_obligation_meeting_id",
    ),
    (
        "an audit subject's rows (a meeting's, a report's life)",
        "SELECT seq FROM audit_event WHERE subject = 'meeting:7'",
        "ix_audit_event_subject",
    ),
    (
        "the insatser naming a person (every request)",
        "SELECT id FROM insats WHERE lower(leader_email) = 'a@b.example'",
        "ix_insats_leader_email_lower",
    ),
    (
        "a page of the outbox's failed messages, the newest first",
        "SELECT id FROM outbox_message WHERE state = 'failed' AND id < 900 "
        "ORDER BY id DESC LIMIT 51",
        "ix_outbox_message_state_id",
    ),
    (
        "a meeting's minutes",
        "SELECT id FROM minutes WHERE meeting_id = 7",
        "minutes",  # its unique constraint's index, named by the database
    ),
]


def _plan(conn: Any, sql: str) -> str:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
        return "\n".join(str(r[-1]) for r in rows)
    conn.exec_driver_sql("SET enable_seqscan = off")
    return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}").all())


@pytest.mark.parametrize(("what", "sql", "index"), LOOKUPS, ids=[w for w, _, _ in LOOKUPS])
def test_each_everyday_lookup_uses_an_index(app: Any, what: str, sql: str, index: str) -> None:
    engine = sa.create_engine(app.url)
    try:
        with engine.connect() as conn:
            plan = _plan(conn, sql)
    finally:
        engine.dispose()
    assert "INDEX" in plan.upper() and index in plan, (what, plan)
