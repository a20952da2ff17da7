"""The channel of each audit row: `cli` or `web` (issue 14).

Every row says through which front door its change came. The column has the
server default `cli`, so the rows written before it read as the CLI's, which
they were; no row is updated. The hash covers `channel` only when it is not
`cli` (`audit.DEFAULTED_FIELDS`), so the rows already written, and every head
written into minutes, keep their hashes in both chains.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # adding a column with a constant default rewrites no row (SQLite and PostgreSQL
    # alike), so the append-only triggers stay as they are
    op.add_column(
        "audit_event",
        sa.Column("channel", sa.String(length=16), nullable=False, server_default="cli"),
    )


SQLITE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS audit_event_no_{op} BEFORE {OP} ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END
"""


def downgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("channel")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's batch mode rebuilt the table without its append-only triggers
        for name in ("update", "delete"):
            op.execute(SQLITE_TRIGGER.format(op=name, OP=name.upper()))
