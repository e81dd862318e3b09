"""Scheduled jobs: plain functions of the runtime and the current time.

``sla_sweep`` reads the tickets whose next SLA step is due (one indexed query), works out
each one's step — ok → warning → breached / promoted — and then moves them all at once, writing
the decisions and the outbox rows in the same transaction (``integration.decisions``). Two
schedulers on one database act on each step exactly once: the rows are locked and re-read
before they move, and a row the other moved first is skipped with nothing written for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from integration import store
from integration.clocks import clock_for, timeline_json
from integration.context import connected_targets
from integration.decisions import DecisionLog, Entry, SlaStep
from integration.errors import EscaladeError
from integration.matrix.breach import Deadline, breach_decision, warning_actions
from integration.models import Action, Category, Decision, Ticket, Tier, format_time, parse_time
from integration.sla import SlaState
from integration.store.repo import tenant_by_id
from integration.store.tickets import latest_sentiments

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


def sla_sweep(runtime: Runtime, now: datetime, *, limit: int = 1000) -> SweepReport:
    """Act on every ticket whose next SLA step is due at ``now``, in one transaction."""
    report = SweepReport()
    tenants: dict[int, store.TenantRow] = {}
    with store.session_scope(runtime.sessions) as s:
        # The decisions and outbox rows of the whole sweep are inserted together at its end.
        writes = DecisionLog(s)
        rows = store.sla_due(s, now=now, limit=limit)
        report.due = len(rows)
        breaching = [r.id for r in rows if r.sla_due_at is not None and now >= r.sla_due_at]
        sentiments = latest_sentiments(s, breaching)
        steps: list[Step] = []
        for row in rows:
            tenant = tenants.get(row.tenant_id)
            if tenant is None:
                tenant = tenants[row.tenant_id] = tenant_by_id(s, row.tenant_id)
            try:
                step = _step(runtime, tenant, row, now, sentiments.get(row.id, 0.0))
            except (EscaladeError, ValueError, KeyError) as err:
                # One unreadable ticket must not stop the others; it is retried next sweep.
                report.errors.append(f"{row.helpdesk}:{row.external_id}: {err}")
                log.exception("SLA sweep: %s:%s", row.helpdesk, row.external_id)
                continue
            if step.write:
                steps.append(step)
            else:
                report.skipped += 1
        # Every row moves in one batch, and rows another scheduler moved first are left out.
        won = writes.add_steps([(st.entry, st.sla) for st in steps])
        for step, ok in zip(steps, won, strict=True):
            outcome = step.outcome if ok else "skipped"
            setattr(report, outcome, getattr(report, outcome) + 1)
        writes.flush()
    if report.warned or report.breached or report.promoted:
        runtime.wake()
        log.info(
            "SLA sweep: %d due, %d warned, %d breached, %d promoted",
            report.due, report.warned, report.breached, report.promoted,
        )
    return report


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """What the sweep writes for one due ticket, and what it counts when the write wins."""

    entry: Entry
    sla: SlaStep
    outcome: str  # a ``SweepReport`` counter: warned, breached, promoted or skipped
    write: bool = True


def _step(
    runtime: Runtime,
    tenant: store.TenantRow,
    row: store.TicketRow,
    now: datetime,
    sentiment: float,
) -> Step:
    state, next_at, due, warn = row.sla_state, row.sla_next_at, row.sla_due_at, row.sla_warn_at
    live = state in (SlaState.OK, SlaState.WARNING)
    if live and due is not None and now >= due:
        return _breach(runtime, tenant, row, now, sentiment)
    if state == SlaState.OK and warn is not None and now >= warn:
        return _warn(runtime, tenant, row, now)
    # Nothing to act on (e.g. a threshold moved): point the row at its real next step.
    wanted = _next_check(state, due, warn, now)
    return Step(entry=_entry(tenant, row, "recheck", now,
                             zone=runtime.matrix_for(tenant).display_zone),
                sla=_move(row, state=state or SlaState.OK, next_at=wanted),
                outcome="skipped", write=wanted != next_at)


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
    tenant: store.TenantRow,
    row: store.TicketRow,
    now: datetime,
) -> Step:
    ticket = Ticket.from_dict(row.data)
    deadline = _deadline(row)
    actions = warning_actions(
        runtime.matrix_for(tenant),
        ticket,
        tier=Tier(row.tier or 1),
        deadline=deadline,
        now=now,
        connected=connected_targets(tenant),
    )
    entry = _entry(tenant, row, f"warning:{format_time(deadline.due_at)}", now, actions=actions,
                   zone=runtime.matrix_for(tenant).display_zone)
    return Step(entry=entry, sla=_move(row, state=SlaState.WARNING, next_at=row.sla_due_at),
                outcome="warned")


def _breach(
    runtime: Runtime,
    tenant: store.TenantRow,
    row: store.TicketRow,
    now: datetime,
    sentiment: float,
) -> Step:
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
        connected=connected_targets(tenant),
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
    entry = _entry(tenant, row, f"breach:{format_time(deadline.due_at)}", now,
                   decision=decision, previous_tier=tier, zone=matrix.display_zone)
    return Step(entry=entry, sla=_move(row, **changes),
                outcome="promoted" if decision.tier > tier else "breached")


def _move(row: store.TicketRow, **changes: Any) -> SlaStep:
    """The row's SLA moved on from what this sweep read of it."""
    return SlaStep(expect_state=row.sla_state, expect_next_at=row.sla_next_at, changes=changes)


def _entry(
    tenant: store.TenantRow,
    row: store.TicketRow,
    step: str,
    now: datetime,
    *,
    actions: Sequence[Action] = (),
    decision: Decision | None = None,
    previous_tier: Tier | None = None,
    zone: tzinfo = UTC,
) -> Entry:
    """What one SLA step writes; a breach's actions are its decision's."""
    return Entry(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        ticket_id=row.id,
        ticket_external_id=row.external_id,
        # The key names the step and its due time: a second scheduler (or a retried sweep)
        # that got this far anyway writes nothing.
        cause_key=f"sla:{row.id}:{step}",
        decided_at=now,
        decision=decision,
        actions=decision.actions if decision is not None else actions,
        cause="sla_breach",
        previous_tier=previous_tier,
        zone=zone,
    )
