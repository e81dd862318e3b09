"""The weekly digest's record of weeks sent, and what it reads of the bug groups.

``weekly_digests`` holds one row per workspace and week the digest was queued for (or found
no ticket for); the row is inserted only when none exists (``record_week``), in the same
transaction as the outbox row that posts the digest, so two schedulers on one database post
it once. ``incidents_between`` reads the open bug groups that had tickets in a week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.store.bugs import BugGroupRow, BugGroupTicketRow
from integration.store.db import Base, UTCDateTime
from integration.store.ops import insert_ignore
from integration.store.tables import BigId, TicketRow

__all__ = ["Incident", "WeeklyDigestRow", "incidents_between", "record_week", "week_recorded"]


class WeeklyDigestRow(Base):
    """A week whose digest a workspace got (``queued``) or did not need (``empty``)."""

    __tablename__ = "weekly_digests"
    __table_args__ = (UniqueConstraint("tenant_id", "week"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(8))  # ISO week, 2026-W49
    status: Mapped[str] = mapped_column(String(16))
    tickets: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def week_recorded(s: Session, *, tenant_id: int, week: str) -> str | None:
    """The status of the week's digest (``queued``, ``empty``), None when not yet made."""
    return s.scalars(select(WeeklyDigestRow.status).where(
        WeeklyDigestRow.tenant_id == tenant_id, WeeklyDigestRow.week == week)).first()


def record_week(s: Session, *, tenant_id: int, week: str, status: str, tickets: int,
                now: datetime) -> bool:
    """Record the week's digest unless it is recorded already; True when this call did."""
    return insert_ignore(s, WeeklyDigestRow, {
        "tenant_id": tenant_id, "week": week, "status": status, "tickets": tickets,
        "created_at": now}, ("tenant_id", "week"))


@dataclass(frozen=True, kw_only=True, slots=True)
class Incident:
    """An open bug group and how many of its tickets came in the week."""

    title: str
    status: str
    tickets: int
    tracker_key: str | None
    tracker_url: str | None
    spiked: bool


def incidents_between(s: Session, *, tenant_id: int, since: datetime,
                      until: datetime) -> list[Incident]:
    """Bug groups not resolved with tickets created in ``since``..``until``, most first."""
    count = func.count(TicketRow.id)
    query = (
        select(BugGroupRow.title, BugGroupRow.status, count, BugGroupRow.tracker_key,
               BugGroupRow.tracker_url, BugGroupRow.spike_hour)
        .join(BugGroupTicketRow, BugGroupTicketRow.group_id == BugGroupRow.id)
        .join(TicketRow, TicketRow.id == BugGroupTicketRow.ticket_id)
        .where(BugGroupRow.tenant_id == tenant_id, BugGroupRow.status != "resolved",
               TicketRow.created_at >= since, TicketRow.created_at < until)
        .group_by(BugGroupRow.id, BugGroupRow.title, BugGroupRow.status,
                  BugGroupRow.tracker_key, BugGroupRow.tracker_url, BugGroupRow.spike_hour)
        .order_by(count.desc(), BugGroupRow.id)
    )
    return [Incident(title=title, status=status, tickets=int(n), tracker_key=key,
                     tracker_url=url, spiked=spike is not None and since <= _aware(spike) < until)
            for title, status, n, key, url, spike in s.execute(query)]


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
