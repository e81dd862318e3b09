"""Evaluate a matrix against one ticket's signals into a ``Decision``. Pure: no I/O.

Tier selection: the first of tier 3, then tier 2, with a rule that holds (every rule of that
tier that holds is cited); otherwise tier 1. Then the bumps, in file order, each seeing the
tier left by the previous one. Finally ``previous_tier`` is a floor: an open ticket's tier
never goes down by itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from integration.calendars import add_business_time, format_local
from integration.matrix.schema import Condition, Matrix, TierSettings
from integration.models import (
    Action,
    ActionKind,
    Category,
    Decision,
    Handoff,
    Priority,
    Route,
    RuleHit,
    Signals,
    Ticket,
    Tier,
    format_time,
    parse_time,
)

__all__ = [
    "REPLY_KIND",
    "TIER_TAG",
    "alert_payload",
    "customer_replies",
    "display_zone_key",
    "evaluate",
    "local_time",
    "tier_actions",
    "tier_tag",
    "with_sla_due",
]

TIER_TAG = "escalade_tier_{tier}"
CATEGORY_TAG = "escalade_{category}"
_QUOTE_LIMIT = 120


@dataclass(frozen=True, kw_only=True, slots=True)
class _Context:
    ticket: Ticket
    signals: Signals
    now: datetime
    handoff: Handoff | None = None
    # Every due time a note or reply prints reads in this zone (the workspace's calendar).
    zone: tzinfo = UTC


# A check returns the reasons (with evidence) when its condition holds, else None.
_Check = Callable[[Any, _Context], list[str] | None]


def tier_tag(tier: Tier | int) -> str:
    """The helpdesk tag that marks a ticket's tier, e.g. ``escalade_tier_3``."""
    return TIER_TAG.format(tier=int(tier))


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
) -> Decision:
    """Decide tier, priority, SLA, route and (unless told not to) helpdesk actions.

    ``handoff`` (summary, the customer's words, previous tickets, account facts) goes into the
    handoff note and the alerts when the tier rises. ``override`` (an agent's tier, with
    ``override_tier``) replaces the rules and the floor.
    """
    if now.tzinfo is None:
        raise ValueError("evaluate() needs a timezone-aware 'now'")
    ctx = _Context(ticket=ticket, signals=signals, now=now, handoff=handoff,
                   zone=matrix.display_zone)
    tier, hits = _select_tier(matrix, ctx)
    tier = _apply_bumps(matrix, ctx, tier, hits)
    if override is not None and override_tier is not None:
        # An agent's call stands until the customer writes again (the caller decides that).
        hits = [replace(override, reason=f"{override.reason}; the rules alone say tier "
                                         f"{int(tier)}")]
        tier = Tier(override_tier)
    elif previous_tier is not None and Tier(previous_tier) > tier:
        hits.append(_floor_hit(Tier(previous_tier), tier))
        tier = Tier(previous_tier)
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
    actions = _actions(matrix, decision, ctx, settings, previous_tier, connected)
    return replace(decision, actions=actions)


def _apply_bumps(matrix: Matrix, ctx: _Context, tier: Tier, hits: list[RuleHit]) -> Tier:
    """The tier after every bump whose conditions hold, each bump's reason added to ``hits``."""
    for bump in matrix.bumps:
        target = bump.target(tier)
        reasons = _check(bump.when, ctx) if target is not None else None
        if target is not None and reasons is not None:
            label = bump.description or bump.id
            reason = f"{label} (tier {int(tier)} → {int(target)}): " + "; ".join(reasons)
            hits.append(RuleHit(rule_id=bump.id, reason=reason))
            tier = target
    return tier


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


def tier_actions(
    matrix: Matrix,
    decision: Decision,
    ticket: Ticket,
    signals: Signals,
    *,
    now: datetime,
    previous_tier: Tier | None,
    connected: frozenset[str] = frozenset(),
    handoff: Handoff | None = None,
) -> tuple[Action, ...]:
    """The write-backs of ``decision`` as ``evaluate`` renders them (for the SLA sweep)."""
    ctx = _Context(ticket=ticket, signals=signals, now=now, handoff=handoff,
                   zone=matrix.display_zone)
    settings = matrix.tier_settings(decision.tier)
    return _actions(matrix, decision, ctx, settings, previous_tier, connected)


def alert_payload(
    matrix: Matrix, decision: Decision, ticket: Ticket, previous_tier: Tier | None
) -> dict[str, Any]:
    """What an alert about ``decision`` carries (Slack, CRM, manager)."""
    settings = matrix.tier_settings(decision.tier)
    signals = Signals(category=decision.category, sentiment=decision.sentiment)
    ctx = _Context(ticket=ticket, signals=signals, now=ticket.updated_at,
                   zone=matrix.display_zone)
    return _alert_payload(matrix, decision, ctx, settings, previous_tier)


def local_time(matrix: Matrix, tier: Tier, value: datetime) -> str:
    """``value`` in the workspace's display zone, the way notes and replies print it.

    ``tier`` is kept for callers; every tier's times read in the same zone.
    """
    return format_local(value, matrix.display_zone, long=True)


def _select_tier(matrix: Matrix, ctx: _Context) -> tuple[Tier, list[RuleHit]]:
    for tier in (Tier.THREE, Tier.TWO, Tier.ONE):
        hits = []
        for rule in matrix.rules[tier]:
            reasons = _check(rule.when, ctx)
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


# --- conditions ---------------------------------------------------------------------------


def _check(condition: Condition, ctx: _Context) -> list[str] | None:
    # The reasons ``condition`` holds for the ticket, or ``None`` when it does not.
    return _CHECKS[condition.kind](condition.value, ctx)


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 1].rstrip() + "…"


def _evidence(ctx: _Context, *kinds: str) -> str:
    for item in ctx.signals.evidence:
        if item.kind in kinds and item.text:
            return f' ("{_quote(item.text)}")'
    return ""


def _trigger(ids: tuple[str, ...], ctx: _Context) -> list[str] | None:
    first: dict[str, Any] = {}
    for hit in ctx.signals.triggers:
        if hit.trigger in ids and hit.trigger not in first:
            first[hit.trigger] = hit
    if not first:
        return None
    return [
        f'trigger {h.trigger!r} matched "{h.match}" in "{_quote(h.sentence)}"'
        for h in first.values()
    ]


def _category(values: tuple[Category, ...], ctx: _Context) -> list[str] | None:
    cat, confidence = ctx.signals.category, ctx.signals.category_confidence
    if cat not in values:
        return None
    detail = f" (confidence {confidence:.2f})" if confidence > 0 else ""
    return [f"category {cat.value}{detail}{_evidence(ctx, 'category')}"]


def _plan(values: tuple[str, ...], ctx: _Context) -> list[str] | None:
    account = ctx.ticket.account
    plan = (account.plan or "").lower() if account else ""
    return [f"plan {plan}"] if plan and plan in values else None


def _arr_at_least(limit: float, ctx: _Context) -> list[str] | None:
    account = ctx.ticket.account
    if account is None or account.arr is None or account.arr < limit:
        return None
    return [f"ARR {account.arr:,.0f} ≥ {limit:,.0f}"]


def _health_below(limit: float, ctx: _Context) -> list[str] | None:
    account = ctx.ticket.account
    if account is None or account.health is None or not account.health < limit:
        return None
    return [f"health {account.health:.2f} < {limit:g}"]


def _sentiment_below(limit: float, ctx: _Context) -> list[str] | None:
    score = ctx.signals.sentiment
    if not score < limit:
        return None
    worst = min(ctx.signals.message_sentiments, key=lambda m: m.score, default=None)
    quote = f' (most negative: "{_quote(worst.sentence)}")' if worst and worst.sentence else ""
    return [f"sentiment {score:+.2f} < {limit:+g}{quote}"]


def _frustrated(expected: bool, ctx: _Context) -> list[str] | None:
    if ctx.signals.frustrated is not expected:
        return None
    if expected:
        return ["customer is clearly frustrated" + _evidence(ctx, "tone", "frustration")]
    return ["customer is not frustrated"]


def _inquiry(expected: bool, ctx: _Context) -> list[str] | None:
    if ctx.signals.inquiry is not expected:
        return None
    if expected:
        return ["the customer only asks for information" + _evidence(ctx, "ask")]
    return ["the customer asks for action or reports a problem"]


def _confidence_at_least(limit: float, ctx: _Context) -> list[str] | None:
    confidence = ctx.signals.category_confidence
    if not confidence >= limit:
        return None
    return [f"category confidence {confidence:.2f} ≥ {limit:g}"]


def _engagement_declining(expected: bool, ctx: _Context) -> list[str] | None:
    signals = ctx.signals
    if signals.engagement_declining is not expected:
        return None
    if not expected:
        return ["product usage is not declining"]
    trend = signals.engagement_trend
    detail = f" (logins at {trend:.0%} of the previous 30 days)" if trend is not None else ""
    return [f"product usage is declining{detail}"]


def _renewal_within_days(days: int, ctx: _Context) -> list[str] | None:
    account = ctx.ticket.account
    renewal = account.renewal_date if account is not None else None
    if renewal is None:
        return None
    left = (renewal - ctx.now.date()).days
    if not 0 <= left <= days:
        return None
    return [f"renewal on {renewal.isoformat()}, in {left} days (≤ {days})"]


def _severity(values: tuple[str, ...], ctx: _Context) -> list[str] | None:
    severity = (ctx.signals.severity or "").lower()
    if severity not in values:
        return None
    return [f"severity {severity}{_evidence(ctx, 'severity')}"]


def _repeat_contacts(limit: int, ctx: _Context) -> list[str] | None:
    count = ctx.signals.repeat_contacts
    if count < limit:
        return None
    return [f"contact #{count} about the same unresolved issue (≥ {limit})"]


def _customer_count(ctx: _Context) -> int:
    return ctx.signals.customer_message_count or len(ctx.ticket.customer_messages)


def _customer_messages(limit: int, ctx: _Context) -> list[str] | None:
    count = _customer_count(ctx)
    return [f"{count} customer messages (≥ {limit})"] if count >= limit else None


def _customer_span(limit: Any, ctx: _Context) -> list[str] | None:
    times = [m.created_at for m in ctx.ticket.customer_messages]
    if len(times) < 2:
        return None
    span = max(times) - min(times)
    if span < limit:
        return None
    days = span.total_seconds() / 86400
    return [f"customer wrote {len(times)} times over {days:.1f} days without a fix"]


def _channel(values: tuple[Any, ...], ctx: _Context) -> list[str] | None:
    return [f"channel {ctx.ticket.channel.value}"] if ctx.ticket.channel in values else None


def _page(values: tuple[str, ...], ctx: _Context) -> list[str] | None:
    rule = ctx.signals.page_rule
    if rule is None or rule not in values:
        return None
    return [f"written from page {rule!r} ({ctx.ticket.page_url})"]


def _page_urgency(values: tuple[str, ...], ctx: _Context) -> list[str] | None:
    urgency = ctx.signals.page_urgency
    if urgency is None or urgency not in values:
        return None
    return [f"page urgency {urgency} ({ctx.ticket.page_url})"]


def _all(parts: tuple[Condition, ...], ctx: _Context) -> list[str] | None:
    reasons: list[str] = []
    for part in parts:
        found = _check(part, ctx)
        if found is None:
            return None
        reasons.extend(found)
    return reasons


def _any(parts: tuple[Condition, ...], ctx: _Context) -> list[str] | None:
    found = [r for r in (_check(p, ctx) for p in parts) if r is not None]
    return [reason for reasons in found for reason in reasons] if found else None


def _not(inner: Condition, ctx: _Context) -> list[str] | None:
    if _check(inner, ctx) is not None:
        return None
    if inner.kind == "trigger":
        return [f"no {' / '.join(inner.value)} trigger"]
    if isinstance(inner.value, bool):
        # "not inquiry: true" is "inquiry: false", and reads as what is true instead.
        return _CHECKS[inner.kind](not inner.value, ctx)
    return [f"not {inner.describe()}"]


_CHECKS: dict[str, _Check] = {
    "trigger": _trigger,
    "category": _category,
    "plan": _plan,
    "arr_at_least": _arr_at_least,
    "health_below": _health_below,
    "sentiment_below": _sentiment_below,
    "frustrated": _frustrated,
    "inquiry": _inquiry,
    "confidence_at_least": _confidence_at_least,
    "engagement_declining": _engagement_declining,
    "renewal_within_days": _renewal_within_days,
    "severity": _severity,
    "repeat_contacts_at_least": _repeat_contacts,
    "customer_messages_at_least": _customer_messages,
    "customer_messages_span_at_least": _customer_span,
    "channel": _channel,
    "page": _page,
    "page_urgency": _page_urgency,
    "all": _all,
    "any": _any,
    "not": _not,
}


# --- actions ------------------------------------------------------------------------------


def _actions(
    matrix: Matrix,
    decision: Decision,
    ctx: _Context,
    settings: TierSettings,
    previous_tier: Tier | None,
    connected: frozenset[str],
) -> tuple[Action, ...]:
    tier, ticket = decision.tier, ctx.ticket
    rose = previous_tier is None or tier > previous_tier
    tags = [tier_tag(tier), CATEGORY_TAG.format(category=decision.category.value)]
    tags += [t for t in settings.actions.tags if t not in tags]
    stale = {tier_tag(t) for t in Tier if t != tier}
    stale |= {t for o in Tier if o != tier for t in matrix.tier_settings(o).actions.tags}
    stale |= {CATEGORY_TAG.format(category=c.value) for c in Category} & set(ticket.tags)
    out = [
        _helpdesk(ActionKind.ADD_TAGS, tags=tags),
        _helpdesk(ActionKind.REMOVE_TAGS, tags=sorted(stale - set(tags))),
        _helpdesk(ActionKind.SET_PRIORITY, priority=decision.priority.value),
        _helpdesk(ActionKind.SET_FIELD, field="tier", value=int(tier)),
    ]
    if not rose:
        return tuple(out)
    # Group, note, acknowledgment and alerts only when the tier rises: re-scoring must not
    # undo an agent's reassignment or repeat what the customer and the team already got.
    if settings.actions.group and settings.actions.group != ticket.group:
        out.append(_helpdesk(ActionKind.ASSIGN, group=settings.actions.group))
    if settings.actions.note:
        note = _handoff_note(decision, ctx, settings, previous_tier)
        out.append(_helpdesk(ActionKind.INTERNAL_NOTE, body=note))
    channels = settings.actions.acknowledge_channels
    if settings.actions.acknowledge_text and (channels is None or ticket.channel in channels):
        reply = _acknowledgment(settings, decision, ctx)
        out.append(_helpdesk(ActionKind.PUBLIC_REPLY, body=reply))
    for target in settings.actions.alert:
        if target in connected:
            payload = _alert_payload(matrix, decision, ctx, settings, previous_tier)
            out.append(Action(kind=ActionKind.ALERT, target=target, payload=payload))
    return tuple(out)


def _helpdesk(kind: ActionKind, **payload: Any) -> Action:
    return Action(kind=kind, target="helpdesk", payload=payload)




def _handoff_note(
    decision: Decision, ctx: _Context, settings: TierSettings, previous_tier: Tier | None
) -> str:
    ticket, signals = ctx.ticket, ctx.signals
    was = f" (was tier {int(previous_tier)})" if previous_tier is not None else ""
    group = f", routed to {settings.actions.group}" if settings.actions.group else ""
    tone = ", frustrated" if signals.frustrated else ""
    lines = [
        f"Escalade: tier {int(decision.tier)}{was}{group}",
        f"Category: {decision.category.value} · sentiment {decision.sentiment:+.2f}{tone}",
    ]
    account = ticket.account
    if account is not None:
        facts = [account.name or account.id]
        facts += [f"plan {account.plan}"] if account.plan else []
        facts += [f"ARR {account.arr:,.0f}"] if account.arr is not None else []
        facts += [f"health {account.health:.2f}"] if account.health is not None else []
        facts += [f"owner {account.owner}"] if account.owner else []
        lines.append("Account: " + " · ".join(facts))
    if signals.repeat_contacts > 1:
        lines.append(f"Contact #{signals.repeat_contacts} about this issue")
    lines.append("Why:")
    lines += [f"- [{hit.rule_id}] {hit.reason}" for hit in decision.rules]
    lines += _handoff_lines(ctx.handoff)
    if decision.sla_due_at is not None:
        late = " (already overdue)" if decision.sla_due_at <= ctx.now else ""
        due = format_local(decision.sla_due_at, ctx.zone, long=True)
        lines.append(f"First response due: {due}{late}")
    lines.append(f"Matrix {decision.matrix_version}")
    return "\n".join(lines)


def _handoff_lines(handoff: Handoff | None) -> list[str]:
    # Only what was said or is on record: the summary is extractive, facts come from sources.
    if handoff is None:
        return []
    lines: list[str] = []
    if handoff.wants:
        lines.append(f'Customer asks: "{_quote(handoff.wants)}"')
    if handoff.customer_words and handoff.customer_words != handoff.wants:
        lines.append(f'In their words: "{_quote(handoff.customer_words)}"')
    if handoff.tried:
        lines.append("Already tried: " + "; ".join(f'"{_quote(t)}"' for t in handoff.tried))
    if handoff.bot_answered:
        lines.append("The bot answered: " + " / ".join(
            f'"{_quote(b)}"' for b in handoff.bot_answered))
    lines += [f"Account: {fact}" for fact in handoff.facts]
    if handoff.previous:
        lines.append("Previous tickets on this issue:")
        lines += [
            f"- #{p.id} {p.subject} ({p.status.value}, {p.created_at:%Y-%m-%d})"
            for p in handoff.previous
        ]
    return lines


def _acknowledgment(settings: TierSettings, decision: Decision, ctx: _Context) -> str:
    template = settings.actions.acknowledge_text or ""
    due = decision.sla_due_at
    first = settings.sla.first_response
    # Promising a time already past is not an honest expectation: count from now instead.
    if first is not None and (due is None or due <= ctx.now):
        due = add_business_time(ctx.now, first, settings.sla.calendar)
    fields = {
        "requester_name": ctx.ticket.requester.name or "there",
        "due": format_local(due, ctx.zone, long=True) if due is not None else "",
        "ticket_id": ctx.ticket.id,
        "subject": ctx.ticket.subject,
        "tier": str(int(decision.tier)),
    }
    return template.format_map(fields)


# What a trigger means for the account manager, said plainly (the headline of an alert),
# the gravest first: a customer who cancels and wants a refund is first of all cancelling.
_THREATS: dict[str, str] = {
    "churn": "threatens to cancel",
    "legal": "threatens legal action",
    "security": "reports a security incident",
    "outage": "reports an outage",
    "contract_dispute": "disputes the contract",
    "compliance": "makes a data-protection demand",
    "refund": "demands a refund",
}
_FIGURE = re.compile(r"\d|\"")
_METRICS = ("first_response", "next_response", "resolution")


def display_zone_key(matrix: Matrix) -> str:
    """The IANA name of the workspace's display zone, for alert payloads (``UTC`` if none)."""
    return _zone_key(matrix.display_zone)


def _zone_key(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone.tzname(None) or "UTC")


def _threat(ctx: _Context) -> str | None:
    """What the customer threatens or demands, in plain words with their own sentence."""
    hits = {h.trigger: h for h in reversed(ctx.signals.triggers)}  # each one's first match
    for trigger, said in _THREATS.items():
        hit = hits.get(trigger)
        if hit is None:
            continue
        account = ctx.ticket.account
        if hit.trigger == "churn" and account is not None and account.renewal_date:
            said += f" before the renewal on {account.renewal_date.isoformat()}"
        return f'{said}: "{_quote(hit.sentence)}"' if hit.sentence else said
    return None


def _why(matrix: Matrix, decision: Decision) -> tuple[list[str], list[str]]:
    """The rules in plain words, and the figures behind them (matches, scores) apart."""
    labels = {r.id: r.description for rules in matrix.rules.values() for r in rules
              if r.description}
    labels.update({b.id: b.description for b in matrix.bumps if b.description})
    why: list[str] = []
    evidence: list[str] = []
    for hit in decision.rules:
        label = labels.get(hit.rule_id)
        if label is None or not hit.reason.startswith(label):
            why.append(hit.reason)
            continue
        why.append(label)
        detail = hit.reason[len(label):].lstrip(" :")
        # A bump says "(tier 2 → 3): ..." after its label; the move is shown as the tier.
        detail = re.sub(r"^\(tier \d → \d\):?\s*", "", detail)
        # Matched words and scores; "no … trigger" and the like say nothing to act on.
        evidence += [part for part in detail.split("; ") if _FIGURE.search(part)]
    if not any(e.startswith("sentiment ") for e in evidence):
        evidence.append(f"sentiment {decision.sentiment:+.2f}")
    return why, list(dict.fromkeys(evidence))


def _alert_payload(
    matrix: Matrix,
    decision: Decision,
    ctx: _Context,
    settings: TierSettings,
    previous_tier: Tier | None,
) -> dict[str, Any]:
    ticket, handoff = ctx.ticket, ctx.handoff
    account = ticket.account
    extra: dict[str, Any] = {}
    if handoff is not None:
        extra = {
            "summary": handoff.summary,
            "ticket_url": handoff.ticket_url,
            "previous_tickets": [p.to_dict() for p in handoff.previous],
        }
    why, evidence = _why(matrix, decision)
    due = decision.sla_due_at
    return {
        **extra,
        "dedupe_key": f"{ticket.key}:tier_{int(decision.tier)}",
        "ticket_key": ticket.key,
        "ticket_id": ticket.id,
        "tenant": ticket.tenant,
        "helpdesk": ticket.helpdesk,
        "subject": ticket.subject,
        "requester": ticket.requester.to_dict(),
        "account": account.to_dict() if account is not None else None,
        "tier": int(decision.tier),
        "previous_tier": int(previous_tier) if previous_tier is not None else None,
        "priority": decision.priority.value,
        "category": decision.category.value,
        "sentiment": round(decision.sentiment, 3),
        "rules": [hit.rule_id for hit in decision.rules],
        "reasons": list(decision.reasons),
        "threat": _threat(ctx),
        "why": why,
        "evidence": evidence,
        "group": settings.actions.group,
        "sla_metric": "first_response" if due else None,
        "sla_due_at": format_time(due) if due else None,
        "sla_due_text": format_local(due, ctx.zone) if due else None,
        "display_zone": _zone_key(ctx.zone),
        "matrix_version": decision.matrix_version,
    }


def with_sla_due(
    matrix: Matrix, actions: tuple[Action, ...], clock: Mapping[str, Any]
) -> tuple[Action, ...]:
    """Alerts that name the SLA target the ticket's clock runs against (metric and due time).

    ``evaluate`` only knows the tier's first-response target; the clock (``clocks``) knows
    whether the first response was already given and the next response or the resolution is
    what is due.
    """
    running = [m for m in clock.get("metrics") or () if m.get("due_at") and not m.get("met_at")]
    if not running:
        return actions
    first = min(running, key=lambda m: str(m["due_at"]))
    metric = str(first.get("metric") or "first_response")
    due = parse_time(first["due_at"], "due_at")
    zone = matrix.display_zone
    out = []
    for action in actions:
        if action.kind is ActionKind.ALERT and "sla_due_at" in action.payload:
            payload = {**action.payload, "sla_metric": metric if metric in _METRICS else None,
                       "sla_due_at": format_time(due), "sla_due_text": format_local(due, zone)}
            action = replace(action, payload=payload)
        out.append(action)
    return tuple(out)


# A customer message quoted in Slack: enough to read it there, the rest is in the ticket.
_REPLY_LIMIT = 600
REPLY_KIND = "customer_reply"


def customer_replies(
    ticket: Ticket, previous: Mapping[str, Any] | None, alert_key: str | None
) -> tuple[Action, ...]:
    """Slack thread replies for customer messages new since ``previous`` (the stored ticket).

    Only a ticket whose escalation already has an alert message (``alert_key``) gets them.
    """
    if alert_key is None or previous is None:
        return ()
    seen = {str(m.get("id")) for m in previous.get("messages") or () if isinstance(m, Mapping)}
    out = []
    for message in ticket.customer_messages:
        if message.id in seen or not message.public or not message.body.strip():
            continue
        body = " ".join(message.body.split())
        if len(body) > _REPLY_LIMIT:
            body = body[: _REPLY_LIMIT - 1].rstrip() + "…"
        payload = {
            "kind": REPLY_KIND,
            "dedupe_key": alert_key,
            "ticket_key": ticket.key,
            "ticket_id": ticket.id,
            "message_id": message.id,
            "author": ticket.requester.name or ticket.requester.email or "The customer",
            "body": body,
            "at": format_time(message.created_at),
        }
        out.append(Action(kind=ActionKind.ALERT, target="slack", payload=payload))
    return tuple(out)
