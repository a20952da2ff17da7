"""Revisions say what their content is: a plan file (TOML) or free Markdown text.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan_revision") as batch:
        batch.add_column(
            sa.Column(
                "content_format", sa.String(length=16), nullable=False, server_default="markdown"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("plan_revision") as batch:
        batch.drop_column("content_format")
