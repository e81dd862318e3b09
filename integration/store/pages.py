"""What the agent's pages ask the store beyond the ticket list (``store.overview``).

``linked_bug`` is the tracker issue filed for a ticket's bug group, shown in the sidebar;
``other_tenants_on`` lists the other workspaces on a helpdesk, for the sidebar's check that
tells another workspace's valid proof (403) from no proof at all (401).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from integration.store.bugs import BugGroupRow, BugGroupTicketRow
from integration.store.tables import TenantRow

__all__ = ["LinkedBug", "linked_bug", "other_tenants_on"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkedBug:
    """The tracker issue filed for a ticket's bug group."""

    key: str
    url: str | None
    title: str


def linked_bug(s: Session, ticket_id: int) -> LinkedBug | None:
    """The issue filed for the bug group of ticket row ``ticket_id``, when one was filed."""
    group = s.scalars(
        select(BugGroupRow)
        .join(BugGroupTicketRow, BugGroupTicketRow.group_id == BugGroupRow.id)
        .where(BugGroupTicketRow.ticket_id == ticket_id, BugGroupRow.tracker_key.is_not(None))
    ).first()
    if group is None or group.tracker_key is None:
        return None
    return LinkedBug(key=group.tracker_key, url=group.tracker_url, title=group.title)


def other_tenants_on(s: Session, *, helpdesk: str, slug: str) -> list[TenantRow]:
    """Every workspace on ``helpdesk`` except ``slug``."""
    return list(s.scalars(
        select(TenantRow).where(TenantRow.helpdesk == helpdesk, TenantRow.slug != slug)
    ))
