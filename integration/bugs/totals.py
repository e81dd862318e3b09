"""What a bug group adds up to — tickets, accounts, ARR, who is hit — without reading every ticket.

The store counts these in SQL (``integration.store.bugs.group_totals``), so a report or a spike
alert for a group of thousands of tickets reads a handful of them, not all; ``totals_of`` counts
the same from tickets in hand (a draft without the store, and the tests that hold both to one
answer). Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from integration.models import Ticket

__all__ = ["GroupTotals", "customer_key", "totals_of"]

# Enough enterprise names for a reason sentence; the count is what the rule compares.
ENTERPRISE_NAMES = 20


@dataclass(frozen=True, kw_only=True, slots=True)
class GroupTotals:
    """A group's tickets and accounts, counted; ``recent_accounts`` since the rule's window."""

    tickets: int
    accounts: int
    recent_accounts: int = 0
    enterprise: tuple[str, ...] = ()
    enterprise_count: int = 0
    arr: float = 0.0
    tier_3: bool = False
    first_at: datetime | None = None
    last_at: datetime | None = None
    per_day: Mapping[str, int] = field(default_factory=dict)


def customer_key(ticket: Ticket) -> str:
    """Who a ticket counts for: its account, else its requester."""
    return ticket.account.id if ticket.account is not None else f"requester:{ticket.requester.id}"


def totals_of(tickets: Iterable[tuple[Ticket, int | None]], *,
              since: datetime | None = None) -> GroupTotals:
    """Count ``(ticket, tier)`` pairs as the store counts a group's rows."""
    pairs = list(tickets)
    arr: dict[str, float] = {}
    enterprise: dict[str, str] = {}
    recent: set[str] = set()
    for ticket, _ in pairs:
        key = customer_key(ticket)
        account = ticket.account
        arr[key] = max(arr.get(key, 0.0), float(account.arr or 0) if account is not None else 0.0)
        if account is not None and (account.plan or "") == "enterprise":
            enterprise.setdefault(key, account.name or account.id)
        if since is not None and ticket.created_at >= since:
            recent.add(key)
    times = [t.created_at for t, _ in pairs]
    names = sorted(enterprise.values())
    return GroupTotals(
        tickets=len(pairs),
        accounts=len(arr),
        recent_accounts=len(recent),
        enterprise=tuple(names[:ENTERPRISE_NAMES]),
        enterprise_count=len(names),
        arr=sum(arr.values()),
        tier_3=any(tier == 3 for _, tier in pairs),
        first_at=min(times, default=None),
        last_at=max(times, default=None),
        per_day=dict(sorted(Counter(at.date().isoformat() for at in times).items())),
    )
