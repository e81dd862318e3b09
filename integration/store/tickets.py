"""Repositories for tickets and decisions: plain functions over a ``Session``.

A ticket row holds the latest normalized ``Ticket`` (the wire format, as JSON) plus the
columns that queries need: the requester and account keys for repeat-contact history and
``(status, sla_due_at)`` for the SLA sweep. ``created_at`` / ``updated_at`` are the
helpdesk's own times, so a history import keeps the real order of events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import CompoundSelect, Select, func, insert, select, union_all
from sqlalchemy.orm import Session

from integration.errors import ValidationError
from integration.models import (
    Category,
    Decision,
    Handoff,
    Priority,
    Signals,
    Status,
    Ticket,
    Tier,
    account_key,
    requester_key,
)
from integration.store.ops import insert_ignore
from integration.store.overview import search_text
from integration.store.tables import DecisionRow, TicketRow

__all__ = [
    "account_key",
    "add_decision",
    "add_decisions",
    "decision_values",
    "decisions_for_ticket",
    "get_ticket",
    "last_assigned",
    "latest_sentiments",
    "open_counts",
    "requester_key",
    "signals_to_json",
    "ticket_history",
    "tickets_due",
    "upsert_ticket",
]

OPEN_STATUSES: tuple[str, ...] = tuple(st.value for st in Status if st.is_open)


def upsert_ticket(
    s: Session,
    *,
    tenant_id: int,
    ticket: Ticket,
    tier: Tier | int | None,
    priority: Priority | str | None,
    category: Category | str | None,
    sla_due_at: datetime | None,
    input_fingerprint: str | None,
) -> TicketRow:
    """Store the latest state of ``ticket``; safe when two workers store it at once."""
    values: dict[str, Any] = {
        "data": ticket.to_dict(),
        "search_text": search_text(ticket),
        "requester_key": requester_key(ticket),
        "account_key": account_key(ticket),
        "status": ticket.status.value,
        "assignee": ticket.assignee,
        "tier": int(tier) if tier is not None else None,
        "priority": _text(priority),
        "category": _text(category),
        "sla_due_at": sla_due_at,
        "input_fingerprint": input_fingerprint,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }
    ident = {"tenant_id": tenant_id, "helpdesk": ticket.helpdesk, "external_id": ticket.id}
    inserted = insert_ignore(s, TicketRow, {**ident, **values}, tuple(ident))
    row = s.scalars(
        select(TicketRow)
        .where(
            TicketRow.tenant_id == tenant_id,
            TicketRow.helpdesk == ticket.helpdesk,
            TicketRow.external_id == ticket.id,
        )
        .execution_options(populate_existing=True)
    ).one()
    if not inserted:
        for key, value in values.items():
            setattr(row, key, value)
        s.flush()
    return row


def get_ticket(s: Session, tenant_id: int, helpdesk: str, external_id: str) -> TicketRow | None:
    """The stored ticket, or None; always scoped to one tenant."""
    return s.scalars(
        select(TicketRow).where(
            TicketRow.tenant_id == tenant_id,
            TicketRow.helpdesk == helpdesk,
            TicketRow.external_id == external_id,
        )
    ).one_or_none()


def history_statement(
    *,
    tenant_id: int,
    requester_key: str | None,
    account_key: str | None,
    exclude_id: int | str | None,
    since: datetime | None = None,
    limit: int = 50,
) -> Select[Any] | CompoundSelect[Any] | None:
    """The one statement ``ticket_history`` runs: (id, created_at, data) rows, or None.

    Per key, its index ``(tenant_id, key, created_at, id)`` is read newest first and stops at
    ``limit``; the keys are glued by UNION ALL (a LIMIT inside a compound select needs its own
    subquery). An OR of the two keys would read the tenant's every ticket.
    """
    per_key = []
    for column, key in ((TicketRow.requester_key, requester_key),
                        (TicketRow.account_key, account_key)):
        if not key:
            continue
        query = select(TicketRow.id, TicketRow.created_at, TicketRow.data).where(
            TicketRow.tenant_id == tenant_id, column == key)
        if isinstance(exclude_id, int):
            query = query.where(TicketRow.id != exclude_id)
        elif exclude_id is not None:
            query = query.where(TicketRow.external_id != exclude_id)
        if since is not None:
            query = query.where(TicketRow.created_at >= since)
        per_key.append(
            query.order_by(TicketRow.created_at.desc(), TicketRow.id.desc()).limit(limit))
    if not per_key:
        return None
    if len(per_key) == 1:
        return per_key[0]
    return union_all(*(select(part.subquery()) for part in per_key))


def ticket_history(
    s: Session,
    *,
    tenant_id: int,
    requester_key: str | None,
    account_key: str | None,
    exclude_id: int | str | None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[Ticket]:
    """The same requester's or account's other tickets in this tenant, newest first.

    ``exclude_id`` is the ticket being decided, so it is not its own previous contact: its
    row id (``int``, once stored) or its helpdesk id (``str``, known even on first contact).
    One round trip (``history_statement``), reading only the columns it needs.
    """
    statement = history_statement(tenant_id=tenant_id, requester_key=requester_key,
                                  account_key=account_key, exclude_id=exclude_id, since=since,
                                  limit=limit)
    if statement is None:
        return []
    found: dict[int, tuple[datetime, dict[str, Any]]] = {}
    for row_id, created_at, data in s.execute(statement):
        found.setdefault(row_id, (created_at, data))
    newest = sorted(found.items(), key=lambda item: (item[1][0], item[0]), reverse=True)
    return [Ticket.from_dict(data) for _, (_, data) in newest[:limit]]


def tickets_due(
    s: Session,
    *,
    before: datetime,
    statuses: Sequence[str] = OPEN_STATUSES,
    limit: int = 200,
) -> list[TicketRow]:
    """Tickets whose SLA falls due before ``before``, soonest first (indexed; no full scan)."""
    query = (
        select(TicketRow)
        .where(
            TicketRow.status.in_(list(statuses)),
            TicketRow.sla_due_at.is_not(None),
            TicketRow.sla_due_at <= before,
        )
        .order_by(TicketRow.sla_due_at, TicketRow.id)
        .limit(limit)
    )
    return list(s.scalars(query))


def open_counts(s: Session, *, tenant_id: int) -> dict[str, int]:
    """Open tickets per assignee (routing's load), one indexed aggregate."""
    query = (
        select(TicketRow.assignee, func.count())
        .where(
            TicketRow.tenant_id == tenant_id,
            TicketRow.assignee.is_not(None),
            TicketRow.status.in_(list(OPEN_STATUSES)),
        )
        .group_by(TicketRow.assignee)
    )
    return {str(assignee): int(count) for assignee, count in s.execute(query)}


def last_assigned(s: Session, *, tenant_id: int, lookback: int = 500) -> dict[str, datetime]:
    """When each agent was last chosen by routing (round-robin), from the recent decisions."""
    query = (
        select(DecisionRow.route, DecisionRow.decided_at)
        .where(DecisionRow.tenant_id == tenant_id)
        .order_by(DecisionRow.id.desc())
        .limit(lookback)
    )
    out: dict[str, datetime] = {}
    for route, decided_at in s.execute(query):
        assignee = (route or {}).get("assignee")
        if assignee and str(assignee) not in out:
            out[str(assignee)] = decided_at
    return out


def add_decision(
    s: Session,
    *,
    tenant_id: int,
    ticket_id: int,
    decision: Decision,
    decided_at: datetime,
    event_id: int | None = None,
    previous_tier: Tier | int | None = None,
    signals: Signals | Mapping[str, Any] | None = None,
    cause: str = "event",
    handoff: Handoff | None = None,
) -> DecisionRow:
    """Log a decision with the matrix version and every rule that fired."""
    row = DecisionRow(**decision_values(
        tenant_id=tenant_id, ticket_id=ticket_id, decision=decision, decided_at=decided_at,
        event_id=event_id, previous_tier=previous_tier, signals=signals, cause=cause,
        handoff=handoff,
    ))
    s.add(row)
    s.flush()
    return row


def add_decisions(s: Session, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Log many decisions (``decision_values`` each) in one statement; their ids, in order."""
    if not rows:
        return []
    stmt = insert(DecisionRow).returning(DecisionRow.id, sort_by_parameter_order=True)
    return [int(i) for i in s.scalars(stmt, [dict(r) for r in rows])]


def decision_values(
    *,
    tenant_id: int,
    ticket_id: int,
    decision: Decision,
    decided_at: datetime,
    event_id: int | None = None,
    previous_tier: Tier | int | None = None,
    signals: Signals | Mapping[str, Any] | None = None,
    cause: str = "event",
    handoff: Handoff | None = None,
) -> dict[str, Any]:
    """The column values of one decision row."""
    if not decision.matrix_version:
        raise ValidationError("matrix_version", "every decision must cite a matrix version")
    if isinstance(signals, Signals):
        signals_json = signals_to_json(signals)
    else:
        signals_json = _jsonable(dict(signals or {}))
    return dict(
        tenant_id=tenant_id,
        ticket_id=ticket_id,
        event_id=event_id,
        cause=cause,
        decided_at=decided_at,
        matrix_version=decision.matrix_version,
        tier=int(decision.tier),
        previous_tier=int(previous_tier) if previous_tier is not None else None,
        priority=decision.priority.value,
        category=decision.category.value,
        sentiment=float(decision.sentiment),
        triggers=list(decision.triggers),
        signals=signals_json,
        rules=[{"rule_id": r.rule_id, "reason": r.reason} for r in decision.rules],
        route=decision.route.to_dict(),
        sla_due_at=decision.sla_due_at,
        handoff=handoff.to_dict() if handoff is not None else None,
    )


def decisions_for_ticket(s: Session, ticket_id: int, *, limit: int = 20) -> list[DecisionRow]:
    """A ticket's decisions, newest first (the sidebar's "why" and the audit trail)."""
    query = (
        select(DecisionRow)
        .where(DecisionRow.ticket_id == ticket_id)
        .order_by(DecisionRow.decided_at.desc(), DecisionRow.id.desc())
        .limit(limit)
    )
    return list(s.scalars(query))


def latest_sentiments(s: Session, ticket_ids: Sequence[int]) -> dict[int, float]:
    """Each ticket's sentiment at its latest decision, in one query for many tickets."""
    if not ticket_ids:
        return {}
    latest = (
        select(func.max(DecisionRow.id))
        .where(DecisionRow.ticket_id.in_(list(ticket_ids)))
        .group_by(DecisionRow.ticket_id)
    )
    rows = s.execute(select(DecisionRow.ticket_id, DecisionRow.sentiment).where(
        DecisionRow.id.in_(latest)))
    return {ticket_id: sentiment for ticket_id, sentiment in rows}


def signals_to_json(signals: Signals) -> dict[str, Any]:
    """``Signals`` as plain JSON types, for the decision log."""
    out = _jsonable(dataclasses.asdict(signals))
    assert isinstance(out, dict)
    if out.get("tier_reading"):
        # The rule ids the model knows are the model's, the same for every decision.
        out["tier_reading"] = {"given": out["tier_reading"]["given"]}
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def _text(value: Enum | str | None) -> str | None:
    if value is None:
        return None
    return str(value.value) if isinstance(value, Enum) else str(value)
