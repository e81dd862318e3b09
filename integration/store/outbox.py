"""The outbox's repository: rows queued with their decision, claimed, and their outcome recorded.

Queuing is insert-unless-present on the idempotency key, so a retried decision queues nothing
twice. A claim is the conditional UPDATE of ``claim_due``; an outcome is recorded only by the
claim that still holds the row (its token), except success, which is recorded whatever
happened to the lease meanwhile: it did land.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from integration.store.ops import Claim, claim_due, insert_ignore_id
from integration.store.tables import OutboxRow, OutboxStatus, TenantRow

__all__ = [
    "add_outbox_row",
    "add_outbox_rows",
    "claim_outbox",
    "claimed_row",
    "count_outbox",
    "finish_claim",
    "list_outbox",
    "mark_delivered",
    "retry_failed",
]

_KEY = ("idempotency_key",)


def add_outbox_row(s: Session, values: Mapping[str, Any]) -> OutboxRow | None:
    """Insert one row (``outbox_values``); None when its idempotency key is queued already."""
    row_id = insert_ignore_id(s, OutboxRow, values, _KEY)
    return None if row_id is None else s.get(OutboxRow, row_id)


def add_outbox_rows(s: Session, rows: Sequence[Mapping[str, Any]]) -> list[int | None]:
    """Insert many rows in order; each one's id, or None where its key was queued already."""
    dialect = s.get_bind().dialect.name
    if len(rows) < 2 or dialect not in ("sqlite", "postgresql"):
        return [insert_ignore_id(s, OutboxRow, row, _KEY) for row in rows]
    # One statement for all: the rows that went in come back with their keys; a key queued
    # before (or twice in this batch) gives its first row alone an id.
    inserted = dict(
        (key, row_id) for row_id, key in s.connection().execute(_insert_many(dialect),
                                                                [dict(r) for r in rows]))
    out: list[int | None] = []
    for row in rows:
        out.append(inserted.pop(row["idempotency_key"], None))
    return out


@functools.lru_cache(maxsize=2)
def _insert_many(dialect: str) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    table = cast(Table, OutboxRow.__table__)
    stmt = sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table)
    return stmt.on_conflict_do_nothing(index_elements=list(_KEY)).returning(
        table.c.id, table.c.idempotency_key)


def claim_outbox(
    factory: sessionmaker[Session], *, now: datetime, lease: timedelta, limit: int = 1
) -> list[Claim]:
    """Take due rows for one worker; a row whose lease ran out mid-delivery comes back unsure."""
    return claim_due(
        factory,
        OutboxRow,
        waiting=OutboxStatus.PENDING.value,
        busy=OutboxStatus.INFLIGHT.value,
        now=now,
        limit=limit,
        lease=lease,
        mark_interrupted="uncertain",
    )


def claimed_row(s: Session, outbox_id: int) -> tuple[OutboxRow, str] | None:
    """A claimed row and its tenant's slug; None when the row is gone (tenant removed)."""
    found = s.execute(
        select(OutboxRow, TenantRow.slug)
        .join(TenantRow, TenantRow.id == OutboxRow.tenant_id)
        .where(OutboxRow.id == outbox_id)
    ).one_or_none()
    return None if found is None else (found[0], found[1])


def mark_delivered(
    s: Session, outbox_id: int, *, now: datetime, result: Mapping[str, Any],
    warnings: str | None,
) -> None:
    """Record a landed delivery with the vendor's answer, even if the lease ran out meanwhile."""
    s.execute(
        update(OutboxRow)
        .where(OutboxRow.id == outbox_id, OutboxRow.status != OutboxStatus.DELIVERED.value)
        .values(
            status=OutboxStatus.DELIVERED.value,
            delivered_at=now,
            result=dict(result),
            last_error=warnings,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )


def finish_claim(s: Session, claim: Claim, *, status: OutboxStatus, **values: Any) -> bool:
    """Record a retry or a failure, only while ``claim`` still holds the row; False if not."""
    result = s.execute(
        update(OutboxRow)
        .where(
            OutboxRow.id == claim.id,
            OutboxRow.claim_token == claim.token,
            OutboxRow.status == OutboxStatus.INFLIGHT.value,
        )
        .values(status=status.value, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def retry_failed(s: Session, outbox_id: int, *, now: datetime | None = None) -> bool:
    """The admin "retry" button: a failed row goes back to pending with a fresh budget."""
    result = s.execute(
        update(OutboxRow)
        .where(OutboxRow.id == outbox_id, OutboxRow.status == OutboxStatus.FAILED.value)
        .values(
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now or datetime.now(UTC),
            lease_until=None,
            claim_token=None,
        )
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_outbox(
    s: Session, *, tenant_id: int, statuses: Sequence[OutboxStatus] = (), limit: int = 100
) -> list[OutboxRow]:
    """A tenant's most recent outbox rows, optionally only in some statuses."""
    query = select(OutboxRow).where(OutboxRow.tenant_id == tenant_id)
    if statuses:
        query = query.where(OutboxRow.status.in_([st.value for st in statuses]))
    query = query.order_by(OutboxRow.created_at.desc(), OutboxRow.id.desc()).limit(limit)
    return list(s.scalars(query))


def count_outbox(s: Session, *, tenant_id: int | None = None) -> dict[str, int]:
    """How many rows are in each status."""
    query = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
    if tenant_id is not None:
        query = query.where(OutboxRow.tenant_id == tenant_id)
    counts = {status.value: 0 for status in OutboxStatus}
    for status, n in s.execute(query):
        counts[status] = n
    return counts
