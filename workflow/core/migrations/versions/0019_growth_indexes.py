"""Indexes for what grew with the data (issue 17): the agenda items' audit rows (what a
plan's page asks of every plan, when its adoption stands, and each protokoll of its
meeting's decisions, looked through every agenda item there was) and the outbox's rows
of one state in id order (`outbox list --state S`, a page of the newest).

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
    op.create_index("ix_outbox_message_state_id", "outbox_message", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_message_state_id", table_name="outbox_message")
    op.drop_index("ix_agenda_item_audit_seq", table_name="agenda_item")
