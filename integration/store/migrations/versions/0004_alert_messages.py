"""Alert messages: one chat message per escalation, its state and the rate limit's clock.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen copies of the column types at this revision (see 0001).
UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_messages",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("ticket_key", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("delivered", sa.JSON(), nullable=False),
        sa.Column("snooze_until", UTC_TIME, nullable=True),
        sa.Column("posted_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"],
            name=op.f("fk_alert_messages_tenant_id_tenants"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_messages")),
        sa.UniqueConstraint(
            "tenant_id", "dedupe_key", name=op.f("uq_alert_messages_tenant_id_dedupe_key")
        ),
    )
    op.create_index(
        op.f("ix_alert_messages_tenant_id_ticket_key"),
        "alert_messages", ["tenant_id", "ticket_key"],
    )
    # The rate limit's query: a channel's top-level alerts in the last window.
    op.create_index(
        op.f("ix_alert_messages_tenant_id_channel_posted_at"),
        "alert_messages", ["tenant_id", "channel", "posted_at"],
    )


def downgrade() -> None:
    op.drop_table("alert_messages")
