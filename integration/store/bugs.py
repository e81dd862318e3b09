"""Bug groups: tickets about one product problem, and the tracker issue filed for them.

A group row is created when the grouper opens a new group for a bug-shaped ticket; its
``fingerprint`` is stable and goes to the tracker (a Jira label, a Linear marker) so the same
problem is never filed twice. ``bug_group_tickets`` links tickets to groups and remembers
whether each ticket got its "linked to bug X" note and, later, its "fixed" note.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, case, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.bugs.totals import ENTERPRISE_NAMES, GroupTotals
from integration.store.db import Base, UTCDateTime
from integration.store.tables import BigId, TicketRow

__all__ = [
    "BugGroupRow",
    "BugGroupTicketRow",
    "fingerprint_for",
    "get_group",
    "group_by_tracker_key",
    "group_hourly_counts",
    "group_sample",
    "group_tickets",
    "group_totals",
    "grouped_tickets",
    "link_ticket",
    "links_not_noted",
]


class BugGroupRow(Base):
    """One underlying problem and what was filed for it."""

    __tablename__ = "bug_groups"
    __table_args__ = (
        UniqueConstraint("tenant_id", "group_key"),
        Index(None, "tenant_id", "tracker_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    group_key: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|reported|resolved
    tracker: Mapped[str | None] = mapped_column(String(16))
    tracker_key: Mapped[str | None] = mapped_column(String(64))
    tracker_url: Mapped[str | None] = mapped_column(String(500))
    reports: Mapped[int] = mapped_column(default=0)
    spike_hour: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BugGroupTicketRow(Base):
    """A ticket's membership in a group."""

    __tablename__ = "bug_group_tickets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("bug_groups.id", ondelete="CASCADE"),
                                          index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           unique=True)
    matched_on: Mapped[str] = mapped_column(String(300))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    noted_key: Mapped[str | None] = mapped_column(String(64))
    fixed_noted: Mapped[bool] = mapped_column(default=False)


def fingerprint_for(tenant_slug: str, group_key: str) -> str:
    """The stable id the tracker sees: short, fixed-length, not guessable across tenants."""
    digest = hashlib.sha256(f"{tenant_slug}:{group_key}".encode()).hexdigest()
    return f"esc-{digest[:12]}"


def link_ticket(
    s: Session,
    *,
    tenant_id: int,
    tenant_slug: str,
    group_key: str,
    ticket_id: int,
    title: str,
    matched_on: str,
    now: datetime,
) -> BugGroupRow:
    """Put the ticket in the group (created on first use); a ticket is in one group only."""
    group = s.scalars(select(BugGroupRow).where(BugGroupRow.tenant_id == tenant_id,
                                                BugGroupRow.group_key == group_key)
                      ).one_or_none()
    if group is None:
        group = BugGroupRow(tenant_id=tenant_id, group_key=group_key,
                            fingerprint=fingerprint_for(tenant_slug, group_key),
                            title=title[:300], status="open", created_at=now, reports=0)
        s.add(group)
        s.flush()
    link = s.scalars(select(BugGroupTicketRow).where(BugGroupTicketRow.ticket_id == ticket_id)
                     ).one_or_none()
    if link is None:
        s.add(BugGroupTicketRow(group_id=group.id, ticket_id=ticket_id, matched_on=matched_on[:300],
                                added_at=now))
    elif link.group_id != group.id:
        link.group_id, link.matched_on = group.id, matched_on[:300]
    s.flush()
    return group


def group_tickets(s: Session, group_id: int) -> list[tuple[BugGroupTicketRow, TicketRow]]:
    """The group's tickets, oldest first."""
    query = (
        select(BugGroupTicketRow, TicketRow)
        .join(TicketRow, TicketRow.id == BugGroupTicketRow.ticket_id)
        .where(BugGroupTicketRow.group_id == group_id)
        .order_by(TicketRow.created_at, TicketRow.id)
    )
    return [(link, ticket) for link, ticket in s.execute(query)]


def group_sample(s: Session, group_id: int, *, first: int, newest: int,
                 also: int | None = None) -> list[tuple[BugGroupTicketRow, TicketRow]]:
    """The group's ``first`` oldest and ``newest`` newest tickets (and ticket id ``also``),
    oldest first: what a report of a large group quotes."""
    base = (
        select(BugGroupTicketRow, TicketRow)
        .join(TicketRow, TicketRow.id == BugGroupTicketRow.ticket_id)
        .where(BugGroupTicketRow.group_id == group_id)
    )
    found: dict[int, tuple[BugGroupTicketRow, TicketRow]] = {}
    for query in (base.order_by(TicketRow.created_at, TicketRow.id).limit(first),
                  base.order_by(TicketRow.created_at.desc(), TicketRow.id.desc()).limit(newest),
                  *((base.where(TicketRow.id == also),) if also is not None else ())):
        for link, ticket in s.execute(query):
            found[ticket.id] = (link, ticket)
    return sorted(found.values(), key=lambda pair: (pair[1].created_at, pair[1].id))


def group_totals(s: Session, group_id: int, *, since: datetime | None = None) -> GroupTotals:
    """The group counted in SQL: tickets, accounts (and those with a ticket since ``since``),
    enterprise accounts, ARR, whether any ticket is Tier 3, tickets per day."""
    account = func.coalesce(TicketRow.account_key, TicketRow.requester_key, "")
    plan = TicketRow.data[("account", "plan")].as_string()
    name = func.coalesce(TicketRow.data[("account", "name")].as_string(),
                         TicketRow.data[("account", "id")].as_string())
    members = (select(account.label("account"),
                      func.max(case((plan == "enterprise", name), else_=None)),
                      func.max(TicketRow.data[("account", "arr")].as_float()),
                      func.max(TicketRow.created_at),
                      func.max(case((TicketRow.tier == 3, 1), else_=0)))
               .join(BugGroupTicketRow, BugGroupTicketRow.ticket_id == TicketRow.id)
               .where(BugGroupTicketRow.group_id == group_id)
               .group_by(account))
    accounts = s.execute(members).all()
    enterprise = sorted(str(row[1]) for row in accounts if row[1] is not None)
    times = list(s.scalars(select(TicketRow.created_at)
                           .join(BugGroupTicketRow, BugGroupTicketRow.ticket_id == TicketRow.id)
                           .where(BugGroupTicketRow.group_id == group_id)))
    per_day: dict[str, int] = {}
    for at in times:
        day = at.date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
    return GroupTotals(
        tickets=len(times),
        accounts=len(accounts),
        recent_accounts=sum(1 for row in accounts
                            if since is not None and row[3] is not None and row[3] >= since),
        enterprise=tuple(enterprise[:ENTERPRISE_NAMES]),
        enterprise_count=len(enterprise),
        arr=sum(float(row[2] or 0) for row in accounts),
        tier_3=any(row[4] for row in accounts),
        first_at=min(times, default=None),
        last_at=max(times, default=None),
        per_day=dict(sorted(per_day.items())),
    )


def links_not_noted(s: Session, group_id: int, key: str
                    ) -> list[tuple[BugGroupTicketRow, TicketRow]]:
    """The group's tickets not yet told about tracker issue ``key``."""
    query = (
        select(BugGroupTicketRow, TicketRow)
        .join(TicketRow, TicketRow.id == BugGroupTicketRow.ticket_id)
        .where(BugGroupTicketRow.group_id == group_id,
               or_(BugGroupTicketRow.noted_key.is_(None), BugGroupTicketRow.noted_key != key))
        .order_by(TicketRow.created_at, TicketRow.id)
    )
    return [(link, ticket) for link, ticket in s.execute(query)]


def get_group(s: Session, group_id: int) -> BugGroupRow | None:
    """A group by id, or None when it was removed with its tenant."""
    return s.get(BugGroupRow, group_id)


def grouped_tickets(s: Session, tenant_id: int, *, after: int = 0
                    ) -> list[tuple[int, dict[str, Any], str]]:
    """The tenant's grouped tickets (membership id, data, group key) in arrival order.

    ``after`` keeps the memberships recorded after that id (what other workers added since).
    """
    query = (
        select(BugGroupTicketRow.id, TicketRow.data, BugGroupRow.group_key)
        .join(BugGroupTicketRow, BugGroupTicketRow.ticket_id == TicketRow.id)
        .join(BugGroupRow, BugGroupRow.id == BugGroupTicketRow.group_id)
        .where(BugGroupRow.tenant_id == tenant_id, BugGroupTicketRow.id > after)
        .order_by(TicketRow.created_at, TicketRow.id)
    )
    return [(link_id, data, group_key) for link_id, data, group_key in s.execute(query)]


def lock_grouping(s: Session, tenant_id: int) -> None:
    """Hold the tenant's grouping until this transaction ends, so workers group in turn.

    PostgreSQL only: there several processes group at once; SQLite has one process.
    """
    if s.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"escalade:bug-grouping:{tenant_id}".encode()).digest()
        s.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big",
                                                                  signed=True))))


def group_by_tracker_key(s: Session, *, tenant_id: int, tracker_key: str) -> BugGroupRow | None:
    """The group a tracker issue was filed for."""
    return s.scalars(select(BugGroupRow).where(BugGroupRow.tenant_id == tenant_id,
                                               BugGroupRow.tracker_key == tracker_key)
                     ).first()


def group_hourly_counts(s: Session, group_id: int, *, since: datetime) -> dict[datetime, int]:
    """Tickets per creation hour since ``since`` (for spike detection)."""
    query = (
        select(TicketRow.created_at)
        .join(BugGroupTicketRow, BugGroupTicketRow.ticket_id == TicketRow.id)
        .where(BugGroupTicketRow.group_id == group_id, TicketRow.created_at >= since)
    )
    counts: dict[datetime, int] = {}
    for (at,) in s.execute(query):
        hour = at.replace(minute=0, second=0, microsecond=0)
        counts[hour] = counts.get(hour, 0) + 1
    return counts


