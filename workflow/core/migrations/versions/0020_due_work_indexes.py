"""Indexes for what falls due across every förbund at once (issue 17): the reports still
owed by due date (the notify sweep's reminders) and the meetings by start (its kallelser,
and the year sweep's board meetings of a year), so a sweep reads what is due in a few
queries instead of a few per förbund.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_obligation_state_due", "obligation", ["state", "due"])
    op.create_index("ix_meeting_starts_at", "meeting", ["starts_at"])


def downgrade() -> None:
    op.drop_index("ix_meeting_starts_at", table_name="meeting")
    op.drop_index("ix_obligation_state_due", table_name="obligation")
