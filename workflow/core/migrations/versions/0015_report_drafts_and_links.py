"""Reports in the browser (issue 15): a report's draft (figures and file saved before
it is handed in) and the page a mailed sign-in link opens.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from workflow.core.models import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("obligation") as batch:
        batch.add_column(sa.Column("draft_figures", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("draft_file_name", sa.String(), nullable=True))
        batch.add_column(sa.Column("draft_file_size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("draft_file_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("draft_saved_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("draft_saved_by", sa.String(), nullable=True))
    with op.batch_alter_table("signin_link") as batch:
        batch.add_column(sa.Column("target", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signin_link") as batch:
        batch.drop_column("target")
    with op.batch_alter_table("obligation") as batch:
        for column in (
            "draft_saved_by",
            "draft_saved_at",
            "draft_file_sha256",
            "draft_file_size",
            "draft_file_name",
            "draft_figures",
        ):
            batch.drop_column(column)
