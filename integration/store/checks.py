"""The last connection test of each of a tenant's connections, and what it answered.

One row per tenant and connection (``helpdesk``, ``slack``, ``crm``, ``jira``, ``linear``):
whether the vendor accepted the credentials, its words (who answered, or its error), when,
and a keyed fingerprint of the settings that were tested, so a later change of those settings
shows as "not tested since". ``detail`` keeps what the test learned (the helpdesk's groups).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.store.db import Base, UTCDateTime
from integration.store.ops import insert_ignore
from integration.store.tables import BigId

__all__ = ["ConnectionCheckRow", "connection_checks", "record_check"]

MAX_MESSAGE_CHARS = 1000


class ConnectionCheckRow(Base):
    """The newest connection test of one tenant connection."""

    __tablename__ = "connection_checks"
    __table_args__ = (UniqueConstraint("tenant_id", "connection"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    connection: Mapped[str] = mapped_column(String(32))
    ok: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return (f"ConnectionCheckRow(tenant_id={self.tenant_id!r}, "
                f"connection={self.connection!r}, ok={self.ok!r})")


def record_check(
    s: Session,
    *,
    tenant_id: int,
    connection: str,
    ok: bool,
    message: str,
    fingerprint: str,
    now: datetime,
    detail: Mapping[str, Any] | None = None,
) -> ConnectionCheckRow:
    """Store a test result, replacing the connection's previous one."""
    values = {"ok": ok, "message": message[:MAX_MESSAGE_CHARS], "fingerprint": fingerprint,
              "detail": dict(detail) if detail is not None else None, "checked_at": now}
    insert_ignore(s, ConnectionCheckRow,
                  {"tenant_id": tenant_id, "connection": connection, **values},
                  ("tenant_id", "connection"))
    row = s.scalars(select(ConnectionCheckRow).where(
        ConnectionCheckRow.tenant_id == tenant_id,
        ConnectionCheckRow.connection == connection)).one()
    for key, value in values.items():
        setattr(row, key, value)
    s.flush()
    return row


def connection_checks(s: Session, tenant_id: int) -> dict[str, ConnectionCheckRow]:
    """The tenant's newest test per connection."""
    rows = s.scalars(select(ConnectionCheckRow).where(ConnectionCheckRow.tenant_id == tenant_id))
    return {row.connection: row for row in rows}
