"""An agent's tier override as a decision: what it says and what it writes back.

The decision cites the rule ``agent_override`` and keeps what was read of the ticket before
(category, sentiment, triggers). What it writes back: the tier's tags (and removal of the
other tiers'), its priority and the tier field, plus an internal note saying who changed it
and why. Raising the tier also routes to the tier's group with the handoff note and alerts the
connected channels, as a rising decision does; lowering it never alerts. No override writes
to the customer: the agent is in the ticket and writes to them themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from integration.matrix.actions import tier_actions
from integration.matrix.schema import Matrix
from integration.models import (
    Action,
    ActionKind,
    Category,
    Decision,
    Handoff,
    PreviousTicket,
    Priority,
    Route,
    RuleHit,
    Signals,
    Status,
    Ticket,
    Tier,
    parse_time,
)

__all__ = ["OVERRIDE_RULE", "override_decision", "stored_handoff"]

OVERRIDE_RULE = "agent_override"


def override_decision(
    matrix: Matrix,
    ticket: Ticket,
    *,
    tier: Tier,
    reason: str,
    agent: str | None,
    from_tier: int | None,
    stored_priority: str | None,
    stored_category: str | None,
    signals: Mapping[str, Any],
    handoff: Handoff | None,
    connected: frozenset[str],
    now: datetime,
) -> tuple[Decision, tuple[Action, ...]]:
    """The override's decision and its write-backs, from what the ticket's log holds.

    ``signals`` is the JSON of the ticket's latest decision that read it; ``handoff`` its
    latest handoff, carried by the note when the tier rises.
    """
    previous = Tier(from_tier) if from_tier is not None and from_tier in (1, 2, 3) else None
    rose = previous is None or tier > previous
    who = agent or "an agent"
    settings = matrix.tier_settings(tier)
    priority = settings.actions.priority or _priority(stored_priority, ticket.priority)
    category = _category(stored_category or signals.get("category"))
    decision = Decision(
        ticket_id=ticket.id,
        tier=tier,
        priority=priority,
        category=category,
        sentiment=float(signals.get("sentiment") or 0.0),
        triggers=tuple(dict.fromkeys(
            str(h.get("trigger")) for h in signals.get("triggers") or ())),
        rules=(RuleHit(rule_id=OVERRIDE_RULE,
                       reason=f"Agent {who} set tier {int(tier)}: {reason}"),),
        matrix_version=matrix.version,
        route=Route(group=settings.actions.group if rose else None,
                    reason=f"tier {int(tier)}: {OVERRIDE_RULE}"),
    )
    actions = tier_actions(
        matrix, decision, ticket, _signals(signals, category), now=now,
        previous_tier=previous, connected=connected if rose else frozenset(), handoff=handoff,
    )
    actions = tuple(a for a in actions if a.kind is not ActionKind.PUBLIC_REPLY)
    if not any(a.kind is ActionKind.INTERNAL_NOTE for a in actions):
        was = f"from {from_tier} " if from_tier is not None else ""
        note = (f"Escalade: {who} changed the tier {was}to {int(tier)}: "
                f"\u201c{reason}\u201d. Recorded with the ticket.")
        actions += (Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk",
                           payload={"body": note}),)
    return decision, actions


def stored_handoff(raw: Mapping[str, Any] | None) -> Handoff | None:
    """A handoff as the decision log stores it, read back; None when there is none."""
    if not raw:
        return None
    previous = []
    for item in raw.get("previous") or ():
        try:
            previous.append(PreviousTicket(
                id=str(item["id"]), subject=str(item.get("subject") or ""),
                status=Status(item.get("status") or "open"),
                created_at=parse_time(item.get("created_at"), "previous.created_at"),
            ))
        except (KeyError, ValueError):
            continue
    return Handoff(
        summary=raw.get("summary"), wants=raw.get("wants"),
        customer_words=raw.get("customer_words"), tried=tuple(raw.get("tried") or ()),
        bot_answered=tuple(raw.get("bot_answered") or ()), previous=tuple(previous),
        facts=tuple(raw.get("facts") or ()), ticket_url=raw.get("ticket_url"),
    )


def _priority(*values: str | Priority | None) -> Priority:
    for value in values:
        if value:
            try:
                return Priority(value)
            except ValueError:
                continue
    return Priority.NORMAL


def _category(value: Any) -> Category:
    try:
        return Category(value) if value else Category.OTHER
    except ValueError:
        return Category.OTHER


def _signals(raw: Mapping[str, Any], category: Category) -> Signals:
    # The handoff note reads only these; the full JSON is copied into the decision row.
    repeats = raw.get("repeat_contacts")
    return Signals(
        category=category,
        sentiment=float(raw.get("sentiment") or 0.0),
        frustrated=bool(raw.get("frustrated")),
        repeat_contacts=repeats if isinstance(repeats, int) and repeats > 0 else 1,
    )
