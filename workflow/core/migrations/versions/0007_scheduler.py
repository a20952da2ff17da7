"""The scheduler's nodes and sweeps; indexes so a sweep reads only what is due.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from workflow.core.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_node",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("last_beat", UTCDateTime(), nullable=False),
        sa.Column("stopped_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "sweep_state",
        sa.Column("name", sa.String(length=32), primary_key=True),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_obligation_state", "obligation", ["state"])
    op.create_index("ix_meeting_forbund_starts", "meeting", ["forbund_id", "starts_at"])
    op.create_index("ix_outbox_message_ref", "outbox_message", ["ref"])


def downgrade() -> None:
    op.drop_index("ix_outbox_message_ref", "outbox_message")
    op.drop_index("ix_meeting_forbund_starts", "meeting")
    op.drop_index("ix_obligation_state", "obligation")
    op.drop_table("sweep_state")
    op.drop_table("scheduler_node")
