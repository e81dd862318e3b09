"""The pure heart of triage: read a ticket, let the matrix decide, run its SLA clock; no I/O.

``decide`` takes what the edge already gathered (the earlier tickets, the CRM account, product
activity, the routing table, the SLA as stored) and returns the signals, the decision with its
actions and the SLA fields to store. The pipeline, ``escalade triage`` and the measurement
tools all decide through it, so a ticket is read the same way wherever it comes from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple

from integration.answer.respond import (
    Declined,
    Response,
    declined_answer,
    knowledge_response,
    with_declined,
)
from integration.clocks import SlaFields, sla_fields
from integration.detect import Detector, Reading
from integration.enrich import (
    Context,
    activity_signals,
    handoff_for,
    merge_account,
    route_decision,
    with_activity,
)
from integration.matrix import Matrix, evaluate
from integration.matrix.actions import with_sla_due
from integration.models import Decision, Handoff, RuleHit, Signals, Ticket, Tier
from integration.second_reading import Reread
from integration.summary import Summary, summarize

__all__ = ["SECOND_READING", "Decided", "StoredSla", "build_detector", "decide"]

# The rule id a decision cites for what the tenant's language model changed in its reading.
SECOND_READING = "second_reading"

@dataclass(frozen=True, kw_only=True, slots=True)
class StoredSla:
    """A ticket's SLA as stored before the change being decided."""

    timeline: Mapping[str, Any] | None = None
    state: str | None = None
    due_at: datetime | None = None


class Decided(NamedTuple):
    """What ``decide`` found: the signals, the decision and the SLA fields to store.

    ``answer`` is what the team's knowledge gives the ticket (its write-backs are queued only
    with its record); ``answer_declined_at`` is when the customer wrote back for more after an
    automatic answer.
    """

    signals: Signals
    decision: Decision
    sla: SlaFields
    ticket: Ticket
    handoff: Handoff | None = None
    answer: Response | None = None
    answer_declined_at: datetime | None = None


def build_detector(matrix: Matrix) -> Detector:
    """The detector configured by the matrix: its triggers, page patterns and repeat window."""
    return Detector(
        triggers=matrix.triggers,
        pages=matrix.pages,
        repeat_window_days=matrix.repeat_window_days,
    )


def _summary(ticket: Ticket, context: Context) -> Summary:
    if context.summarizer is not None:
        return context.summarizer.summarize(ticket)
    return summarize(ticket)


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
    reading: Reading | None = None,
) -> Decided:
    """Read the ticket, let the matrix decide, then run its SLA clock; no I/O.

    ``stored`` is what the store knew of the ticket's SLA before this change (timeline,
    state acted on, due time); without it the clock starts from the ticket alone.
    ``context`` is what the edge found around the ticket (CRM account, product activity,
    routing table); the returned ticket carries the merged account. ``reading`` is the
    detector's ``read(ticket)`` when it was made beforehand (``escalade triage`` on several
    processes).
    """
    context = context or Context()
    ticket = with_activity(merge_account(ticket, context.crm_account), context.activity)
    signals = activity_signals(detector.detect(ticket, history, reading=reading), context.activity)
    reread = _reread(ticket, signals, detector, context)
    declined = declined_answer(ticket, context.answered)
    signals = with_declined(reread.signals, declined)
    # Only a decision that writes back needs the summary and the earlier tickets.
    handoff = _handoff(ticket, history, detector, context, declined) if with_actions else None
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
        read_by=[RuleHit(rule_id=SECOND_READING, reason=reason) for reason in reread.reasons],
    )
    decision = route_decision(decision, ticket, routing=context.routing,
                              previous_tier=previous_tier, last_assigned=context.last_assigned,
                              now=now)
    sla = _sla(matrix, ticket, decision, stored or StoredSla(), now)
    decision = replace(decision, sla_due_at=sla.due_at, sla_state=sla.state.value,
                       actions=with_sla_due(matrix, decision.actions, sla.clock))
    answer = knowledge_response(ticket, decision, signals, matrix=matrix,
                                answerer=context.answerer if with_actions else None,
                                answered=context.answered, now=now)
    return Decided(signals=signals, decision=decision, sla=sla, ticket=ticket, handoff=handoff,
                   answer=answer, answer_declined_at=declined.message.created_at if declined
                   else None)


def _reread(ticket: Ticket, signals: Signals, detector: Detector, context: Context) -> Reread:
    """The tenant's second reading of an unsure ticket, when it turned one on."""
    if context.second_reader is None:
        return Reread(signals=signals)
    return context.second_reader.reread(ticket, signals, intents=detector.trigger_ids)


def _handoff(
    ticket: Ticket, history: Sequence[Ticket], detector: Detector, context: Context,
    declined: Declined | None,
) -> Handoff:
    """What the agent taking over must know: summary, earlier tickets on the same issue, and
    the automatic answer the customer wrote back about."""
    handoff = handoff_for(
        ticket,
        summary=_summary(ticket, context),
        previous=detector.same_issue_tickets(ticket, history),
        activity=context.activity,
        ticket_url=context.ticket_url,
    )
    if declined is None:
        return handoff
    return replace(handoff, tried=(declined.tried, *handoff.tried))


def _sla(
    matrix: Matrix, ticket: Ticket, decision: Decision, stored: StoredSla, now: datetime
) -> SlaFields:
    """The SLA clock for the decided tier, continuing what the store knew of it."""
    return sla_fields(
        matrix,
        ticket,
        tier=decision.tier,
        timeline=stored.timeline,
        previous_state=stored.state,
        previous_due=stored.due_at,
        now=now,
    )
