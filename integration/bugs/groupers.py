"""The bug groupers a process keeps: one per tenant, rebuilt from the stored groups on first use.

Grouping is incremental (``BugGrouper``), so each process holds its groups in memory; the
stored groups are the truth it is rebuilt from when a tenant's first bug-shaped ticket of the
process arrives.
"""

from __future__ import annotations

import threading
import uuid

from sqlalchemy.orm import Session

from integration.bugs.grouping import BugGrouper
from integration.models import Ticket
from integration.store.bugs import grouped_tickets

__all__ = ["Groupers"]


class Groupers:
    """One in-memory grouper per tenant, rebuilt from the stored groups on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_tenant: dict[int, tuple[BugGrouper, dict[str, str]]] = {}

    def assign(self, s: Session, tenant_id: int, ticket: Ticket) -> tuple[str, str]:
        """(stored group key, why) for a bug-shaped ticket."""
        with self._lock:
            grouper, keys = self._by_tenant.get(tenant_id) or self._rebuild(s, tenant_id)
            assignment = grouper.add(ticket)
            key = keys.get(assignment.group_id)
            if key is None:
                # New in this process: a key no earlier process can have used.
                key = keys[assignment.group_id] = f"{assignment.group_id}-{uuid.uuid4().hex[:8]}"
            return key, assignment.matched_on

    def _rebuild(self, s: Session, tenant_id: int) -> tuple[BugGrouper, dict[str, str]]:
        grouper, keys = BugGrouper(), dict[str, str]()
        for data, group_key in grouped_tickets(s, tenant_id):
            assignment = grouper.add(Ticket.from_dict(data))
            keys.setdefault(assignment.group_id, group_key)
        self._by_tenant[tenant_id] = (grouper, keys)
        return grouper, keys
