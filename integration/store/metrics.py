"""What ``/metrics`` reads from the database: figures the whole cluster agrees on.

Each query reads an index (events and outbox rows by status; the decisions table's primary
key), so a scrape every few seconds stays cheap on a large database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integration.store.tables import (
    DecisionRow,
    EventStatus,
    InboundEventRow,
    OutboxRow,
    OutboxStatus,
)

__all__ = ["ClusterFigures", "cluster_figures"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusterFigures:
    """Queues, backlogs and totals as the database has them."""

    events: dict[str, int]
    oldest_event_wait: float
    decisions: int
    outbox: dict[tuple[str, str], int]
    oldest_outbox_wait: float


def cluster_figures(s: Session, *, now: datetime) -> ClusterFigures:
    """Events by status, the oldest waiting event, decisions, outbox backlog per vendor."""
    events = {str(status): int(n) for status, n in s.execute(
        select(InboundEventRow.status, func.count()).group_by(InboundEventRow.status))}
    waiting = s.scalar(select(func.min(InboundEventRow.received_at)).where(
        InboundEventRow.status == EventStatus.PENDING.value))
    backlog = (OutboxStatus.PENDING.value, OutboxStatus.FAILED.value)
    outbox = {(str(target), str(status)): int(n) for target, status, n in s.execute(
        select(OutboxRow.target, OutboxRow.status, func.count())
        .where(OutboxRow.status.in_(backlog)).group_by(OutboxRow.target, OutboxRow.status))}
    oldest_due = s.scalar(select(func.min(OutboxRow.next_attempt_at)).where(
        OutboxRow.status == OutboxStatus.PENDING.value, OutboxRow.next_attempt_at <= now))
    return ClusterFigures(
        events=events,
        oldest_event_wait=_age(waiting, now),
        decisions=int(s.scalar(select(func.count()).select_from(DecisionRow)) or 0),
        outbox=outbox,
        oldest_outbox_wait=_age(oldest_due, now),
    )


def _age(since: datetime | None, now: datetime) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0
