"""Breakdowns that follow every filter: rows per filter dimension, an index for the facts.

``dashboard_rollups`` gains ``kept`` (in its key): which filter dimensions a row keeps — all
(the totals, and breakdowns per month), none, or one; breakdowns are kept once per dimension
besides. ``dashboard_facts`` gets an index holding every column a breakdown filtered by
several dimensions reads. The new rows cannot be filled from SQL (they need each ticket's
triggers split), so both tables are made anew, empty: ``escalade db upgrade`` then counts the
decisions already stored again (``integration.cli.dashboard.count_missing``), as it did when
the dashboard came.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# Frozen copies of the column types at this revision (see 0001).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DIMENSIONS = ["tier", "helpdesk", "plan", "arr_band", "channel", "category"]
SCAN = ["tenant_id", "day", *DIMENSIONS, "hour", "grp", "area", "age", "sla", "triggers"]


def _dimensions() -> list[sa.Column[object]]:
    return [
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("helpdesk", sa.String(length=32), nullable=False),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("arr_band", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
    ]


def _facts() -> None:
    op.create_table(
        "dashboard_facts",
        sa.Column("ticket_id", BIG_ID, nullable=False, autoincrement=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        *_dimensions(),
        sa.Column("grp", sa.String(length=64), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("age", sa.String(length=16), nullable=False),
        sa.Column("triggers", sa.String(length=500), nullable=False),
        sa.Column("escalated_s", sa.Float(), nullable=True),
        sa.Column("first_s", sa.Float(), nullable=True),
        sa.Column("resolved_s", sa.Float(), nullable=True),
        sa.Column("sla", sa.String(length=8), nullable=False),
        sa.Column("csat", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_dashboard_facts_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_dashboard_facts_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_dashboard_facts")),
    )
    op.create_index(op.f("ix_dashboard_facts_day"), "dashboard_facts", ["day"])


def _rollups(key: list[str], *, kept: bool) -> None:
    op.create_table(
        "dashboard_rollups",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        *([sa.Column("kept", sa.String(length=8), nullable=False)] if kept else []),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        *_dimensions(),
        *[sa.Column(name, sa.Integer(), nullable=False)
          for name in ("tickets", "escalated_n")],
        sa.Column("escalated_s", sa.Float(), nullable=False),
        sa.Column("first_n", sa.Integer(), nullable=False),
        sa.Column("first_s", sa.Float(), nullable=False),
        sa.Column("resolved_n", sa.Integer(), nullable=False),
        sa.Column("resolved_s", sa.Float(), nullable=False),
        sa.Column("sla_met", sa.Integer(), nullable=False),
        sa.Column("sla_breached", sa.Integer(), nullable=False),
        sa.Column("csat_n", sa.Integer(), nullable=False),
        sa.Column("csat_sum", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_dashboard_rollups_tenant_id_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_rollups")),
        sa.UniqueConstraint(*key, name=op.f("uq_dashboard_rollups_key")),
    )
    ranges = ["grain", *(["kept"] if kept else []), "kind", "day"]
    op.create_index(op.f("ix_dashboard_rollups_" + "_".join(ranges)), "dashboard_rollups",
                    ranges)


def _drop() -> None:
    op.drop_table("dashboard_rollups")
    op.drop_table("dashboard_facts")


def upgrade() -> None:
    _drop()
    _facts()
    op.create_index("ix_dashboard_facts_scan", "dashboard_facts", SCAN)
    _rollups(["tenant_id", "grain", "kept", "kind", "day", "value", *DIMENSIONS], kept=True)


def downgrade() -> None:
    _drop()
    _facts()
    op.create_index(op.f("ix_dashboard_facts_tenant_id_day"), "dashboard_facts",
                    ["tenant_id", "day"])
    _rollups(["tenant_id", "grain", "kind", "day", "value", *DIMENSIONS], kept=False)
