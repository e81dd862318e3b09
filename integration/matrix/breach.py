"""What the SLA sweep writes when a clock nears or passes its due time. Pure: no I/O.

A warning is an internal note for the assignee (and alerts the tier's ``on_warning`` names).
A breach follows the tier's ``on_breach``: with ``promote_to`` it is a new decision citing the
rule ``sla_breach`` (tier tag, priority, escalation group, handoff note, the customer's
acknowledgment when the matrix asks for it, alerts); without it, a note and alerts only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from integration.matrix.actions import alert_payload, display_zone_key, local_time, tier_actions
from integration.matrix.schema import Matrix
from integration.models import (
    Action,
    ActionKind,
    Category,
    Decision,
    Route,
    RuleHit,
    Signals,
    Ticket,
    Tier,
)

__all__ = ["BREACH_RULE", "Deadline", "breach_decision", "warning_actions"]

BREACH_RULE = "sla_breach"


@dataclass(frozen=True, kw_only=True, slots=True)
class Deadline:
    """The SLA target that is near or past: which metric, when, and the tier to blame."""

    metric: str
    due_at: datetime
    blamed_tier: Tier | None = None

    @property
    def label(self) -> str:
        """``first response``, ``next response`` or ``resolution``."""
        return self.metric.replace("_", " ")


def warning_actions(
    matrix: Matrix,
    ticket: Ticket,
    *,
    tier: Tier,
    deadline: Deadline,
    now: datetime,
    connected: frozenset[str] = frozenset(),
) -> tuple[Action, ...]:
    """A note to the assignee (and alerts) that ``deadline`` is close."""
    policy = matrix.tier_settings(tier).on_warning
    left = max(int((deadline.due_at - now).total_seconds() // 60), 0)
    who = f"@{ticket.assignee} " if ticket.assignee else ""
    text = (
        f"Escalade: {who}SLA warning: {deadline.label} for this tier {int(tier)} ticket is due "
        f"{local_time(matrix, tier, deadline.due_at)} (in {left} min)."
    )
    out: list[Action] = []
    if policy.note:
        out.append(Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk", payload={"body": text}))
    for target in policy.alert:
        if target in connected:
            payload = {
                "kind": "sla_warning",
                "dedupe_key": f"{ticket.key}:sla_warning:{deadline.metric}:{deadline.due_at:%s}",
                "ticket_key": ticket.key,
                "ticket_id": ticket.id,
                "tier": int(tier),
                "metric": deadline.metric,
                "due_at": deadline.due_at.isoformat(),
                "display_zone": display_zone_key(matrix),
                "text": text,
            }
            out.append(Action(kind=ActionKind.ALERT, target=target, payload=payload))
    return tuple(out)


def breach_decision(
    matrix: Matrix,
    ticket: Ticket,
    *,
    tier: Tier,
    category: Category,
    sentiment: float,
    deadline: Deadline,
    now: datetime,
    connected: frozenset[str] = frozenset(),
) -> Decision:
    """The decision the sweep logs for a breach at ``tier``, with its write-backs."""
    settings = matrix.tier_settings(tier)
    policy = settings.on_breach
    promote_to = policy.promote_to if policy is not None else None
    new_tier = promote_to if promote_to is not None and promote_to > tier else tier
    blamed = deadline.blamed_tier or tier
    reason = (
        f"SLA breach: {deadline.label} was due {local_time(matrix, tier, deadline.due_at)} "
        f"(blamed on tier {int(blamed)})"
    )
    if new_tier != tier:
        reason += f"; promoted from tier {int(tier)} to tier {int(new_tier)} with no human action"
    target = matrix.tier_settings(new_tier)
    priority = target.actions.priority or ticket.priority
    if priority.rank < ticket.priority.rank:
        priority = ticket.priority
    decision = Decision(
        ticket_id=ticket.id,
        tier=new_tier,
        priority=priority,
        category=category,
        sentiment=sentiment,
        triggers=(),
        rules=(RuleHit(rule_id=BREACH_RULE, reason=reason),),
        matrix_version=matrix.version,
        route=Route(group=target.actions.group, reason=f"tier {int(new_tier)}: {BREACH_RULE}"),
    )
    alerts = tuple(policy.alert) if policy is not None else ()
    signals = Signals(category=category, sentiment=sentiment)
    if new_tier != tier:
        actions = tier_actions(
            matrix, decision, ticket, signals, now=now, previous_tier=tier, connected=connected
        )
        if policy is None or not policy.acknowledge:
            actions = tuple(a for a in actions if a.kind is not ActionKind.PUBLIC_REPLY)
        already = {a.target for a in actions if a.kind is ActionKind.ALERT}
        alerts = tuple(t for t in alerts if t not in already)
    else:
        note = f"Escalade: {reason}."
        actions = (Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk",
                          payload={"body": note}),)
    payload = {**alert_payload(matrix, decision, ticket, tier), "kind": "sla_breach"}
    payload["dedupe_key"] = f"{ticket.key}:sla_breach:{deadline.metric}:{deadline.due_at:%s}"
    extra = tuple(
        Action(kind=ActionKind.ALERT, target=t, payload=payload) for t in alerts if t in connected
    )
    return replace(decision, actions=actions + extra)
