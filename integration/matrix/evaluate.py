"""Evaluate a matrix against one ticket's signals into a ``Decision``. Pure: no I/O.

Tier selection: the first of tier 3, then tier 2, with a rule that holds (every rule of that
tier that holds is cited); otherwise tier 1. Then the bumps, in file order, each seeing the
tier left by the previous one. Then, when the matrix turns it on, the learned tier model may
change the tier it is sure enough of (``_learned_tier``). Finally ``previous_tier`` is a
floor: an open ticket's tier never goes down by itself. Whether a condition holds is
``conditions``; what the decision writes back is ``actions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from integration.calendars import add_business_time
from integration.matrix.actions import decision_actions
from integration.matrix.conditions import Facts, holds
from integration.matrix.schema import Matrix, TierSettings
from integration.models import (
    Decision,
    Handoff,
    Priority,
    Route,
    RuleHit,
    Signals,
    Ticket,
    Tier,
)

__all__ = ["evaluate"]


def evaluate(
    matrix: Matrix,
    ticket: Ticket,
    signals: Signals,
    *,
    now: datetime,
    previous_tier: Tier | None = None,
    connected: frozenset[str] = frozenset(),
    with_actions: bool = True,
    handoff: Handoff | None = None,
    override: RuleHit | None = None,
    override_tier: Tier | None = None,
    read_by: Sequence[RuleHit] = (),
) -> Decision:
    """Decide tier, priority, SLA, route and (unless told not to) helpdesk actions.

    ``handoff`` (summary, the customer's words, previous tickets, account facts) goes into the
    handoff note and the alerts when the tier rises. ``override`` (an agent's tier, with
    ``override_tier``) replaces the rules and the floor. ``read_by`` are reasons the signals
    have beyond the detector (a language model's second reading), cited after the rules.
    """
    if now.tzinfo is None:
        raise ValueError("evaluate() needs a timezone-aware 'now'")
    ctx = Facts(ticket=ticket, signals=signals, now=now, handoff=handoff,
                   zone=matrix.display_zone)
    tier, hits = _select_tier(matrix, ctx)
    tier = _apply_bumps(matrix, ctx, tier, hits)
    tier = _learned_tier(matrix, signals, tier, hits)
    if override is not None and override_tier is not None:
        # An agent's call stands until the customer writes again (the caller decides that).
        hits = [replace(override, reason=f"{override.reason}; the rules alone say tier "
                                         f"{int(tier)}")]
        tier = Tier(override_tier)
    elif previous_tier is not None and Tier(previous_tier) > tier:
        hits.append(_floor_hit(Tier(previous_tier), tier))
        tier = Tier(previous_tier)
    hits = [*hits, *read_by]
    settings = matrix.tier_settings(tier)
    decision = Decision(
        ticket_id=ticket.id,
        tier=tier,
        priority=_priority(settings, ticket),
        category=signals.category,
        sentiment=signals.sentiment,
        triggers=signals.trigger_ids,
        rules=tuple(hits),
        matrix_version=matrix.version,
        sla_due_at=_first_response_due(settings, ticket),
        route=Route(group=settings.actions.group,
                    reason=f"tier {int(tier)}: " + ", ".join(h.rule_id for h in hits)),
    )
    if not with_actions:
        return decision
    actions = decision_actions(matrix, decision, ctx, settings, previous_tier, connected)
    return replace(decision, actions=actions)


def _apply_bumps(matrix: Matrix, ctx: Facts, tier: Tier, hits: list[RuleHit]) -> Tier:
    """The tier after every bump whose conditions hold, each bump's reason added to ``hits``."""
    for bump in matrix.bumps:
        target = bump.target(tier)
        reasons = holds(bump.when, ctx) if target is not None else None
        if target is not None and reasons is not None:
            label = bump.description or bump.id
            reason = f"{label} (tier {int(tier)} → {int(target)}): " + "; ".join(reasons)
            hits.append(RuleHit(rule_id=bump.id, reason=reason))
            tier = target
    return tier


# The rule id a change made by the learned tier model is cited under.
LEARNED_TIER = "learned_tier"


def _learned_tier(matrix: Matrix, signals: Signals, tier: Tier, hits: list[RuleHit]) -> Tier:
    """The tier the learned model is sure enough of (the matrix's ``learned_tier``), cited."""
    reading = signals.tier_reading
    # The model never saw the page a customer wrote from nor a reply to an automatic
    # answer: where those decide, the rules do.
    if (matrix.learned_tier is None or reading is None or signals.page_rule is not None
            or signals.answer_declined or any(h.rule_id not in reading.knows for h in hits)
            or signals.category_confidence < matrix.learned_tier.min_category_confidence):
        return tier
    probs = reading.after(int(tier))
    best = max(range(3), key=probs.__getitem__)
    needed = matrix.learned_tier.needed(int(tier), triggered=bool(signals.triggers))
    if best + 1 == int(tier) or probs[best] < needed:
        return tier
    hits.append(RuleHit(
        rule_id=LEARNED_TIER,
        reason=f"A model trained on labeled tickets reads this as tier {best + 1} work "
        f"({probs[best]:.0%} sure) where the rules give tier {int(tier)}",
    ))
    return Tier(best + 1)


def _floor_hit(previous: Tier, rules_tier: Tier) -> RuleHit:
    """Why the ticket keeps its earlier, higher tier."""
    return RuleHit(
        rule_id="tier_floor",
        reason=f"stays at tier {int(previous)}: the ticket was already tier "
        f"{int(previous)} (rules alone say {int(rules_tier)}); a tier never goes "
        "down by itself",
    )


def _priority(settings: TierSettings, ticket: Ticket) -> Priority:
    """The tier's priority, never below the ticket's own."""
    priority = settings.actions.priority or ticket.priority
    if priority.rank < ticket.priority.rank:
        priority = ticket.priority
    return priority


def _first_response_due(settings: TierSettings, ticket: Ticket) -> datetime | None:
    """When the first response is due on the tier's calendar, if the tier sets one."""
    sla = settings.sla
    return (
        add_business_time(ticket.created_at, sla.first_response, sla.calendar)
        if sla.first_response is not None
        else None
    )


def _select_tier(matrix: Matrix, ctx: Facts) -> tuple[Tier, list[RuleHit]]:
    for tier in (Tier.THREE, Tier.TWO, Tier.ONE):
        hits = []
        for rule in matrix.rules[tier]:
            reasons = holds(rule.when, ctx)
            if reasons is not None:
                label = rule.description or rule.id
                hits.append(RuleHit(rule_id=rule.id, reason=f"{label}: " + "; ".join(reasons)))
        if hits:
            return tier, hits
    reason = (
        f"no tier 2 or tier 3 rule holds (category {ctx.signals.category.value}, "
        f"sentiment {ctx.signals.sentiment:+.2f}): tier 1"
    )
    return Tier.ONE, [RuleHit(rule_id="default_tier", reason=reason)]
