"""Scheduled jobs: plain functions of the runtime and the current time.

``sla_sweep`` reads the tickets whose next SLA step is due (one indexed query), and for each
moves its state with a conditional UPDATE — ok → warning → breached / promoted — writing the
decision and the outbox rows in the same transaction. Two schedulers on one database act on
each step exactly once: the loser's UPDATE matches no row and it writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integration import outbox, store
from integration.clocks import clock_for, timeline_json
from integration.errors import EscaladeError
from integration.matrix.breach import Deadline, breach_decision, warning_actions
from integration.models import Action, Category, Ticket, Tier, format_time, parse_time
from integration.sla import SlaState

if TYPE_CHECKING:
    from integration.runtime import Runtime

__all__ = ["SweepReport", "sla_sweep"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True)
class SweepReport:
    """What one sweep did."""

    due: int = 0
    warned: int = 0
    breached: int = 0
    promoted: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class _Writes:
    """Decisions and outbox rows of one sweep, written together at its end."""

    decisions: list[dict[str, Any]] = field(default_factory=list)
    # (index into ``decisions`` or None, outbox row values)
    outbox: list[tuple[int | None, dict[str, Any]]] = field(default_factory=list)

    def flush(self, s: Session) -> None:
        """Insert the decisions, then the outbox rows that cite them (same transaction)."""
        ids = store.add_decisions(s, self.decisions)
        rows = []
        for index, values in self.outbox:
            if index is not None:
                values["decision_id"] = ids[index]
            rows.append(values)
        outbox.enqueue_many(s, rows)


def sla_sweep(runtime: Runtime, now: datetime, *, limit: int = 1000) -> SweepReport:
    """Act on every ticket whose next SLA step is due at ``now``, in one transaction."""
    report = SweepReport()
    writes = _Writes()
    tenants: dict[int, store.TenantRow] = {}
    with store.session_scope(runtime.sessions) as s:
        rows = store.sla_due(s, now=now, limit=limit)
        report.due = len(rows)
        breaching = [r.id for r in rows if r.sla_due_at is not None and now >= r.sla_due_at]
        sentiments = _latest_sentiments(s, breaching)
        for row in rows:
            tenant = tenants.get(row.tenant_id)
            if tenant is None:
                tenant = tenants[row.tenant_id] = runtime.tenant_by_id(s, row.tenant_id)
            try:
                _step(runtime, s, tenant, row, now, report, sentiments.get(row.id, 0.0),
                      writes)
            except (EscaladeError, ValueError, KeyError) as err:
                # One unreadable ticket must not stop the others; it is retried next sweep.
                report.errors.append(f"{row.helpdesk}:{row.external_id}: {err}")
                log.exception("SLA sweep: %s:%s", row.helpdesk, row.external_id)
        writes.flush(s)
    if report.warned or report.breached or report.promoted:
        runtime.wake()
        log.info(
            "SLA sweep: %d due, %d warned, %d breached, %d promoted",
            report.due, report.warned, report.breached, report.promoted,
        )
    return report


def _step(
    runtime: Runtime,
    s: Session,
    tenant: store.TenantRow,
    row: store.TicketRow,
    now: datetime,
    report: SweepReport,
    sentiment: float,
    writes: _Writes,
) -> None:
    state, next_at, due, warn = row.sla_state, row.sla_next_at, row.sla_due_at, row.sla_warn_at
    live = state in (SlaState.OK, SlaState.WARNING)
    if live and due is not None and now >= due:
        _breach(runtime, s, tenant, row, now, report, sentiment, writes)
    elif state == SlaState.OK and warn is not None and now >= warn:
        _warn(runtime, s, tenant, row, now, report, writes)
    else:
        # Nothing to act on (e.g. a threshold moved): point the row at its real next step.
        wanted = _next_check(state, due, warn, now)
        if wanted != next_at:
            store.transition_sla(
                s, row.id, expect_state=state, expect_next_at=next_at,
                state=state or SlaState.OK, next_at=wanted,
            )
        report.skipped += 1


def _next_check(
    state: str | None, due: datetime | None, warn: datetime | None, now: datetime
) -> datetime | None:
    if state == SlaState.OK:
        return warn if warn is not None and warn > now else due
    return due if state == SlaState.WARNING else None


def _deadline(row: store.TicketRow) -> Deadline:
    assert row.sla_due_at is not None
    for metric in (row.sla_clock or {}).get("metrics", []):
        if metric.get("due_at") and parse_time(metric["due_at"], "due_at") == row.sla_due_at:
            blamed = metric.get("blamed_tier") or metric.get("tier")
            return Deadline(
                metric=str(metric.get("metric", "first_response")),
                due_at=row.sla_due_at,
                blamed_tier=Tier(int(blamed)) if blamed else None,
            )
    return Deadline(metric="first_response", due_at=row.sla_due_at)


def _warn(
    runtime: Runtime,
    s: Session,
    tenant: store.TenantRow,
    row: store.TicketRow,
    now: datetime,
    report: SweepReport,
    writes: _Writes,
) -> None:
    ticket = Ticket.from_dict(row.data)
    deadline = _deadline(row)
    actions = warning_actions(
        runtime.matrix_for(tenant),
        ticket,
        tier=Tier(row.tier or 1),
        deadline=deadline,
        now=now,
        connected=runtime.connected_targets(tenant),
    )
    if not store.transition_sla(
        s, row.id, expect_state=row.sla_state, expect_next_at=row.sla_next_at,
        state=SlaState.WARNING, next_at=row.sla_due_at,
    ):
        report.skipped += 1
        return
    _enqueue(writes, tenant, row, actions, key=f"warning:{format_time(deadline.due_at)}",
             now=now)
    report.warned += 1


def _breach(
    runtime: Runtime,
    s: Session,
    tenant: store.TenantRow,
    row: store.TicketRow,
    now: datetime,
    report: SweepReport,
    sentiment: float,
    writes: _Writes,
) -> None:
    matrix = runtime.matrix_for(tenant)
    ticket = Ticket.from_dict(row.data)
    tier = Tier(row.tier or 1)
    deadline = _deadline(row)
    decision = breach_decision(
        matrix,
        ticket,
        tier=tier,
        category=Category(row.category) if row.category else Category.OTHER,
        sentiment=sentiment,
        deadline=deadline,
        now=now,
        connected=runtime.connected_targets(tenant),
    )
    changes: dict[str, Any] = {"state": SlaState.BREACHED, "next_at": None}
    if decision.tier > tier:
        timeline = timeline_json(row.timeline, ticket, decision.tier, at=now)
        clock = clock_for(matrix, ticket, timeline, now=now)
        running = clock.due_at is not None and clock.due_at > now
        changes = {
            "state": SlaState.OK if running else SlaState.PROMOTED,
            "next_at": (clock.warn_at or clock.due_at) if running else None,
            "due_at": clock.due_at,
            "warn_at": clock.warn_at,
            "clock": clock.to_dict(),
            "timeline": timeline,
            "tier": int(decision.tier),
            "priority": decision.priority.value,
        }
    if not store.transition_sla(
        s, row.id, expect_state=row.sla_state, expect_next_at=row.sla_next_at, **changes
    ):
        report.skipped += 1
        return
    writes.decisions.append(store.decision_values(
        tenant_id=tenant.id,
        ticket_id=row.id,
        decision=decision,
        decided_at=now,
        previous_tier=tier,
        cause="sla_breach",
    ))
    key = f"breach:{format_time(deadline.due_at)}"
    _enqueue(writes, tenant, row, decision.actions, key=key, now=now,
             decision=len(writes.decisions) - 1)
    if decision.tier > tier:
        report.promoted += 1
    else:
        report.breached += 1


def _latest_sentiments(s: Session, ticket_ids: Sequence[int]) -> dict[int, float]:
    """Each ticket's sentiment at its latest decision, in one query for the whole sweep."""
    if not ticket_ids:
        return {}
    decisions = store.DecisionRow
    latest = (
        select(func.max(decisions.id))
        .where(decisions.ticket_id.in_(list(ticket_ids)))
        .group_by(decisions.ticket_id)
    )
    rows = s.execute(select(decisions.ticket_id, decisions.sentiment).where(
        decisions.id.in_(latest)))
    return {ticket_id: sentiment for ticket_id, sentiment in rows}


def _enqueue(
    writes: _Writes,
    tenant: store.TenantRow,
    row: store.TicketRow,
    actions: Sequence[Action],
    *,
    key: str,
    now: datetime,
    decision: int | None = None,
) -> None:
    groups = outbox.by_target(actions)
    for target, group in groups.items():
        writes.outbox.append((decision, outbox.outbox_values(
            tenant_id=tenant.id,
            target=target,
            ticket_external_id=row.external_id,
            actions=group,
            # The key names the step and its due time: a second scheduler (or a retried
            # sweep) that got this far anyway writes nothing.
            idempotency_key=f"{tenant.slug}:sla:{row.id}:{key}:{target}",
            ticket_id=row.id,
            now=now,
        )))

