"""The SLA sweep's repository: due tickets by an indexed query, and exactly-once transitions.

``sla_next_at`` is set whenever a ticket changes (``integration.clocks``) and indexed, so the
sweep reads only the handful of tickets whose next SLA step is due, never all open tickets.
A transition is a conditional UPDATE on the state and next-check time the sweep read: of two
schedulers that saw the same breach, exactly one changes the row (and writes the outbox rows
in the same transaction); the other's UPDATE matches nothing. ``transition_many`` does the
same for a whole sweep: it locks the rows, keeps those still as the sweep read them, and
moves them with one executemany per shape of change.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, false, select, update
from sqlalchemy.orm import Session

from integration.store.tables import TicketRow

__all__ = ["Transition", "save_sla", "sla_due", "transition_many", "transition_sla"]

_UNSET: Any = object()
# Ids per locking query: well under every backend's limit on bound parameters.
_CHUNK = 5000


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


@dataclass(frozen=True, kw_only=True, slots=True)
class Transition:
    """One row's move from the state the sweep read (``changes``: ``transition_sla``'s)."""

    ticket_id: int
    expect_state: str | None
    expect_next_at: datetime | None
    changes: Mapping[str, Any]


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
    values = _values(state=state, next_at=next_at, due_at=due_at, warn_at=warn_at, clock=clock,
                     timeline=timeline, tier=tier, priority=priority)
    stmt = _transition(tuple(sorted(values)), expect_state is None, expect_next_at is None)
    params = {**values, "b_id": ticket_id, "b_state": expect_state, "b_next": expect_next_at}
    result = s.connection().execute(stmt, params)
    return getattr(result, "rowcount", 0) == 1


def transition_many(s: Session, moves: Sequence[Transition]) -> list[bool]:
    """``transition_sla`` for many rows, in order; each True where this caller moved the row.

    The rows are locked first (PostgreSQL ``FOR UPDATE``; SQLite's one write lock) and read
    again: a row another scheduler already moved is left alone, the others are all moved
    by one executemany per shape of change.
    """
    if not moves:
        return []
    current = _locked_states(s, sorted({m.ticket_id for m in moves}))
    won = [current.get(m.ticket_id, _UNSET) == (m.expect_state, m.expect_next_at)
           for m in moves]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for move, ok in zip(moves, won, strict=True):
        if not ok:
            continue
        values = _values(**move.changes)
        shape = (tuple(sorted(values)), move.expect_state is None, move.expect_next_at is None)
        groups.setdefault(shape, []).append({**values, "b_id": move.ticket_id,
                                             "b_state": move.expect_state,
                                             "b_next": move.expect_next_at})
    for shape, params in groups.items():
        s.connection().execute(_transition(*shape), params)
    return won


def _locked_states(s: Session, ids: list[int]) -> dict[int, tuple[str | None, datetime | None]]:
    """Each row's SLA state and next check, read after taking the rows' write locks."""
    connection = s.connection()
    table = cast(Table, TicketRow.__table__)
    if connection.dialect.name == "sqlite":
        # A write that matches nothing still takes the database's write lock until commit:
        # no other scheduler can move these rows between this read and the updates.
        connection.execute(update(table).where(false()).values(sla_state=table.c.sla_state))
    out: dict[int, tuple[str | None, datetime | None]] = {}
    for start in range(0, len(ids), _CHUNK):
        query = (select(table.c.id, table.c.sla_state, table.c.sla_next_at)
                 .where(table.c.id.in_(ids[start:start + _CHUNK]))
                 .order_by(table.c.id).with_for_update())
        out.update({row[0]: (row[1], row[2]) for row in connection.execute(query)})
    return out


def _values(
    *,
    state: str,
    next_at: datetime | None,
    due_at: datetime | None = _UNSET,
    warn_at: datetime | None = _UNSET,
    clock: Mapping[str, Any] | None = _UNSET,
    timeline: Mapping[str, Any] | None = _UNSET,
    tier: int | None = _UNSET,
    priority: str | None = _UNSET,
) -> dict[str, Any]:
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
    return values


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
