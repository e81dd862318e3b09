"""What the admin UI and the ``escalade admin`` commands ask the store, and nothing else does.

``find_admin`` looks an admin up by sign-in e-mail; ``failed_delivery_ids`` lists the outbox
rows "Retry all failed" puts back in the queue.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from integration.store.people import AdminUserRow
from integration.store.tables import OutboxRow, OutboxStatus, TenantRow

__all__ = ["failed_delivery_ids", "find_admin"]


def find_admin(s: Session, email: str) -> AdminUserRow | None:
    """The admin who signs in as ``email`` (stored lower-case), or None."""
    return s.scalars(select(AdminUserRow).where(AdminUserRow.email == email)).first()


def failed_delivery_ids(s: Session, *, tenant_slug: str | None = None) -> list[int]:
    """Ids of the outbox rows that failed for good, of one workspace when ``tenant_slug``."""
    query = select(OutboxRow.id).where(OutboxRow.status == OutboxStatus.FAILED.value)
    if tenant_slug:
        query = query.join(TenantRow, TenantRow.id == OutboxRow.tenant_id).where(
            TenantRow.slug == tenant_slug)
    return list(s.scalars(query))
