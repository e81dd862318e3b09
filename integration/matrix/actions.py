"""What a decision writes back: tags, priority, group, the handoff note, acknowledgment,
alerts and replies, rendered from the tier's settings. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any

from integration.calendars import add_business_time, format_local
from integration.matrix.conditions import Facts, quote, sharpest_drop
from integration.matrix.schema import Matrix, TierSettings
from integration.models import (
    Action,
    ActionKind,
    Category,
    Decision,
    Handoff,
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
    "decision_actions",
    "display_zone_key",
    "local_time",
    "tier_actions",
    "tier_tag",
    "with_sla_due",
]

TIER_TAG = "escalade_tier_{tier}"
CATEGORY_TAG = "escalade_{category}"


def tier_tag(tier: Tier | int) -> str:
    """The helpdesk tag that marks a ticket's tier, e.g. ``escalade_tier_3``."""
    return TIER_TAG.format(tier=int(tier))


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
    ctx = Facts(ticket=ticket, signals=signals, now=now, handoff=handoff,
                   zone=matrix.display_zone)
    settings = matrix.tier_settings(decision.tier)
    return decision_actions(matrix, decision, ctx, settings, previous_tier, connected)


def alert_payload(
    matrix: Matrix, decision: Decision, ticket: Ticket, previous_tier: Tier | None
) -> dict[str, Any]:
    """What an alert about ``decision`` carries (Slack, CRM, manager)."""
    settings = matrix.tier_settings(decision.tier)
    signals = Signals(category=decision.category, sentiment=decision.sentiment)
    ctx = Facts(ticket=ticket, signals=signals, now=ticket.updated_at,
                   zone=matrix.display_zone)
    return _alert_payload(matrix, decision, ctx, settings, previous_tier)


def local_time(matrix: Matrix, tier: Tier, value: datetime) -> str:
    """``value`` in the workspace's display zone, the way notes and replies print it.

    ``tier`` is kept for callers; every tier's times read in the same zone.
    """
    return format_local(value, matrix.display_zone, long=True)


def decision_actions(
    matrix: Matrix,
    decision: Decision,
    ctx: Facts,
    settings: TierSettings,
    previous_tier: Tier | None,
    connected: frozenset[str],
) -> tuple[Action, ...]:
    """The write-backs of ``decision`` at its tier, for the targets that are ``connected``."""
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
    decision: Decision, ctx: Facts, settings: TierSettings, previous_tier: Tier | None
) -> str:
    ticket, signals = ctx.ticket, ctx.signals
    was = f" (was tier {int(previous_tier)})" if previous_tier is not None else ""
    group = f", routed to {settings.actions.group}" if settings.actions.group else ""
    tone = ", frustrated" if signals.frustrated else ""
    if signals.sentiment_spike:
        tone += ", tone dropped sharply" + sharpest_drop(signals.message_sentiments)
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
    # Only what was said or is on record (facts come from sources); a summary a language model
    # wrote is shown only with its name.
    if handoff is None:
        return []
    lines: list[str] = []
    if handoff.summary_by and handoff.summary:
        lines.append(handoff.summary)  # says which language model wrote it
    if handoff.wants:
        lines.append(f'Customer asks: "{quote(handoff.wants)}"')
    if handoff.customer_words and handoff.customer_words != handoff.wants:
        lines.append(f'In their words: "{quote(handoff.customer_words)}"')
    if handoff.tried:
        lines.append("Already tried: " + "; ".join(f'"{quote(t)}"' for t in handoff.tried))
    if handoff.bot_answered:
        lines.append("The bot answered: " + " / ".join(
            f'"{quote(b)}"' for b in handoff.bot_answered))
    lines += [f"Account: {fact}" for fact in handoff.facts]
    if handoff.previous:
        lines.append("Previous tickets on this issue:")
        lines += [
            f"- #{p.id} {p.subject} ({p.status.value}, {p.created_at:%Y-%m-%d})"
            for p in handoff.previous
        ]
    return lines


def _acknowledgment(settings: TierSettings, decision: Decision, ctx: Facts) -> str:
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


def _threat(ctx: Facts) -> str | None:
    """What the customer threatens or demands, in plain words with their own sentence."""
    hits = {h.trigger: h for h in reversed(ctx.signals.triggers)}  # each one's first match
    for trigger, said in _THREATS.items():
        hit = hits.get(trigger)
        if hit is None:
            continue
        account = ctx.ticket.account
        if hit.trigger == "churn" and account is not None and account.renewal_date:
            said += f" before the renewal on {account.renewal_date.isoformat()}"
        return f'{said}: "{quote(hit.sentence)}"' if hit.sentence else said
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
    ctx: Facts,
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
