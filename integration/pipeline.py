"""From a ticket to a decision and the actions it causes.

``integration.decide`` is the pure heart (detect, then the matrix); ``process_event`` is the
one readable function from a stored inbound event to a stored decision and its outbox rows,
written in one transaction so that nothing is decided without being delivered, nor delivered
twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from integration import outbox, store
from integration.bugs import service as bugs
from integration.decide import StoredSla, decide
from integration.matrix.evaluate import customer_replies
from integration.models import Author, Decision, RuleHit, Ticket, Tier

if TYPE_CHECKING:
    from integration.runtime import Runtime

__all__ = ["Outcome", "ProcessResult", "input_fingerprint", "process_event"]

log = logging.getLogger(__name__)


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
