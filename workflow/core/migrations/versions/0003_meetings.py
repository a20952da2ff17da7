"""The yearly cycle: meetings and the record of their changes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from workflow.core.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("forbund_id", sa.Integer(), sa.ForeignKey("forbund.id"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("body", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("theme", sa.String(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(), nullable=True),
        sa.Column("joint_with", sa.JSON(), nullable=False),
        sa.Column("prepares_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=True),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("uid", sa.String(length=128), nullable=False, unique=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("forbund_id", "key", name="uq_meeting_key"),
    )
    op.create_index("ix_meeting_forbund_id", "meeting", ["forbund_id"])
    op.create_table(
        "meeting_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("change", sa.String(length=32), nullable=False),
        sa.Column("old_starts_at", UTCDateTime(), nullable=True),
        sa.Column("new_starts_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
    )
    op.create_index("ix_meeting_change_meeting_id", "meeting_change", ["meeting_id"])


def downgrade() -> None:
    op.drop_table("meeting_change")
    op.drop_table("meeting")
