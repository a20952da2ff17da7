"""When the notify sweep next looks at a report still owed (issue 17): `next_reminder_at`,
with an index on (state, next_reminder_at), so a sweep with nothing due reads no report.
Every report is looked at by the next sweep (the sweep then sets each one's next
reminder), so nothing due is missed across the upgrade.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# `workflow.core.models.LOOK_AGAIN`, as each backend stores it (a migration keeps its own
# copy: the model may change after it)
LOOK_AGAIN = datetime(2000, 1, 1)


def upgrade() -> None:
    with op.batch_alter_table("obligation") as batch:
        batch.add_column(sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True))
    obligation = sa.table(
        "obligation",
        sa.column("state", sa.String),
        sa.column("next_reminder_at", sa.DateTime(timezone=True)),
    )
    # stored as `UTCDateTime` stores it: naive UTC on SQLite, with its zone elsewhere
    sqlite = op.get_bind().dialect.name == "sqlite"
    look = LOOK_AGAIN if sqlite else LOOK_AGAIN.replace(tzinfo=UTC)
    op.execute(
        sa.update(obligation)
        .where(obligation.c.state.in_(("pending", "returned")))
        .values(next_reminder_at=look)
    )
    op.create_index(
        "ix_obligation_state_next_reminder", "obligation", ["state", "next_reminder_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_obligation_state_next_reminder", table_name="obligation")
    with op.batch_alter_table("obligation") as batch:
        batch.drop_column("next_reminder_at")
