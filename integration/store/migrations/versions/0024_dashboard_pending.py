"""Decided tickets noted for the dashboard, folded into its facts and rollups in batches.

A decision used to move the dashboard's rollups in its own transaction, holding the
database's write lock through a hundred rollup rows. It now notes the ticket here; the
workers fold the notes in batches (and every dashboard read folds its workspace's first).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

# Frozen copies of the column types at this revision (see 0001).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dashboard_pending",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", BIG_ID, nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("triggers", sa.String(length=500), nullable=False),
        sa.Column("grp", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_dashboard_pending_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_dashboard_pending_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_pending")),
    )
    op.create_index(op.f("ix_dashboard_pending_tenant_id"), "dashboard_pending", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dashboard_pending_tenant_id"), table_name="dashboard_pending")
    op.drop_table("dashboard_pending")
