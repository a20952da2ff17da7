"""An index on the board meeting each report obligation belongs to (issue 14).

A meeting's agenda lists the reports it handles (`obligation.meeting_id`);
without an index that lookup walked every approved report of the database's
history, so the desk and a plan's page slowed with the years. Only an index is
added: no row changes, and the audit trail's append-only triggers are untouched.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_obligation_meeting_id", "obligation", ["meeting_id"])


def downgrade() -> None:
    op.drop_index("ix_obligation_meeting_id", table_name="obligation")
