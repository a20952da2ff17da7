"""Personal calendar feeds (issue 16): a person's meetings at a secret, revocable
address. The address's token is kept only as SHA-256, so a copy of the database
opens nobody's calendar; one row per person (a new address replaces the old one,
switching the feed off deletes the row).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from workflow.core.models import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feed",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_sha256", sa.String(length=64), nullable=False, unique=True),
        sa.Column("email", sa.String(length=254), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("calendar_feed")
