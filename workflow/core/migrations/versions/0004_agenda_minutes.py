"""Plans on meetings' agendas, and the minutes with their approval.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from workflow.core.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agenda_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plan.id"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("paragraph", sa.String(length=32), nullable=True),
        sa.Column("audit_seq", sa.Integer(), nullable=True),
        sa.Column("added_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_agenda_item_meeting_id", "agenda_item", ["meeting_id"])
    op.create_index("ix_agenda_item_plan_id", "agenda_item", ["plan_id"])
    op.create_table(
        "minutes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False, unique=True
        ),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("present", sa.JSON(), nullable=False),
        sa.Column("justerare", sa.JSON(), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("posted_on", sa.String(length=10), nullable=True),
        sa.Column("appeal_ends", sa.String(length=10), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("minutes")
    op.drop_table("agenda_item")
