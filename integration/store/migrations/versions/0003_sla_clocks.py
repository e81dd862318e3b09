"""SLA clocks stored on the ticket: state, warning and next-check times, the clock, timeline.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copies of the column types at this revision (see 0001).
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("sla_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("sla_warn_at", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("sla_next_at", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("sla_clock", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("timeline", sa.JSON(), nullable=True))
    # The sweep's only query: tickets whose next SLA step is due, soonest first.
    op.create_index(op.f("ix_tickets_sla_next_at"), "tickets", ["sla_next_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tickets_sla_next_at"), table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("timeline")
        batch.drop_column("sla_clock")
        batch.drop_column("sla_next_at")
        batch.drop_column("sla_warn_at")
        batch.drop_column("sla_state")
