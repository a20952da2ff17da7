"""Outbox rows may be drafts: a message a change caused, rendered after its transaction.

A change (a plan arriving at a body, the minutes approved) writes what its
message needs in `draft` and state "draft"; the message is rendered and the
row queued right after the change commits, so no write transaction renders.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("draft", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("draft")
