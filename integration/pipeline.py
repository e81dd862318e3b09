"""From a stored inbound event to a stored decision and the write-backs it causes.

``process_event`` reads top to bottom: load the event and resolve its tenant once, read the
ticket (vendors send ids; the sandbox carries the ticket whole), ask the CRM and the activity
source outside any transaction, then in one transaction: skip what changed nothing, read what
the store knows, decide (``integration.decide``, pure), group bugs, and write the decision, its
SLA state and its outbox rows (``integration.decisions``), so that nothing is decided without
being delivered, nor delivered twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from adapters.helpdesk.base import HelpdeskAdapter
from integration import decisions, store
from integration.bugs import service as bugs
from integration.context import TenantContext, gather_context
from integration.decide import StoredSla, decide
from integration.enrich import Context
from integration.logs import log_context
from integration.matrix.actions import customer_replies
from integration.matrix.override import OVERRIDE_RULE
from integration.models import Action, Author, Decision, RuleHit, Ticket, Tier
from integration.store.repo import tenant_by_id

if TYPE_CHECKING:
    from integration.runtime import Runtime

__all__ = ["Outcome", "ProcessResult", "input_fingerprint", "process_event"]

log = logging.getLogger(__name__)


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


@dataclass(frozen=True, kw_only=True, slots=True)
class _Event:
    """A stored inbound event, read out of its transaction."""

    tenant: store.TenantRow
    body: bytes
    ticket_ref: str


@dataclass(frozen=True, kw_only=True, slots=True)
class _Known:
    """What the store knows that the decision reads."""

    history: list[Ticket]
    previous_tier: Tier | None
    stored: StoredSla | None
    context: Context
    override: tuple[Tier, RuleHit] | None
    replies: tuple[Action, ...]


def process_event(runtime: Runtime, event_id: int, *, now: datetime) -> ProcessResult:
    """Turn one stored inbound event into a decision plus outbox rows, idempotently."""
    with log_context(event=event_id):
        event = _load_event(runtime, event_id)
        with log_context(tenant=event.tenant.slug, ticket=event.ticket_ref or None):
            return _process(runtime, event_id, event, now)


def _process(runtime: Runtime, event_id: int, event: _Event, now: datetime) -> ProcessResult:
    tenant = runtime.tenant_context(event.tenant)
    ticket = _read_ticket(tenant.adapter, event)
    # CRM and product activity are asked outside any database transaction (network calls).
    context = gather_context(tenant, ticket)
    with store.session_scope(runtime.sessions) as s:
        existing = store.get_ticket(s, tenant.id, ticket.helpdesk, ticket.id)
        fingerprint = input_fingerprint(ticket)
        unchanged = _why_unchanged(existing, fingerprint, tenant.adapter, ticket)
        if unchanged is not None:
            store.finish_event(s, event_id, status=store.EventStatus.DONE, now=now)
            return ProcessResult(outcome=Outcome.UNCHANGED, detail=unchanged)
        known = _what_the_store_knows(s, tenant, ticket, existing, context)
        decided = decide(
            ticket, known.history, matrix=tenant.matrix, detector=runtime.detector, now=now,
            previous_tier=known.previous_tier, connected=tenant.connected, stored=known.stored,
            context=known.context, override=known.override,
        )
        decision = decided.decision
        bug = bugs.assign(s, tenant, runtime.bug_groupers, ticket=decided.ticket,
                          signals=decided.signals)
        row = store.upsert_ticket(
            s, tenant_id=tenant.id, ticket=decided.ticket, tier=int(decision.tier),
            priority=decision.priority.value, category=decision.category.value,
            sla_due_at=decision.sla_due_at, input_fingerprint=fingerprint,
        )
        for line in bugs.on_ticket(s, tenant, bug, row=row, ticket=decided.ticket, now=now):
            log.info("%s: %s", ticket.key, line)
        decisions.record(s, decisions.Entry(
            tenant_id=tenant.id, tenant_slug=tenant.slug, ticket_id=row.id,
            ticket_external_id=ticket.id, cause_key=f"event:{event_id}", decided_at=now,
            decision=decision, actions=[*decision.actions, *known.replies],
            previous_tier=known.previous_tier, signals=decided.signals,
            handoff=decided.handoff, event_id=event_id, zone=tenant.matrix.display_zone,
            answer=decided.answer.record if decided.answer else None,
            answer_actions=decided.answer.actions if decided.answer else (),
            answer_declined_at=decided.answer_declined_at,
        ), sla=decided.sla, ticket=row)
        store.finish_event(s, event_id, status=store.EventStatus.DONE, now=now)
    log.info("decided %s tier=%s rules=%s", ticket.key, int(decision.tier),
             ",".join(r.rule_id for r in decision.rules))
    runtime.wake()
    return ProcessResult(outcome=Outcome.DECIDED, decision=decision)


def _load_event(runtime: Runtime, event_id: int) -> _Event:
    with store.session_scope(runtime.sessions) as s:
        event = store.get_event(s, event_id)
        if event is None:
            raise LookupError(f"inbound event {event_id} does not exist")
        return _Event(tenant=tenant_by_id(s, event.tenant_id), body=event.body.encode(),
                      ticket_ref=event.ticket_external_id or "")


def _read_ticket(adapter: HelpdeskAdapter, event: _Event) -> Ticket:
    parsed = adapter.parse_webhook(headers={}, body=event.body)
    # Vendors send ids and we read the ticket fresh; the sandbox carries it whole.
    return parsed.ticket or adapter.fetch_ticket(event.ticket_ref)


def _why_unchanged(
    existing: store.TicketRow | None, fingerprint: str, adapter: HelpdeskAdapter, ticket: Ticket
) -> str | None:
    """Why a known ticket needs no new decision, or None when it does."""
    if existing is None:
        return None
    if existing.input_fingerprint == fingerprint:
        return "no new input"
    if adapter.is_own_write(ticket):
        return "our own write-back"
    return None


def _what_the_store_knows(
    s: Session,
    tenant: TenantContext,
    ticket: Ticket,
    existing: store.TicketRow | None,
    context: Context,
) -> _Known:
    history = store.ticket_history(
        s,
        tenant_id=tenant.id,
        requester_key=store.requester_key(ticket),
        account_key=store.account_key(ticket),
        exclude_id=existing.id if existing is not None else None,
    )
    if tenant.routing is not None:
        open_counts = store.open_counts(s, tenant_id=tenant.id)
        context = replace(context, routing=tenant.routing.with_state(open_counts=open_counts),
                          last_assigned=store.last_assigned(s, tenant_id=tenant.id))
    if existing is not None and context.answerer is not None:
        context = replace(context, answered=store.answers.answer_for_ticket(s, existing.id))
    replies: tuple[Action, ...] = ()
    if "slack" in tenant.connected:
        # A customer writing again on an escalated ticket is news for its Slack alert's thread.
        replies = customer_replies(
            ticket, existing.data if existing is not None else None,
            store.alerts.open_alert_key(s, tenant_id=tenant.id, ticket_key=ticket.key),
        )
    return _Known(
        history=history,
        previous_tier=Tier(existing.tier) if existing is not None and existing.tier is not None
        else None,
        stored=StoredSla(timeline=existing.timeline, state=existing.sla_state,
                         due_at=existing.sla_due_at) if existing is not None else None,
        context=context,
        override=_standing_override(s, existing, ticket),
        replies=replies,
    )


def _standing_override(
    s: Session, existing: store.TicketRow | None, ticket: Ticket
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
    hit = RuleHit(rule_id=OVERRIDE_RULE, reason=f"{who} set tier {row.to_tier}: {row.reason}")
    return Tier(row.to_tier), hit
