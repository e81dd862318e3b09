"""An agent sets the tier by hand: recorded with the ticket and written back.

``validate_override`` reads the form (every bad field named at once); ``apply_override`` does,
in the caller's transaction: the ``tier_overrides`` row, a decision citing the rule
``agent_override`` (cause ``agent_override``), the ticket row's new tier, priority and SLA
clock, and the outbox rows that write the tier back to the helpdesk. Nothing is sent from here:
write-backs go only through the outbox.

What an override writes back: the tier's tags (and removal of the other tiers'), its priority
and the tier field, plus an internal note saying who changed it and why. Raising the tier also
routes to the tier's group with the handoff note and alerts the connected channels, as a
rising decision does; lowering it never alerts. No override writes to the customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from integration import outbox, store
from integration.clocks import clock_for, next_step, timeline_json
from integration.errors import ValidationError
from integration.matrix import Matrix
from integration.matrix.evaluate import tier_actions
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
from integration.store.people import add_override
from sidebar_ui.sidebar_view import OVERRIDE_RULE

__all__ = [
    "MAX_REASON",
    "OverrideRequest",
    "OverrideResult",
    "apply_override",
    "validate_override",
]

MAX_REASON = 2000


@dataclass(frozen=True, kw_only=True, slots=True)
class OverrideRequest:
    """A valid override: the tier the agent wants and why."""

    tier: Tier
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class OverrideResult:
    """What an override wrote."""

    override_id: int
    decision_id: int
    from_tier: int | None
    to_tier: int
    outbox_ids: tuple[int, ...]


def validate_override(
    form: Mapping[str, Any], *, current_tier: int | None
) -> tuple[OverrideRequest | None, dict[str, str]]:
    """The request, or the errors by field (``tier``, ``reason``) to show next to each."""
    errors: dict[str, str] = {}
    raw_tier = str(form.get("tier") or "").strip()
    tier: Tier | None = None
    if not raw_tier:
        errors["tier"] = "Choose the tier this ticket should have."
    else:
        try:
            tier = Tier(int(raw_tier))
        except ValueError:
            errors["tier"] = "The tier must be 1, 2 or 3."
    if tier is not None and current_tier is not None and int(tier) == current_tier:
        errors["tier"] = f"The ticket is already tier {current_tier}."
    reason = " ".join(str(form.get("reason") or "").split())
    if not reason:
        errors["reason"] = ("Say why the tier is wrong: it is kept with the ticket for whoever "
                            "tunes the rules.")
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Keep the reason under {MAX_REASON} characters."
    if errors or tier is None:
        return None, errors
    return OverrideRequest(tier=tier, reason=reason), {}


def try_override(
    s: Session,
    values: Mapping[str, Any],
    *,
    runtime: Any,
    tenant: store.TenantRow,
    ticket: store.TicketRow,
    agent: str | None,
    now: datetime,
) -> tuple[OverrideResult | None, dict[str, str]]:
    """Validate and apply an override from a form; on a refusal nothing stays in ``s``."""
    parsed, errors = validate_override(values, current_tier=ticket.tier)
    if parsed is None:
        return None, errors
    try:
        return apply_override(
            s, tenant=tenant, ticket=ticket, request=parsed, agent=agent,
            matrix=runtime.matrix_for(tenant), now=now,
            connected=runtime.connected_targets(tenant),
        ), {}
    except ValidationError as err:
        # Whatever was flushed before the refusal must not be committed.
        s.rollback()
        return None, {err.field: err.message}


def apply_override(
    s: Session,
    *,
    tenant: store.TenantRow,
    ticket: store.TicketRow,
    request: OverrideRequest,
    agent: str | None,
    matrix: Matrix,
    now: datetime,
    connected: frozenset[str] = frozenset(),
) -> OverrideResult:
    """Record the override and queue its write-back, all in ``s``'s transaction."""
    if ticket.tenant_id != tenant.id:
        raise ValidationError("ticket", "belongs to another tenant")
    from_tier = ticket.tier
    if from_tier == int(request.tier):
        raise ValidationError("tier", f"the ticket is already tier {from_tier}")
    model = Ticket.from_dict(ticket.data)
    latest = store.decisions_for_ticket(s, ticket.id, limit=10)
    signals_json = next((d.signals for d in latest if d.signals), {}) or {}
    handoff_json = next((d.handoff for d in latest if d.handoff), None)
    previous = Tier(from_tier) if from_tier is not None and from_tier in (1, 2, 3) else None
    rose = previous is None or request.tier > previous
    who = agent or "an agent"

    settings = matrix.tier_settings(request.tier)
    priority = settings.actions.priority or _priority(ticket.priority, model.priority)
    category = _category(ticket.category or signals_json.get("category"))
    decision = Decision(
        ticket_id=model.id,
        tier=request.tier,
        priority=priority,
        category=category,
        sentiment=float(signals_json.get("sentiment") or 0.0),
        triggers=tuple(dict.fromkeys(
            str(h.get("trigger")) for h in signals_json.get("triggers") or ())),
        rules=(RuleHit(rule_id=OVERRIDE_RULE,
                       reason=f"Agent {who} set tier {int(request.tier)}: {request.reason}"),),
        matrix_version=matrix.version,
        route=Route(group=settings.actions.group if rose else None,
                    reason=f"tier {int(request.tier)}: {OVERRIDE_RULE}"),
    )
    handoff = _handoff(handoff_json)
    actions = tier_actions(
        matrix, decision, model, _signals(signals_json, category), now=now,
        previous_tier=previous, connected=connected if rose else frozenset(), handoff=handoff,
    )
    # The agent is in the ticket and writes to the customer themselves.
    actions = tuple(a for a in actions if a.kind is not ActionKind.PUBLIC_REPLY)
    if not any(a.kind is ActionKind.INTERNAL_NOTE for a in actions):
        was = f"from {from_tier} " if from_tier is not None else ""
        note = (f"Escalade: {who} changed the tier {was}to {int(request.tier)}: "
                f"\u201c{request.reason}\u201d. Recorded with the ticket.")
        actions += (Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk",
                           payload={"body": note}),)

    timeline = timeline_json(ticket.timeline, model, request.tier, at=now)
    clock = clock_for(matrix, model, timeline, now=now)
    state, next_at = next_step(clock, previous_state=ticket.sla_state,
                               previous_due=ticket.sla_due_at)
    store.save_sla(s, ticket, state=state.value, due_at=clock.due_at, warn_at=clock.warn_at,
                   next_at=next_at, clock=clock.to_dict(), timeline=timeline)
    ticket.tier = int(request.tier)
    ticket.priority = priority.value
    decision_row = store.add_decision(
        s, tenant_id=tenant.id, ticket_id=ticket.id,
        decision=replace(decision, sla_due_at=clock.due_at),
        decided_at=now, previous_tier=from_tier, signals=signals_json,
        cause=OVERRIDE_RULE, handoff=handoff,
    )
    override = add_override(
        s, tenant_id=tenant.id, ticket_id=ticket.id, from_tier=from_tier,
        to_tier=int(request.tier), reason=request.reason, agent=agent, now=now,
        decision_id=decision_row.id,
    )
    outbox_ids = []
    for target, group in outbox.by_target(actions).items():
        row = outbox.enqueue(
            s, tenant_id=tenant.id, target=target, ticket_external_id=ticket.external_id,
            actions=group, idempotency_key=f"{tenant.slug}:override:{override.id}:{target}",
            decision_id=decision_row.id, ticket_id=ticket.id, now=now,
        )
        if row is not None:
            outbox_ids.append(row.id)
    return OverrideResult(override_id=override.id, decision_id=decision_row.id,
                          from_tier=from_tier, to_tier=int(request.tier),
                          outbox_ids=tuple(outbox_ids))


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


def _handoff(raw: Mapping[str, Any] | None) -> Handoff | None:
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

