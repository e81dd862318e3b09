"""The start page at scale: a search column on tickets and the indexes its list reads.

``tickets.search_text`` holds what the search looks in (id, subject, account, requester),
lower-cased, so searching never parses every ticket's JSON. The list is read in the order
of ``(tier, updated_at, id)``, for every tenant or one, from indexes that also hold every
column it filters on (counting a filtered list reads no table row); a ticket's write-backs
by ``outbox.ticket_id``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_BATCH = 1000
_CHARS = 300


def _search_text(data: Any) -> str:
    # A frozen copy of integration.store.overview.search_text at this revision.
    if isinstance(data, str):
        data = json.loads(data)
    data = data if isinstance(data, dict) else {}
    account = data.get("account") if isinstance(data.get("account"), dict) else {}
    requester = data.get("requester") if isinstance(data.get("requester"), dict) else {}
    parts = [data.get("id"), data.get("subject"), account.get("name"), requester.get("name"),
             requester.get("email")]
    return "\n".join(str(p) for p in parts if p).lower()[:_CHARS]


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    tickets = sa.table("tickets", sa.column("id", sa.Integer()), sa.column("data", sa.JSON()),
                       sa.column("search_text", sa.Text()))
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(tickets.c.id, tickets.c.data).where(tickets.c.id > last)
            .order_by(tickets.c.id).limit(_BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            sa.update(tickets).where(tickets.c.id == sa.bindparam("ticket_id"))
            .values(search_text=sa.bindparam("text")),
            [{"ticket_id": row.id, "text": _search_text(row.data)} for row in rows],
        )
        last = rows[-1].id
    filters = ["status", "category", "helpdesk", "search_text"]
    op.create_index("ix_tickets_list", "tickets",
                    ["tier", "updated_at", "id", "tenant_id", *filters])
    op.create_index("ix_tickets_tenant_list", "tickets",
                    ["tenant_id", "tier", "updated_at", "id", *filters])
    op.create_index(op.f("ix_outbox_ticket_id"), "outbox", ["ticket_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_ticket_id"), table_name="outbox")
    op.drop_index("ix_tickets_tenant_list", table_name="tickets")
    op.drop_index("ix_tickets_list", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("search_text")
