"""One audit chain per förbund (issue 14).

Every row gains its place in its förbund's own chain: `seq_in_forbund` (1, 2, …
per förbund), `prev_hash_in_forbund` and `hash_in_forbund`, the hash of the
row's canonical fields with those two in place of the whole trail's seq and
previous hash. The rows already written are chained in one pass in seq order
and updated in batches; their global `seq`, `prev_hash` and `hash` are left
as they are, so every head already written into minutes still verifies
(docs/decisions.md §35).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from workflow.core.audit import GENESIS, HASHED_FIELDS, OPTIONAL_FIELDS, forbund_hash
from workflow.core.models import AuditEvent

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 1000  # rows per UPDATE round trip

SQLITE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS audit_event_no_{op} BEFORE {OP} ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END
"""

COLUMNS = ("seq_in_forbund", "prev_hash_in_forbund", "hash_in_forbund")


def _lift_append_only(sqlite: bool) -> None:
    """The backfill updates rows the append-only trigger guards; it is put back after."""
    if sqlite:
        for name in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_event_no_{name}")
    else:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")


def _restore_append_only(sqlite: bool) -> None:
    """SQLite's batch mode rebuilt the table without its triggers; PostgreSQL's is re-enabled."""
    if sqlite:
        for name in ("update", "delete"):
            op.execute(SQLITE_TRIGGER.format(op=name, OP=name.upper()))
    else:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")


def _chained(bind: sa.Connection) -> list[dict[str, Any]]:
    """Every row's place in its förbund's chain, computed in one pass in seq order."""
    table = AuditEvent.__table__
    # the columns the hash covers, by name: the model may gain columns after 0011
    hashed = [table.c[name] for name in (*HASHED_FIELDS, *OPTIONAL_FIELDS)]
    heads: dict[str, tuple[int, str]] = {}
    out = []
    query = sa.select(table.c.id, *hashed).order_by(table.c.seq)
    for row in bind.execute(query).mappings():
        seq, prev = heads.get(row["forbund_key"], (0, GENESIS))
        values = {**row, "seq_in_forbund": seq + 1, "prev_hash_in_forbund": prev}
        digest = forbund_hash(values)
        heads[row["forbund_key"]] = (seq + 1, digest)
        out.append({"row_id": row["id"], "s": seq + 1, "p": prev, "h": digest})
    return out


def _backfill(bind: sa.Connection) -> None:
    table = AuditEvent.__table__
    update = (
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values(
            seq_in_forbund=sa.bindparam("s"),
            prev_hash_in_forbund=sa.bindparam("p"),
            hash_in_forbund=sa.bindparam("h"),
        )
    )
    rows = _chained(bind)
    for start in range(0, len(rows), BATCH):
        bind.execute(update, rows[start : start + BATCH])


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    _lift_append_only(sqlite)
    op.add_column("audit_event", sa.Column("seq_in_forbund", sa.Integer(), nullable=True))
    for name in COLUMNS[1:]:
        op.add_column("audit_event", sa.Column(name, sa.String(length=64), nullable=True))
    _backfill(bind)
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("seq_in_forbund", existing_type=sa.Integer(), nullable=False)
        for name in COLUMNS[1:]:
            batch.alter_column(name, existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(
            "audit_event_seq_in_forbund", ["forbund_key", "seq_in_forbund"]
        )
        batch.create_unique_constraint(
            "audit_event_prev_hash_in_forbund", ["forbund_key", "prev_hash_in_forbund"]
        )
    _restore_append_only(sqlite)


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_constraint("audit_event_prev_hash_in_forbund", type_="unique")
        batch.drop_constraint("audit_event_seq_in_forbund", type_="unique")
        for name in reversed(COLUMNS):
            batch.drop_column(name)
    if sqlite:
        _restore_append_only(sqlite)
