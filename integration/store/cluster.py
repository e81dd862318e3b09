"""What the scale-out cluster asks of the database: one event by id, the relay, one job at once.

``claim_event`` takes one stored event for the worker whose task names it, by the same
conditional UPDATE every claim uses: two tasks for one event (the web's and the relay's) and
an in-process worker never all win it. ``relay_events`` lists events stored and still not
processed after a grace period (their task was lost, or never queued because the broker was
down). ``job_lock`` lets one scheduled job run at a time across the cluster (a PostgreSQL
advisory lock; SQLite has one process, so it always gets it).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from integration.store.db import session_scope
from integration.store.tables import EventStatus, InboundEventRow

__all__ = ["claim_event", "relay_events", "job_lock"]


def _due(now: datetime) -> object:
    row = InboundEventRow
    return or_(
        and_(row.status == EventStatus.PENDING.value, row.next_attempt_at <= now),
        and_(row.status == EventStatus.PROCESSING.value, row.lease_until <= now),
    )


def claim_event(
    factory: sessionmaker[Session], event_id: int, *, now: datetime, lease: timedelta
) -> bool:
    """Take event ``event_id`` for processing if it is due; False when done or someone has it."""
    row = InboundEventRow
    with session_scope(factory) as s:
        found = s.execute(
            update(row)
            .where(row.id == event_id, _due(now))  # type: ignore[arg-type]
            .values(status=EventStatus.PROCESSING.value, lease_until=now + lease,
                    claim_token=secrets.token_hex(16), attempts=row.attempts + 1)
            .returning(row.id)
            .execution_options(synchronize_session=False)
        ).one_or_none()
    return found is not None


def relay_events(
    s: Session, *, now: datetime, grace: timedelta, limit: int = 500
) -> list[int]:
    """Events due for ``grace`` already and still not processed, oldest first.

    A waiting event's due time moves to ``now``: queued again, it is not queued once more
    before another ``grace`` passes, however long the workers' backlog.
    """
    row = InboundEventRow
    query = (
        select(row.id)
        .where(_due(now - grace))  # type: ignore[arg-type]
        .order_by(row.next_attempt_at, row.id)
        .limit(limit)
    )
    ids = list(s.scalars(query))
    if ids:
        s.execute(
            update(row)
            .where(row.id.in_(ids), row.status == EventStatus.PENDING.value)
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


def _lock_key(name: str) -> int:
    # A stable signed 64-bit key per job name (advisory locks take a bigint).
    digest = hashlib.sha256(f"escalade:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Hold the cluster-wide lock ``name`` while the block runs; yields False if another has it."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = _lock_key(name)
    with engine.connect() as connection:
        got = bool(connection.scalar(select(func.pg_try_advisory_lock(key))))
        connection.commit()
        try:
            yield got
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
