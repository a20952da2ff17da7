"""The minutes recorded in the browser and justerade there (issue 16): who attended and
how (present, remote, absent, an ersättare serving for whom), each §'s text, the
draft's revision and when it went to the justerare, the changes they asked for, what
the justerat protokoll says (kept as it was then) and its SHA-256; and how each web
session was signed in (a mailed link or the e-legitimation provider), which a
justerare's approval records.

Minutes recorded before keep their `present` list; their attendance is read from it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from workflow.core.models import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("minutes") as t:
        t.add_column(sa.Column("attendance", sa.JSON(), nullable=False, server_default="[]"))
        t.add_column(sa.Column("texts", sa.JSON(), nullable=False, server_default="{}"))
        t.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
        t.add_column(sa.Column("sent_at", UTCDateTime(), nullable=True))
        t.add_column(sa.Column("requests", sa.JSON(), nullable=False, server_default="[]"))
        t.add_column(sa.Column("content_sha256", sa.String(64), nullable=True))
        t.add_column(sa.Column("frozen", sa.JSON(), nullable=True))
    with op.batch_alter_table("web_session") as t:
        t.add_column(sa.Column("method", sa.String(16), nullable=False, server_default="link"))


def downgrade() -> None:
    with op.batch_alter_table("web_session") as t:
        t.drop_column("method")
    with op.batch_alter_table("minutes") as t:
        t.drop_column("frozen")
        t.drop_column("content_sha256")
        t.drop_column("requests")
        t.drop_column("sent_at")
        t.drop_column("revision")
        t.drop_column("texts")
        t.drop_column("attendance")
