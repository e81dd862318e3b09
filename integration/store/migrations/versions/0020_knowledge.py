"""A workspace's knowledge: synced or imported articles and macros, and each source's sync.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# Frozen copies of the column types at this revision (see 0001).
UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "knowledge_docs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("vendor_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("section", sa.String(length=300), nullable=True),
        sa.Column("locale", sa.String(length=35), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_knowledge_docs_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_docs")),
        sa.UniqueConstraint("tenant_id", "source", "kind", "vendor_id",
                            name=op.f("uq_knowledge_docs_tenant_id_source_kind_vendor_id")),
    )
    op.create_table(
        "knowledge_sources",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.String(length=500), nullable=True),
        sa.Column("synced_at", UTC_TIME, nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failed_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_knowledge_sources_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_sources")),
        sa.UniqueConstraint("tenant_id", "source",
                            name=op.f("uq_knowledge_sources_tenant_id_source")),
    )


def downgrade() -> None:
    op.drop_table("knowledge_sources")
    op.drop_table("knowledge_docs")
