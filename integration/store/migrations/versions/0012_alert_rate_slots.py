"""Slack alerts: the per-channel rate limit counted atomically, and held alerts' threads.

``alert_rate_slots`` holds one row per posting slot of a channel (``rate_limit`` of them):
posting takes a slot free for a whole window with a conditional UPDATE, so two workers never
both take the tenth. ``alert_messages.thread_ts`` is where an alert's follow-ups go when the
alert itself is a reply (an alert held by the rate limit lives in its summary's thread).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Frozen copies of the column types at this revision (see 0001).
UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("alert_messages") as batch:
        batch.add_column(sa.Column("thread_ts", sa.String(length=32), nullable=True))
    op.create_table(
        "alert_rate_slots",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("used_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"],
            name=op.f("fk_alert_rate_slots_tenant_id_tenants"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rate_slots")),
        sa.UniqueConstraint(
            "tenant_id", "channel", "slot",
            name=op.f("uq_alert_rate_slots_tenant_id_channel_slot"),
        ),
    )


def downgrade() -> None:
    op.drop_table("alert_rate_slots")
    with op.batch_alter_table("alert_messages") as batch:
        batch.drop_column("thread_ts")
