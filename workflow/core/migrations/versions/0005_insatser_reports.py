"""Insatser and their report obligations; the audit trail learns other subjects than plans.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from workflow.core.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS audit_event_no_{op} BEFORE {OP} ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END
"""


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("plan_id", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("plan_year", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("subject", sa.String(length=64), nullable=True))
    if sqlite:  # SQLite's batch mode rebuilt the table without its triggers
        for name in ("update", "delete"):
            op.execute(SQLITE_TRIGGERS.format(op=name, OP=name.upper()))
    op.create_table(
        "insats",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("forbund_id", sa.Integer(), sa.ForeignKey("forbund.id"), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("leader_name", sa.String(), nullable=False),
        sa.Column("leader_email", sa.String(), nullable=False),
        sa.Column("contact_name", sa.String(), nullable=False),
        sa.Column("contact_email", sa.String(), nullable=False),
        sa.Column("start", sa.String(length=10), nullable=False),
        sa.Column("end", sa.String(length=10), nullable=True),
        sa.Column("budget", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sus", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("forbund_id", "name", name="uq_insats_name"),
    )
    op.create_index("ix_insats_forbund_id", "insats", ["forbund_id"])
    op.create_table(
        "obligation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("insats_id", sa.Integer(), sa.ForeignKey("insats.id"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("period_end", sa.String(length=10), nullable=False),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=True),
        sa.Column("due", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("submitted_by", sa.String(), nullable=True),
        sa.Column("file_name", sa.String(), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("comment", sa.String(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("insats_id", "kind", "year", name="uq_obligation_kind_year"),
    )
    op.create_index("ix_obligation_insats_id", "obligation", ["insats_id"])


def downgrade() -> None:
    op.drop_table("obligation")
    op.drop_table("insats")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("subject")
