"""What Escalade answered or suggested on each ticket from the team's knowledge.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# Frozen copies of the column types at this revision (see 0001).
UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ticket_answers",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", BIG_ID, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("doc_id", sa.String(length=200), nullable=True),
        sa.Column("doc_title", sa.String(length=500), nullable=True),
        sa.Column("doc_url", sa.String(length=1000), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("suggestions", sa.JSON(), nullable=False),
        sa.Column("answered_at", UTC_TIME, nullable=False),
        sa.Column("declined_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_ticket_answers_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_ticket_answers_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_answers")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_ticket_answers_ticket_id")),
    )
    op.create_index(op.f("ix_ticket_answers_tenant_id"), "ticket_answers", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_answers_tenant_id"), table_name="ticket_answers")
    op.drop_table("ticket_answers")
