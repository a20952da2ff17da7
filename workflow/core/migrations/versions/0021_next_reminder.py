"""When the notify sweep next looks at a report still owed (issue 17): `next_reminder_at`,
with an index on (state, next_reminder_at), so a sweep with nothing due reads no report.
Every report is looked at by the next sweep (the column's default; the sweep then sets
each one's next reminder), so nothing due is missed across the upgrade.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# `workflow.core.models.LOOK_AGAIN_SQL` (a migration keeps its own copy: the model may
# change after it): an instant long past, read alike by every backend
LOOK_AGAIN = "2000-01-01 00:00:00"


def upgrade() -> None:
    # every row, and every row written without the column (a node of the version
    # before, still running during the upgrade), is looked at by the next sweep
    # a plain ADD COLUMN on every backend (batch mode would rebuild SQLite's table)
    op.add_column(
        "obligation",
        sa.Column(
            "next_reminder_at",
            sa.DateTime(timezone=True),
            nullable=True,
            server_default=sa.text(f"'{LOOK_AGAIN}'"),
        ),
    )
    op.create_index(
        "ix_obligation_state_next_reminder", "obligation", ["state", "next_reminder_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_obligation_state_next_reminder", table_name="obligation")
    with op.batch_alter_table("obligation") as batch:
        batch.drop_column("next_reminder_at")
