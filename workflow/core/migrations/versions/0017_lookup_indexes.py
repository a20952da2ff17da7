"""Indexes for what every request and every report's page looks up (issue 15): the
insatser naming a person (by address, in any case) and an audit subject's rows.

Without them a page's cost grew with the data: each request asks which insatser
name the signed-in person (`people.find`), and a report's page reads its trail by
subject.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_insats_leader_email_lower", "insats", [sa.text("lower(leader_email)")])
    op.create_index("ix_insats_contact_email_lower", "insats", [sa.text("lower(contact_email)")])
    op.create_index("ix_audit_event_subject", "audit_event", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_subject", table_name="audit_event")
    op.drop_index("ix_insats_contact_email_lower", table_name="insats")
    op.drop_index("ix_insats_leader_email_lower", table_name="insats")
