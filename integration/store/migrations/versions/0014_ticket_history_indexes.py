"""Repeat-contact history stays fast as tickets accumulate: one index per key, newest first.

``ticket_history`` asks for a requester's or an account's latest tickets. With an index on
``(tenant_id, key)`` only, both databases read every ticket of the key (or, for the OR of the
two keys, of the tenant) and sort them; with ``created_at`` and ``id`` in the index each key
is read newest first and the query stops at its limit. The old two-column indexes are
prefixes of the new ones and go.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KEYS = ("requester_key", "account_key")


def upgrade() -> None:
    for key in KEYS:
        op.create_index(op.f(f"ix_tickets_tenant_id_{key}_created_at_id"), "tickets",
                        ["tenant_id", key, "created_at", "id"])
        op.drop_index(op.f(f"ix_tickets_tenant_id_{key}"), table_name="tickets")


def downgrade() -> None:
    for key in KEYS:
        op.create_index(op.f(f"ix_tickets_tenant_id_{key}"), "tickets", ["tenant_id", key])
        op.drop_index(op.f(f"ix_tickets_tenant_id_{key}_created_at_id"), table_name="tickets")
