"""Initial schema: tenants, inbound events, tickets, decisions, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types as they were at this revision (not imported from the
# models, which will move on): aware timestamps, and 64-bit ids that are SQLite's rowid.
UTC_TIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("helpdesk", sa.String(length=32), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=True),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "inbound_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("ticket_external_id", sa.String(length=100), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("lease_until", UTC_TIME, nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("processed_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"],
            name=op.f("fk_inbound_events_tenant_id_tenants"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_events")),
        sa.UniqueConstraint(
            "tenant_id", "source", "delivery_id",
            name=op.f("uq_inbound_events_tenant_id_source_delivery_id"),
        ),
    )
    op.create_index(
        op.f("ix_inbound_events_status_next_attempt_at"),
        "inbound_events", ["status", "next_attempt_at"],
    )
    op.create_index(
        op.f("ix_inbound_events_tenant_id_ticket_external_id"),
        "inbound_events", ["tenant_id", "ticket_external_id"],
    )
    op.create_table(
        "tickets",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("helpdesk", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("requester_key", sa.String(length=320), nullable=True),
        sa.Column("account_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("sla_due_at", UTC_TIME, nullable=True),
        sa.Column("input_fingerprint", sa.String(length=128), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"],
            name=op.f("fk_tickets_tenant_id_tenants"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint(
            "tenant_id", "helpdesk", "external_id",
            name=op.f("uq_tickets_tenant_id_helpdesk_external_id"),
        ),
    )
    op.create_index(op.f("ix_tickets_status_sla_due_at"), "tickets", ["status", "sla_due_at"])
    op.create_index(
        op.f("ix_tickets_tenant_id_account_key"), "tickets", ["tenant_id", "account_key"]
    )
    op.create_index(
        op.f("ix_tickets_tenant_id_requester_key"), "tickets", ["tenant_id", "requester_key"]
    )
    op.create_table(
        "decisions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", BIG_ID, nullable=False),
        sa.Column("event_id", BIG_ID, nullable=True),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("decided_at", UTC_TIME, nullable=False),
        sa.Column("matrix_version", sa.String(length=128), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("previous_tier", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("sentiment", sa.Float(), nullable=False),
        sa.Column("triggers", sa.JSON(), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("sla_due_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["inbound_events.id"],
            name=op.f("fk_decisions_event_id_inbound_events"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"],
            name=op.f("fk_decisions_tenant_id_tenants"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"],
            name=op.f("fk_decisions_ticket_id_tickets"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index(
        op.f("ix_decisions_tenant_id_decided_at"), "decisions", ["tenant_id", "decided_at"]
    )
    op.create_index(
        op.f("ix_decisions_ticket_id_decided_at"), "decisions", ["ticket_id", "decided_at"]
    )
    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", BIG_ID, nullable=True),
        sa.Column("ticket_id", BIG_ID, nullable=True),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("ticket_external_id", sa.String(length=100), nullable=True),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("lease_until", UTC_TIME, nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("delivered_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"],
            name=op.f("fk_outbox_decision_id_decisions"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"],
            name=op.f("fk_outbox_tenant_id_tenants"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"],
            name=op.f("fk_outbox_ticket_id_tickets"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(
        op.f("ix_outbox_status_next_attempt_at"), "outbox", ["status", "next_attempt_at"]
    )
    op.create_index(op.f("ix_outbox_tenant_id_status"), "outbox", ["tenant_id", "status"])


def downgrade() -> None:
    for table in ("outbox", "decisions", "tickets", "inbound_events", "tenants"):
        # Indexes go with their table on every backend we support.
        op.drop_table(table)
