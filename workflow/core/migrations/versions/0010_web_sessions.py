"""The web's sign-in links and sessions (issue 14).

Sessions and links are rows, so any number of `finsam web` processes share them;
their secrets are kept only as SHA-256. Sign-in requests are counted per address
and per client (both hashed) for the rate limits.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from workflow.core.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("id_sha256", sa.String(length=64), nullable=False, unique=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_web_session_email", "web_session", ["email"])
    op.create_table(
        "signin_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_sha256", sa.String(length=64), nullable=False, unique=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "signin_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("address_sha256", sa.String(length=64), nullable=False),
        sa.Column("client_sha256", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_signin_attempt_at", "signin_attempt", ["at"])
    op.create_index("ix_signin_attempt_address_sha256", "signin_attempt", ["address_sha256"])
    op.create_index("ix_signin_attempt_client_sha256", "signin_attempt", ["client_sha256"])


def downgrade() -> None:
    op.drop_table("signin_attempt")
    op.drop_table("signin_link")
    op.drop_index("ix_web_session_email", "web_session")
    op.drop_table("web_session")
