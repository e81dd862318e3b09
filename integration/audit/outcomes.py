"""What happened to a past ticket: escalated or not and why, times, reopens, SLA, label.

In the normalized ticket these outcomes travel in ``custom`` under ``OUTCOME_KEYS``. A CSV
export carries most of them as columns (the importer fills them in); a ticket from the stored
history import has them in its raw parts, which ``with_outcomes`` reads:

- Zendesk ticket metric events (``custom["metric_events"]``): the first ``reply_time``
  fulfilment is the first reply, the last ``resolution_time`` fulfilment the resolution, each
  ``resolution_time`` activation after the first a reopen, and a ``breach`` event Zendesk did
  not withdraw (``deleted``) an SLA breach;
- Freshdesk ticket stats (``custom["stats"]``): ``first_responded_at``, ``resolved_at`` /
  ``closed_at``, ``reopened_at``;
- otherwise the messages: the first public agent reply, and ``updated_at`` of a solved ticket
  as an upper bound of its resolution.

Escalation and the agent's label come from where ``AuditSettings`` says. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from integration.audit.settings import AuditSettings, EscalationEvidence, LabelSource
from integration.errors import ValidationError
from integration.models import Author, Priority, Ticket, parse_time

__all__ = [
    "OUTCOME_KEYS",
    "Outcome",
    "field_value",
    "outcome_of",
    "with_outcomes",
]

OUTCOME_KEYS = (
    "escalated",
    "escalation_reason",
    "reassignments",
    "first_reply_minutes",
    "resolution_minutes",
    "sla_breached",
    "reopens",
    "agent_category",
    "hours_spent",
)
# Values of a field that mean "nothing here".
_EMPTY = frozenset({"", "-", "no", "false", "0", "none", "n/a", "na", "null"})
_YES = frozenset({"yes", "true", "1", "y", "x"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """The history's outcomes of one ticket; None where the history does not say."""

    escalated: bool = False
    escalation_reason: str | None = None
    reassignments: int | None = None
    first_reply_minutes: float | None = None
    resolution_minutes: float | None = None
    sla_breached: bool | None = None
    reopens: int | None = None
    agent_category: str | None = None
    hours_spent: float | None = None


def outcome_of(ticket: Ticket) -> Outcome:
    """Read the outcome keys of ``ticket.custom`` (as ``with_outcomes`` left them)."""
    custom = ticket.custom
    return Outcome(
        escalated=custom.get("escalated") is True,
        escalation_reason=_text(custom.get("escalation_reason")),
        reassignments=_int(custom.get("reassignments")),
        first_reply_minutes=_minutes(custom.get("first_reply_minutes")),
        resolution_minutes=_minutes(custom.get("resolution_minutes")),
        sla_breached=custom.get("sla_breached") if isinstance(custom.get("sla_breached"), bool)
        else None,
        reopens=_int(custom.get("reopens")),
        agent_category=_text(custom.get("agent_category")),
        hours_spent=_minutes(custom.get("hours_spent")),
    )


def with_outcomes(ticket: Ticket, settings: AuditSettings) -> Ticket:
    """``ticket`` with every outcome key in ``custom``; keys already there are kept."""
    custom = ticket.custom
    found: dict[str, Any] = {}
    if "escalated" not in custom:
        reason = escalation_reason(ticket, settings.escalation)
        found["escalated"] = reason is not None
        found["escalation_reason"] = reason
    if "agent_category" not in custom:
        found["agent_category"] = agent_label(ticket, settings.label)
    measured = _measured(ticket)
    for key, value in measured.items():
        if custom.get(key) is None and value is not None:
            found[key] = value
    if not found:
        return ticket
    return replace(ticket, custom={**custom, **found})


def field_value(ticket: Ticket, name: str) -> str | None:
    """A custom field's value by name (CSV exports) or id (API tickets), as text."""
    wanted = name.strip().lower()
    for key in ("fields", "custom_fields"):
        fields = ticket.custom.get(key)
        if not isinstance(fields, Mapping):
            continue
        for field_name, value in fields.items():
            if str(field_name).strip().lower() == wanted:
                return _field_text(value)
    return None


def agent_label(ticket: Ticket, source: LabelSource) -> str | None:
    """The agent's label as ``source`` says where it is; None when the ticket has none."""
    if source.kind == "field":
        value = field_value(ticket, source.name)
    elif source.kind == "tag":
        value = next((t[len(source.name):] for t in ticket.tags
                      if t.lower().startswith(source.name) and len(t) > len(source.name)), None)
    elif source.kind == "tags":
        wanted = set(source.values)
        value = next((t for t in ticket.tags if t.lower() in wanted), None)
    else:
        custom = ticket.custom
        value = next((_field_text(custom.get(k)) for k in ("zendesk_type", "freshdesk_type", "type")
                      if _field_text(custom.get(k))), None)
    if value is None or value.strip().lower() in _EMPTY:
        return None
    return value.strip().lower()


def escalation_reason(ticket: Ticket, evidence: EscalationEvidence) -> str | None:
    """The stated reason the ticket was escalated, or None when nothing says it was."""
    # The most specific evidence names the reason: a field's value, then a tag's suffix.
    if evidence.field:
        value = field_value(ticket, evidence.field)
        if value is not None and value.strip().lower() not in _EMPTY:
            return f"{evidence.field}: yes" if value.strip().lower() in _YES else value.strip()
    for tag in ticket.tags:
        lower = tag.lower()
        for prefix in evidence.tag_prefixes:
            if lower.startswith(prefix) and len(lower) > len(prefix):
                return tag[len(prefix):].replace("_", " ")
    exact = next((tag for tag in ticket.tags if tag.lower() in evidence.tags), None)
    if exact is not None:
        return f"tag {exact}"
    if evidence.groups and ticket.group and ticket.group.strip().lower() in evidence.groups:
        return f"moved to group {ticket.group}"
    if evidence.priority_raised:
        initial = _priority(ticket.custom.get("initial_priority"))
        if initial is not None and ticket.priority.rank > initial.rank:
            return f"priority raised from {initial.value} to {ticket.priority.value}"
    return None


def _measured(ticket: Ticket) -> dict[str, Any]:
    events = ticket.custom.get("metric_events")
    if isinstance(events, list) and events:
        return _from_metric_events(ticket, events)
    stats = ticket.custom.get("stats")
    if isinstance(stats, Mapping):
        return _from_stats(ticket, stats)
    return _from_messages(ticket)


def _from_metric_events(ticket: Ticket, events: list[Any]) -> dict[str, Any]:
    # https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metric_events/
    first_reply: datetime | None = None
    solved: datetime | None = None
    activations = 0
    sla_applied = False
    breached = False
    for event in events:
        if not isinstance(event, Mapping):
            continue
        metric, kind = event.get("metric"), event.get("type")
        at = _time(event.get("time"))
        if kind == "apply_sla":
            sla_applied = True
        elif kind == "breach" and not event.get("deleted"):
            breached = True
        if at is None:
            continue
        if metric == "reply_time" and kind == "fulfill" and first_reply is None:
            first_reply = at
        elif metric == "resolution_time" and kind == "fulfill":
            solved = at if solved is None or at > solved else solved
        elif metric == "resolution_time" and kind == "activate":
            activations += 1
    out = _from_messages(ticket)
    if first_reply is not None:
        out["first_reply_minutes"] = _since(ticket, first_reply)
    if solved is not None:
        out["resolution_minutes"] = _since(ticket, solved)
    out["reopens"] = max(0, activations - 1)
    out["sla_breached"] = True if breached else (False if sla_applied else None)
    return out


def _from_stats(ticket: Ticket, stats: Mapping[str, Any]) -> dict[str, Any]:
    # https://developers.freshdesk.com/api/#view_a_ticket (include=stats)
    out = _from_messages(ticket)
    first = _time(stats.get("first_responded_at"))
    done = _time(stats.get("resolved_at")) or _time(stats.get("closed_at"))
    if first is not None:
        out["first_reply_minutes"] = _since(ticket, first)
    if done is not None:
        out["resolution_minutes"] = _since(ticket, done)
    out["reopens"] = 1 if _time(stats.get("reopened_at")) is not None else 0
    return out


def _from_messages(ticket: Ticket) -> dict[str, Any]:
    out: dict[str, Any] = {}
    reply = next((m.created_at for m in ticket.messages
                  if m.author is Author.AGENT and m.public), None)
    if reply is not None:
        out["first_reply_minutes"] = _since(ticket, reply)
    if not ticket.status.is_open:
        # The last change of a solved ticket: its resolution or later, never earlier.
        out["resolution_minutes"] = _since(ticket, ticket.updated_at)
    return out


def _since(ticket: Ticket, at: datetime) -> float:
    return round(max(0.0, (at - ticket.created_at).total_seconds() / 60.0), 2)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str | datetime):
        return None
    try:
        return parse_time(value, "time")
    except ValidationError:
        return None


def _priority(value: Any) -> Priority | None:
    if not isinstance(value, str):
        return None
    try:
        return Priority(value.strip().lower())
    except ValueError:
        return None


def _field_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None if value is None else ("yes" if value else "no")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else None
    text = str(value).strip()
    return text or None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value >= 0 else None


def _minutes(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value >= 0 else None
