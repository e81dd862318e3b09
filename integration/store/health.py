"""What the readiness check and the delivery loop ask the store: is it current, how late."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from integration.store.db import head_revision
from integration.store.tables import OutboxRow, OutboxStatus

__all__ = ["OutboxLag", "migrations_current", "outbox_lag"]


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboxLag:
    """How many outbox rows are due now, and how long the oldest of them has waited."""

    due: int
    oldest_wait: timedelta

    @property
    def seconds(self) -> float:
        """``oldest_wait`` in seconds (0 when nothing is due)."""
        return max(self.oldest_wait.total_seconds(), 0.0)


def outbox_lag(s: Session, *, now: datetime) -> OutboxLag:
    """Due rows and the wait of the oldest: the delivery backlog (indexed on status, due)."""
    count, oldest = s.execute(
        select(func.count(), func.min(OutboxRow.next_attempt_at)).where(
            OutboxRow.status == OutboxStatus.PENDING.value, OutboxRow.next_attempt_at <= now
        )
    ).one()
    if not count or oldest is None:
        return OutboxLag(due=0, oldest_wait=timedelta(0))
    return OutboxLag(due=int(count), oldest_wait=now - oldest)


def migrations_current(engine: Engine) -> tuple[str | None, str | None]:
    """``(the database's migration, the newest shipped)``; equal when the schema is current."""
    # Read directly: Alembic's MigrationContext logs two lines per call, and this is polled.
    with engine.connect() as connection:
        current = None
        if inspect(connection).has_table("alembic_version"):
            current = connection.scalar(text("SELECT version_num FROM alembic_version"))
    return current, _head()


@functools.cache
def _head() -> str | None:
    return head_revision()
