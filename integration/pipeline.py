"""From a ticket to a decision and the actions it causes.

``decide`` is the pure heart (detect, then the matrix); ``process_event`` is the one readable
function from a stored inbound event to a stored decision and its outbox rows, written in one
transaction so that nothing is decided without being delivered, nor delivered twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from integration import outbox, store
from integration.bugs import service as bugs
from integration.clocks import SlaFields, sla_fields
from integration.enrich import (
    Context,
    activity_signals,
    handoff_for,
    merge_account,
    route_decision,
    with_activity,
)
from integration.errors import ConfigurationError
from integration.matrix import Matrix, evaluate
from integration.matrix.evaluate import customer_replies, with_sla_due
from integration.models import (
    Author,
    Decision,
    Handoff,
    RuleHit,
    Signals,
    Ticket,
    Tier,
)
from integration.summary import Summary, summarize

if TYPE_CHECKING:
    from integration.detect import Detector
    from integration.runtime import Runtime

__all__ = [
    "Decided",
    "Outcome",
    "ProcessResult",
    "build_detector",
    "decide",
    "input_fingerprint",
    "process_event",
    "StoredSla",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredSla:
    """A ticket's SLA as stored before the change being decided."""

    timeline: Mapping[str, Any] | None = None
    state: str | None = None
    due_at: datetime | None = None


class Decided(NamedTuple):
    """What ``decide`` found: the signals, the decision and the SLA fields to store."""

    signals: Signals
    decision: Decision
    sla: SlaFields
    ticket: Ticket
    handoff: Handoff | None = None


def _standing_override(
    s: Any, existing: store.TicketRow | None, ticket: Ticket
) -> tuple[Tier, RuleHit] | None:
    """The agent's latest override, unless the customer has written since."""
    if existing is None:
        return None
    latest = store.people.overrides_for_ticket(s, existing.id)[:1]
    if not latest:
        return None
    row = latest[0]
    if any(m.created_at > row.created_at for m in ticket.customer_messages):
        return None
    who = f"agent {row.agent}" if row.agent else "an agent"
    hit = RuleHit(rule_id="agent_override",
                  reason=f"{who} set tier {row.to_tier}: {row.reason}")
    return Tier(row.to_tier), hit


def _summary(ticket: Ticket, context: Context) -> Summary:
    if context.summarizer is not None:
        try:
            return context.summarizer.summarize(ticket)
        except ConfigurationError as err:
            # A configured provider that cannot run never costs the handoff its summary.
            log.warning("summary provider unavailable, extractive summary used: %s", err)
    return summarize(ticket)


def build_detector(matrix: Matrix) -> Detector:
    """The detector configured by the matrix: its triggers, page patterns and repeat window."""
    from integration.detect import Detector

    return Detector(
        triggers=matrix.triggers,
        pages=matrix.pages,
        repeat_window_days=matrix.repeat_window_days,
    )


def decide(
    ticket: Ticket,
    history: Sequence[Ticket],
    *,
    matrix: Matrix,
    detector: Detector,
    now: datetime,
    previous_tier: Tier | None = None,
    connected: frozenset[str] = frozenset(),
    with_actions: bool = True,
    stored: StoredSla | None = None,
    context: Context | None = None,
    override: tuple[Tier, RuleHit] | None = None,
) -> Decided:
    """Read the ticket, let the matrix decide, then run its SLA clock; no I/O.

    ``stored`` is what the store knew of the ticket's SLA before this change (timeline,
    state acted on, due time); without it the clock starts from the ticket alone.
    ``context`` is what the edge found around the ticket (CRM account, product activity,
    routing table); the returned ticket carries the merged account.
    """
    context = context or Context()
    ticket = with_activity(merge_account(ticket, context.crm_account), context.activity)
    signals = activity_signals(detector.detect(ticket, history), context.activity)
    handoff = None
    if with_actions:
        # Only a decision that writes back needs the summary and the earlier tickets.
        handoff = handoff_for(
            ticket,
            summary=_summary(ticket, context),
            previous=detector.same_issue_tickets(ticket, history),
            activity=context.activity,
            ticket_url=context.ticket_url,
        )
    decision = evaluate(
        matrix,
        ticket,
        signals,
        now=now,
        previous_tier=previous_tier,
        connected=connected,
        with_actions=with_actions,
        handoff=handoff,
        override=override[1] if override is not None else None,
        override_tier=override[0] if override is not None else None,
    )
    decision = route_decision(
        decision,
        ticket,
        routing=context.routing,
        previous_tier=previous_tier,
        last_assigned=context.last_assigned,
        now=now,
    )
    stored = stored or StoredSla()
    sla = sla_fields(
        matrix,
        ticket,
        tier=decision.tier,
        timeline=stored.timeline,
        previous_state=stored.state,
        previous_due=stored.due_at,
        now=now,
    )
    decision = replace(decision, sla_due_at=sla.due_at, sla_state=sla.state.value,
                       actions=with_sla_due(matrix, decision.actions, sla.clock))
    return Decided(signals=signals, decision=decision, sla=sla, ticket=ticket, handoff=handoff)


def input_fingerprint(ticket: Ticket) -> str:
    """Hash what a human or the customer can change, leaving out what Escalade writes.

    Our own write-back (tags, priority, group, notes) comes back as a webhook; with the same
    fingerprint it changes nothing, which is what stops write-back loops.
    """
    human = [
        (m.id, m.author.value, m.public, m.body)
        for m in ticket.messages
        if m.author not in (Author.BOT, Author.SYSTEM)
    ]
    account = ticket.account.to_dict() if ticket.account else None
    basis = [ticket.subject, ticket.status.value, ticket.requester.id, account, human,
             ticket.page_url]
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


class Outcome(StrEnum):
    """What processing one event came to."""

    DECIDED = "decided"
    UNCHANGED = "unchanged"
    IGNORED = "ignored"


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcessResult:
    """The outcome of one event and, when decided, the decision."""

    outcome: Outcome
    decision: Decision | None = None
    detail: str = ""


def process_event(runtime: Runtime, event_id: int, *, now: datetime) -> ProcessResult:
    """Turn one stored inbound event into a decision plus outbox rows, idempotently."""
    with store.session_scope(runtime.sessions) as s:
        event = s.get(store.InboundEventRow, event_id)
        if event is None:
            raise LookupError(f"inbound event {event_id} does not exist")
        tenant = runtime.tenant_by_id(s, event.tenant_id)
        body = event.body.encode()
        ticket_ref = event.ticket_external_id or ""

    adapter = runtime.adapter_for(tenant)
    parsed = adapter.parse_webhook(headers={}, body=body)
    # Vendors send ids and we read the ticket fresh; the sandbox carries it whole.
    ticket = parsed.ticket or adapter.fetch_ticket(ticket_ref)
    # CRM and product activity are asked outside any database transaction (network calls).
    context = runtime.gather_context(tenant, ticket)

    with store.session_scope(runtime.sessions) as s:
        existing = store.get_ticket(s, tenant.id, ticket.helpdesk, ticket.id)
        fingerprint = input_fingerprint(ticket)
        if existing is not None and existing.input_fingerprint == fingerprint:
            store.finish_event(s, event_id, status=store.EventStatus.DONE, now=now)
            return ProcessResult(outcome=Outcome.UNCHANGED, detail="no new input")
        if existing is not None and adapter.is_own_write(ticket):
            store.finish_event(s, event_id, status=store.EventStatus.DONE, now=now)
            return ProcessResult(outcome=Outcome.UNCHANGED, detail="our own write-back")

        history = store.ticket_history(
            s,
            tenant_id=tenant.id,
            requester_key=store.requester_key(ticket),
            account_key=store.account_key(ticket),
            exclude_id=existing.id if existing is not None else None,
        )
        previous_tier = (
            Tier(existing.tier) if existing is not None and existing.tier is not None else None
        )
        stored = (
            StoredSla(
                timeline=existing.timeline, state=existing.sla_state, due_at=existing.sla_due_at
            )
            if existing is not None
            else None
        )
        routing = runtime.routing_for(tenant)
        if routing is not None:
            context = replace(
                context,
                routing=routing.with_state(open_counts=store.open_counts(s, tenant_id=tenant.id)),
                last_assigned=store.last_assigned(s, tenant_id=tenant.id),
            )
        override = _standing_override(s, existing, ticket)
        # A customer writing again on an escalated ticket is news for its Slack alert's thread.
        replies = customer_replies(
            ticket, existing.data if existing is not None else None,
            store.alerts.open_alert_key(s, tenant_id=tenant.id, ticket_key=ticket.key),
        ) if "slack" in runtime.connected_targets(tenant) else ()
        signals, decision, sla, enriched, handoff = decide(
            ticket,
            history,
            matrix=runtime.matrix_for(tenant),
            detector=runtime.detector,
            now=now,
            previous_tier=previous_tier,
            connected=runtime.connected_targets(tenant),
            stored=stored,
            context=context,
            override=override,
        )
        row = store.upsert_ticket(
            s,
            tenant_id=tenant.id,
            ticket=enriched,
            tier=int(decision.tier),
            priority=decision.priority.value,
            category=decision.category.value,
            sla_due_at=decision.sla_due_at,
            input_fingerprint=fingerprint,
        )
        store.save_sla(
            s,
            row,
            state=sla.state.value,
            due_at=sla.due_at,
            warn_at=sla.warn_at,
            next_at=sla.next_at,
            clock=sla.clock,
            timeline=sla.timeline,
        )
        decision_row = store.add_decision(
            s,
            tenant_id=tenant.id,
            ticket_id=row.id,
            event_id=event_id,
            decided_at=now,
            decision=decision,
            previous_tier=int(previous_tier) if previous_tier is not None else None,
            signals=signals,
            handoff=handoff,
        )
        for line in bugs.on_ticket(runtime, s, tenant=tenant, row=row, ticket=enriched,
                                   signals=signals, now=now):
            log.info("%s: %s", ticket.key, line)
        for target, actions in outbox.by_target([*decision.actions, *replies]).items():
            outbox.enqueue(
                s,
                tenant_id=tenant.id,
                target=target,
                ticket_external_id=ticket.id,
                actions=actions,
                idempotency_key=f"{tenant.slug}:event:{event_id}:{target}",
                decision_id=decision_row.id,
                ticket_id=row.id,
                now=now,
            )
        store.finish_event(s, event_id, status=store.EventStatus.DONE, now=now)
    log.info(
        "decided %s tier=%s rules=%s",
        ticket.key,
        int(decision.tier),
        ",".join(r.rule_id for r in decision.rules),
    )
    runtime.wake()
    return ProcessResult(outcome=Outcome.DECIDED, decision=decision)
