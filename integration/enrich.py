"""What Escalade knows around a ticket besides its text: CRM, product activity, history, routing.

``Context`` is gathered at the edge (``integration.context.gather_context`` asks the CRM and
the activity source, the pipeline adds what the store knows); the functions here are pure:
they merge the CRM's account into the ticket, turn activity into signals and facts, build the
``Handoff`` the note and alerts carry, and choose the assignee on an escalation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from integration.answer.respond import AnswerRecord, AnswerSource
from integration.engagement import Activity, declining, engagement_trend
from integration.models import (
    Account,
    Action,
    ActionKind,
    Decision,
    Handoff,
    PreviousTicket,
    Route,
    Signals,
    Ticket,
    Tier,
)
from integration.routing import RoutingTable, route
from integration.second_reading import SecondReader
from integration.summary import Summary, SummaryProvider

__all__ = [
    "Context",
    "account_facts",
    "activity_signals",
    "handoff_for",
    "merge_account",
    "route_decision",
    "with_activity",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Context:
    """What the edge found out about a ticket before deciding it."""

    crm_account: Account | None = None
    activity: Activity | None = None
    routing: RoutingTable | None = None
    last_assigned: Mapping[str, datetime] = field(default_factory=dict)
    ticket_url: str | None = None
    summarizer: SummaryProvider | None = None
    second_reader: SecondReader | None = None
    # The workspace's knowledge, and what it already gave this ticket.
    answerer: AnswerSource | None = None
    answered: AnswerRecord | None = None


def merge_account(ticket: Ticket, crm: Account | None) -> Ticket:
    """The ticket with the CRM's account facts; the CRM wins where it knows a value."""
    if crm is None:
        return ticket
    base = ticket.account or Account(id=crm.id)
    merged = Account(
        id=base.id,
        name=crm.name or base.name,
        domain=crm.domain or base.domain,
        plan=crm.plan or base.plan,
        arr=crm.arr if crm.arr is not None else base.arr,
        health=crm.health if crm.health is not None else base.health,
        owner=crm.owner or base.owner,
        lifecycle=crm.lifecycle or base.lifecycle,
        renewal_date=crm.renewal_date or base.renewal_date,
    )
    return replace(ticket, account=merged)


def with_activity(ticket: Ticket, activity: Activity | None) -> Ticket:
    """Fill the plan and renewal date from product billing where the account lacks them."""
    if activity is None or ticket.account is None:
        return ticket
    account = ticket.account
    return replace(
        ticket,
        account=replace(
            account,
            plan=account.plan or activity.plan,
            renewal_date=account.renewal_date or activity.renewal_date,
        ),
    )


def activity_signals(signals: Signals, activity: Activity | None) -> Signals:
    """Signals with the engagement trend the matrix can use."""
    if activity is None:
        return signals
    return replace(
        signals,
        engagement_trend=engagement_trend(activity),
        engagement_declining=declining(activity),
    )


def account_facts(account: Account | None, activity: Activity | None) -> tuple[str, ...]:
    """Short facts for the handoff note, each from the CRM or the product, never guessed."""
    facts: list[str] = []
    if account is not None:
        if account.lifecycle:
            facts.append(f"lifecycle stage {account.lifecycle}")
        if account.renewal_date:
            facts.append(f"renews on {account.renewal_date.isoformat()}")
    if activity is not None:
        trend = engagement_trend(activity)
        if activity.logins_30d is not None:
            was = f" (previous 30 days: {activity.logins_prev_30d})" if trend is not None else ""
            facts.append(f"{activity.logins_30d} logins in the last 30 days{was}")
        if declining(activity):
            facts.append("product usage is declining")
        if activity.mrr is not None:
            facts.append(f"MRR {activity.mrr:,.0f}")
        if activity.features_used:
            facts.append("uses " + ", ".join(activity.features_used[:6]))
        if activity.last_page:
            facts.append(f"last page: {activity.last_page}")
    return tuple(facts)


def handoff_for(
    ticket: Ticket,
    *,
    summary: Summary | None,
    previous: Sequence[Ticket],
    activity: Activity | None,
    ticket_url: str | None,
) -> Handoff:
    """Everything the next agent needs, from the ticket, its history and the account."""
    return Handoff(
        summary=summary.text if summary is not None else None,
        summary_by=summary.written_by if summary is not None else None,
        wants=summary.wants if summary is not None else None,
        customer_words=(summary.customer_words or None) if summary is not None else None,
        tried=summary.tried if summary is not None else (),
        bot_answered=summary.bot_answered if summary is not None else (),
        previous=tuple(
            PreviousTicket(id=t.id, subject=t.subject, status=t.status, created_at=t.created_at)
            for t in previous
        ),
        facts=account_facts(ticket.account, activity),
        ticket_url=ticket_url,
    )


def route_decision(
    decision: Decision,
    ticket: Ticket,
    *,
    routing: RoutingTable | None,
    previous_tier: Tier | None,
    last_assigned: Mapping[str, datetime],
    now: datetime,
) -> Decision:
    """Pick the assignee when the ticket is new or its tier rose; explain it in the route."""
    rose = previous_tier is None or decision.tier > previous_tier
    if routing is None or not rose:
        return decision
    owner = ticket.account.owner if ticket.account is not None else None
    choice = route(
        routing,
        tier=decision.tier,
        category=decision.category,
        group=decision.route.group,
        account_owner=owner,
        now=now,
        last_assigned=last_assigned,
    )
    chosen = Route(group=choice.group, assignee=choice.assignee, reason=choice.reason)
    actions = list(decision.actions)
    assign = [i for i, a in enumerate(actions) if a.kind is ActionKind.ASSIGN]
    payload: dict[str, Any] = {"group": choice.group} if choice.group else {}
    if choice.assignee is not None and choice.assignee != ticket.assignee:
        payload["assignee"] = choice.assignee
    if assign and payload:
        actions[assign[0]] = replace(actions[assign[0]], payload=payload)
    elif not assign and ("assignee" in payload
                         or (choice.group and choice.group != ticket.group)):
        actions.append(Action(kind=ActionKind.ASSIGN, target="helpdesk", payload=payload))
    return replace(decision, route=chosen, actions=tuple(actions))
