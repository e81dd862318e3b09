"""Tickets carry their assignee as a column: routing counts each agent's open tickets.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("assignee", sa.String(length=100), nullable=True))
    op.create_index(
        op.f("ix_tickets_tenant_id_assignee_status"), "tickets", ["tenant_id", "assignee", "status"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_tickets_tenant_id_assignee_status"), table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("assignee")
