"""The bug groupers a process keeps: one per tenant, kept in step with the stored groups.

Grouping is incremental (``BugGrouper``), so each process holds its groups in memory; the
stored groups are the truth. A tenant's first bug-shaped ticket in a process rebuilds them,
and every later one first reads the tickets other workers grouped since, holding the tenant's
grouping lock (PostgreSQL) until its transaction ends, so two workers never open two groups
for one problem.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from integration.bugs.grouping import BugGrouper
from integration.models import Ticket
from integration.store.bugs import grouped_tickets, lock_grouping

__all__ = ["Groupers"]


@dataclass
class _Groups:
    grouper: BugGrouper = field(default_factory=BugGrouper)
    keys: dict[str, str] = field(default_factory=dict)  # in-memory group id -> stored key
    seen: set[str] = field(default_factory=set)  # tickets already in the grouper
    last_link: int = 0  # the newest stored membership read

    def take(self, s: Session, tenant_id: int) -> None:
        """Add the tickets stored since the last read (another worker's, or the first read)."""
        for link_id, data, group_key in grouped_tickets(s, tenant_id, after=self.last_link):
            self.last_link = max(self.last_link, link_id)
            # Mostly this process's own tickets, already in the grouper: not parsed again.
            if str(data.get("id")) in self.seen:
                continue
            ticket = Ticket.from_dict(data)
            self.seen.add(ticket.id)
            self.keys.setdefault(self.grouper.add(ticket).group_id, group_key)


class Groupers:
    """One in-memory grouper per tenant, in step with the stored groups."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_tenant: dict[int, _Groups] = {}

    def assign(self, s: Session, tenant_id: int, ticket: Ticket) -> tuple[str, str]:
        """(stored group key, why) for a bug-shaped ticket."""
        # The database lock first: a thread waiting for it must not hold the process's lock.
        lock_grouping(s, tenant_id)
        with self._lock:
            groups = self._by_tenant.setdefault(tenant_id, _Groups())
            groups.take(s, tenant_id)
            groups.seen.add(ticket.id)
            assignment = groups.grouper.add(ticket)
            key = groups.keys.get(assignment.group_id)
            if key is None:
                # New in this process: a key no other process can have used.
                key = f"{assignment.group_id}-{uuid.uuid4().hex[:8]}"
                groups.keys[assignment.group_id] = key
            return key, assignment.matched_on
