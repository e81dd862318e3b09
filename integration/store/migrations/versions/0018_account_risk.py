"""At-risk accounts: each account's last score and whether its owner was told of the crossing.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Frozen copies of the column types at this revision (see 0001).
UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "account_risk",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("above", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("crossings", sa.Integer(), nullable=False),
        sa.Column("scored_at", UTC_TIME, nullable=False),
        sa.Column("alerted_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_account_risk_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_risk")),
        sa.UniqueConstraint("tenant_id", "account_key",
                            name=op.f("uq_account_risk_tenant_id_account_key")),
    )


def downgrade() -> None:
    op.drop_table("account_risk")
