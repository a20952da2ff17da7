"""An index on the agenda items' audit rows (issue 17): what a plan's page asks of every
plan (when its adoption stands: the agenda item its decision's row names) and what each
protokoll asks of its meeting's decisions looked through every agenda item there was.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_agenda_item_audit_seq", "agenda_item", ["audit_seq"])


def downgrade() -> None:
    op.drop_index("ix_agenda_item_audit_seq", table_name="agenda_item")
