"""Outbox messages remember which recipients accepted them.

A message to several recipients can be taken by the server for some and refused
for others; a retry must then go only to the others. The new `accepted` column
holds those who have it. Existing rows are filled in from what is known: a sent
message was accepted by all its recipients, any other by those with a 'sent'
attempt on record.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("accepted", sa.JSON(), nullable=False, server_default="[]"))
    conn = op.get_bind()
    message = sa.table(
        "outbox_message",
        sa.column("id", sa.Integer()),
        sa.column("state", sa.String()),
        sa.column("recipients", sa.JSON()),
        sa.column("accepted", sa.JSON()),
    )
    attempt = sa.table(
        "outbox_attempt",
        sa.column("message", sa.Integer()),
        sa.column("recipient", sa.String()),
        sa.column("outcome", sa.String()),
    )
    conn.execute(
        sa.update(message).where(message.c.state == "sent").values(accepted=message.c.recipients)
    )
    took: dict[int, set[str]] = {}
    rows = conn.execute(
        sa.select(attempt.c.message, attempt.c.recipient)
        .join(message, message.c.id == attempt.c.message)
        .where(attempt.c.outcome == "sent", message.c.state != "sent")
        .distinct()
    )
    for message_id, recipient in rows:
        took.setdefault(message_id, set()).add(recipient)
    for message_id, recipients in conn.execute(
        sa.select(message.c.id, message.c.recipients).where(message.c.id.in_(list(took)))
    ):
        accepted = [r for r in recipients if r in took[message_id]]
        if accepted:
            conn.execute(
                sa.update(message).where(message.c.id == message_id).values(accepted=accepted)
            )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("accepted")
