"""Bug groups and their tickets (bugs from tickets, M5).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen copies of the column types at this revision (see 0001).
UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bug_groups",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tracker", sa.String(length=16), nullable=True),
        sa.Column("tracker_key", sa.String(length=64), nullable=True),
        sa.Column("tracker_url", sa.String(length=500), nullable=True),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("spike_hour", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("reported_at", UTC_TIME, nullable=True),
        sa.Column("resolved_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_bug_groups_tenant_id_tenants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bug_groups")),
        sa.UniqueConstraint("tenant_id", "group_key",
                            name=op.f("uq_bug_groups_tenant_id_group_key")),
    )
    op.create_index(op.f("ix_bug_groups_tenant_id_tracker_key"), "bug_groups",
                    ["tenant_id", "tracker_key"])
    op.create_table(
        "bug_group_tickets",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("group_id", BIG_ID, nullable=False),
        sa.Column("ticket_id", BIG_ID, nullable=False),
        sa.Column("matched_on", sa.String(length=300), nullable=False),
        sa.Column("added_at", UTC_TIME, nullable=False),
        sa.Column("noted_key", sa.String(length=64), nullable=True),
        sa.Column("fixed_noted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["bug_groups.id"],
                                name=op.f("fk_bug_group_tickets_group_id_bug_groups"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_bug_group_tickets_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bug_group_tickets")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_bug_group_tickets_ticket_id")),
    )
    op.create_index(op.f("ix_bug_group_tickets_group_id"), "bug_group_tickets", ["group_id"])


def downgrade() -> None:
    op.drop_table("bug_group_tickets")
    op.drop_table("bug_groups")
