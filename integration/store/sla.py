"""The SLA sweep's repository: due tickets by an indexed query, and exactly-once transitions.

``sla_next_at`` is set whenever a ticket changes (``integration.clocks``) and indexed, so the
sweep reads only the handful of tickets whose next SLA step is due, never all open tickets.
A transition is a conditional UPDATE on the state and next-check time the sweep read: of two
schedulers that saw the same breach, exactly one changes the row (and writes the outbox rows
in the same transaction); the other's UPDATE matches nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from integration.store.tables import TicketRow

__all__ = ["save_sla", "sla_due", "transition_sla"]

_UNSET: Any = object()


def sla_due(s: Session, *, now: datetime, limit: int = 500) -> list[TicketRow]:
    """Tickets whose next SLA step is due at ``now``, soonest first (uses the index)."""
    query = (
        select(TicketRow)
        .where(TicketRow.sla_next_at.is_not(None), TicketRow.sla_next_at <= now)
        .order_by(TicketRow.sla_next_at, TicketRow.id)
        .limit(limit)
    )
    return list(s.scalars(query))


def save_sla(
    s: Session,
    row: TicketRow,
    *,
    state: str,
    due_at: datetime | None,
    warn_at: datetime | None,
    next_at: datetime | None,
    clock: Mapping[str, Any] | None,
    timeline: Mapping[str, Any] | None,
) -> None:
    """Store the SLA fields recomputed after the ticket changed (in the caller's transaction)."""
    row.sla_state = state
    row.sla_due_at = due_at
    row.sla_warn_at = warn_at
    row.sla_next_at = next_at
    row.sla_clock = dict(clock) if clock is not None else None
    row.timeline = dict(timeline) if timeline is not None else None
    s.flush()


def transition_sla(
    s: Session,
    ticket_id: int,
    *,
    expect_state: str | None,
    expect_next_at: datetime | None,
    state: str,
    next_at: datetime | None,
    due_at: datetime | None = _UNSET,
    warn_at: datetime | None = _UNSET,
    clock: Mapping[str, Any] | None = _UNSET,
    timeline: Mapping[str, Any] | None = _UNSET,
    tier: int | None = _UNSET,
    priority: str | None = _UNSET,
) -> bool:
    """Move the row from the state the sweep read to ``state``; False if someone was first."""
    values: dict[str, Any] = {"sla_state": state, "sla_next_at": next_at}
    optional = {
        "sla_due_at": due_at,
        "sla_warn_at": warn_at,
        "sla_clock": dict(clock) if isinstance(clock, Mapping) else clock,
        "timeline": dict(timeline) if isinstance(timeline, Mapping) else timeline,
        "tier": tier,
        "priority": priority,
    }
    values.update({k: v for k, v in optional.items() if v is not _UNSET})
    stmt = _transition(tuple(sorted(values)), expect_state is None, expect_next_at is None)
    params = {**values, "b_id": ticket_id, "b_state": expect_state, "b_next": expect_next_at}
    result = s.connection().execute(stmt, params)
    return getattr(result, "rowcount", 0) == 1


@functools.lru_cache(maxsize=32)
def _transition(columns: tuple[str, ...], no_state: bool, no_next: bool) -> Any:
    # One compiled UPDATE per shape; the sweep runs it for every due ticket.
    table = cast(Table, TicketRow.__table__)
    c = table.c
    where = [c.id == bindparam("b_id")]
    where.append(c.sla_state.is_(None) if no_state else c.sla_state == bindparam("b_state"))
    where.append(
        c.sla_next_at.is_(None) if no_next
        else c.sla_next_at == bindparam("b_next", type_=c.sla_next_at.type)
    )
    return update(table).where(*where).values({name: bindparam(name) for name in columns})
