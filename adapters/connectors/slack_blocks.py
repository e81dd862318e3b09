"""Block Kit for Escalade's Slack alerts: pure functions from alert payloads to messages.

Nothing here does I/O. The alert payload is the one ``integration.matrix`` builds (see
``adapters.connectors.slack``); every optional key may be missing and is then left out.
The escalation's state (who acknowledged, owns or snoozed it, the last SLA event) is a plain
JSON dict stored with the message, changed only through :func:`apply_event`.

Slack limits honoured here (https://api.slack.com/reference/block-kit/blocks): header text
150 characters, section text 3000, field text 2000, 10 fields, 10 context elements, button
text 75 and value 2000.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from integration.errors import ValidationError
from integration.models import format_time, parse_time

__all__ = [
    "ACTION_IDS",
    "ACTION_NAMES",
    "SNOOZE",
    "UPDATE_KIND",
    "AlertEvent",
    "alert_blocks",
    "alert_text",
    "apply_event",
    "button_value",
    "escape",
    "event_note",
    "followup_blocks",
    "followup_text",
    "parse_button_value",
    "sla_status",
    "status_lines",
]

# Button action ids Escalade owns, by the name ``SlackAction.action`` carries.
ACTION_IDS: Mapping[str, str] = {
    "acknowledge": "escalade_acknowledge",
    "take_ownership": "escalade_take_ownership",
    "snooze": "escalade_snooze",
    "open_ticket": "escalade_open_ticket",
}
ACTION_NAMES: Mapping[str, str] = {v: k for k, v in ACTION_IDS.items()}
SNOOZE = timedelta(hours=1)
# ``payload["kind"]`` of an ALERT action that changes an existing message instead of alerting.
UPDATE_KIND = "slack_update"
EVENT_KINDS = ("acknowledged", "owned", "snoozed")
SLA_KINDS = ("sla_warning", "sla_breach")

_HEADER_MAX = 150
_TEXT_MAX = 3000
_FIELD_MAX = 2000
_FALLBACK_MAX = 3000
_CONTEXT_MAX = 10
_SEEN_EVENTS_MAX = 50


def escape(text: object) -> str:
    """Escape user text for mrkdwn: Slack reads only ``&``, ``<`` and ``>`` as control."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _hhmm(value: datetime) -> str:
    return f"{value.astimezone(UTC):%H:%M} UTC"


def _slack_date(iso: str) -> str:
    # <!date^...> shows the time in each reader's own time zone, with a UTC fallback.
    try:
        when = parse_time(iso, "sla_due_at")
    except ValidationError:
        return escape(iso)
    fallback = f"{when:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


# --- buttons ------------------------------------------------------------------------------


def button_value(dedupe_key: str, ticket_key: str | None) -> str:
    """What every alert button carries back: the escalation and its ticket."""
    value = json.dumps({"dedupe_key": dedupe_key, "ticket_key": ticket_key},
                       separators=(",", ":"))
    if len(value) > 2000:
        raise ValidationError("dedupe_key", "too long for a Slack button value (2000)")
    return value


def parse_button_value(value: str | None) -> tuple[str, str | None]:
    """``(dedupe_key, ticket_key)`` from a button value; a bare string is a dedupe key."""
    if not value:
        raise ValidationError("actions[0].value", "the button carries no escalation")
    try:
        data = json.loads(value)
    except ValueError:
        return value, None
    if not isinstance(data, dict) or not isinstance(data.get("dedupe_key"), str):
        raise ValidationError("actions[0].value", "expected {dedupe_key, ticket_key}")
    ticket_key = data.get("ticket_key")
    return data["dedupe_key"], ticket_key if isinstance(ticket_key, str) else None


def _button(name: str, label: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": ACTION_IDS[name],
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "value": value,
        **extra,
    }


def _buttons(payload: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    value = button_value(str(payload["dedupe_key"]), _opt_str(payload, "ticket_key"))
    elements = []
    if not state.get("acknowledged_by"):
        elements.append(_button("acknowledge", "Acknowledge", value))
    elements.append(_button("take_ownership", "Take ownership", value, style="primary"))
    elements.append(_button("snooze", "Snooze 1 h", value))
    url = _opt_str(payload, "ticket_url")
    extra = {"url": _clip(url, 3000)} if url else {}
    elements.append(_button("open_ticket", "Open ticket", value, **extra))
    return {"type": "actions", "block_id": "escalade_alert_actions", "elements": elements}


# --- the alert ----------------------------------------------------------------------------


def _opt_str(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return str(value) if value not in (None, "") else None


def _account(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    account = payload.get("account")
    return account if isinstance(account, Mapping) else {}


def _who(payload: Mapping[str, Any]) -> str | None:
    account = _account(payload)
    requester = payload.get("requester")
    if account.get("name"):
        return str(account["name"])
    if isinstance(requester, Mapping):
        return str(requester.get("name") or requester.get("email") or "") or None
    return None


def _title(payload: Mapping[str, Any]) -> str:
    kind = payload.get("kind")
    if kind == "sla_warning":
        what = "SLA warning"
    elif kind == "sla_breach":
        what = "SLA breach"
    elif payload.get("tier") is not None:
        what = f"Tier {payload['tier']} escalation"
    else:
        what = "Escalation"
    who = _who(payload)
    return f"{what} · {who}" if who else what


def alert_text(payload: Mapping[str, Any]) -> str:
    """The plain fallback text (notifications, screen readers) of an alert."""
    subject = _opt_str(payload, "subject")
    text = _title(payload) + (f": {subject}" if subject else "")
    return _clip(text, _FALLBACK_MAX)


def _health(value: Any) -> str:
    health = float(value)
    dot = ":red_circle:" if health < 0.4 else (
        ":large_yellow_circle:" if health < 0.7 else ":large_green_circle:")
    return f"{dot} {round(health * 100)}/100"


def _fields(payload: Mapping[str, Any], currency: str) -> list[dict[str, Any]]:
    account = _account(payload)
    pairs: list[tuple[str, str]] = []
    if account.get("name") or account.get("domain"):
        name = escape(account.get("name") or account.get("domain"))
        domain = f" ({escape(account['domain'])})" if account.get("name") and account.get(
            "domain") else ""
        pairs.append(("Account", name + domain))
    if isinstance(account.get("arr"), int | float):
        pairs.append(("ARR", f"{escape(currency)}{account['arr']:,.0f}"))
    if isinstance(account.get("health"), int | float):
        pairs.append(("Health", _health(account["health"])))
    if payload.get("tier") is not None:
        was = payload.get("previous_tier")
        tier = f"Tier {escape(payload['tier'])}" + (f" (was {escape(was)})" if was else "")
        pairs.append(("Tier", tier))
    if payload.get("priority"):
        pairs.append(("Priority", escape(payload["priority"])))
    if payload.get("category"):
        pairs.append(("Category", escape(str(payload["category"]).replace("_", " "))))
    if account.get("plan"):
        pairs.append(("Plan", escape(account["plan"])))
    if account.get("owner"):
        pairs.append(("Account owner", escape(account["owner"])))
    due = _opt_str(payload, "sla_due_at") or _opt_str(payload, "due_at")
    if due:
        pairs.append(("SLA due", _slack_date(due)))
    if payload.get("group"):
        pairs.append(("Group", escape(payload["group"])))
    return [{"type": "mrkdwn", "text": _clip(f"*{k}*\n{v}", _FIELD_MAX)} for k, v in pairs[:10]]


def _headline(payload: Mapping[str, Any]) -> str:
    subject = escape(payload.get("subject") or "(no subject)")
    ticket_id = _opt_str(payload, "ticket_id")
    label = f"#{escape(ticket_id)} {subject}" if ticket_id else subject
    url = _opt_str(payload, "ticket_url")
    line = f"*<{url}|{label}>*" if url else f"*{label}*"
    details = []
    requester = payload.get("requester")
    if isinstance(requester, Mapping) and (requester.get("name") or requester.get("email")):
        name, email = requester.get("name"), requester.get("email")
        details.append(f"from {escape(name)} ({escape(email)})" if name and email
                       else f"from {escape(name or email)}")
    if isinstance(payload.get("sentiment"), int | float):
        details.append(f"sentiment {payload['sentiment']:+.2f}")
    if details:
        line += "\n" + " · ".join(details)
    return line


def _reasons(payload: Mapping[str, Any]) -> str | None:
    reasons = [str(r) for r in payload.get("reasons") or () if r]
    if not reasons and payload.get("text"):
        reasons = [str(payload["text"])]
    if not reasons:
        return None
    return "*Why*\n" + "\n".join(f"• {escape(r)}" for r in reasons)


def _previous(payload: Mapping[str, Any]) -> str | None:
    items = [p for p in payload.get("previous_tickets") or () if isinstance(p, Mapping)]
    if not items:
        return None
    parts = []
    for item in items[:5]:
        bits = [escape(item.get("status") or ""), escape(str(item.get("created_at") or "")[:10])]
        meta = ", ".join(b for b in bits if b)
        parts.append(f"#{escape(item.get('id', '?'))} {escape(item.get('subject') or '')}"
                     + (f" ({meta})" if meta else ""))
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return "Previous tickets: " + " · ".join(parts) + more


def alert_blocks(
    payload: Mapping[str, Any],
    state: Mapping[str, Any] | None = None,
    *,
    now: datetime,
    currency: str = "$",
) -> list[dict[str, Any]]:
    """The alert message: account facts, reasons, summary, status lines and four buttons."""
    state = state or {}
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": _clip(_title(payload), _HEADER_MAX),
                  "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(_headline(payload),
                                                                     _TEXT_MAX)}},
    ]
    fields = _fields(payload, currency)
    if fields:
        blocks.append({"type": "section", "fields": fields})
    for text in (_reasons(payload), _summary(payload)):
        if text:
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": _clip(text, _TEXT_MAX)}})
    previous = _previous(payload)
    if previous:
        blocks.append(_context([previous]))
    lines = status_lines(state, now=now)
    if lines:
        blocks.append(_context(lines))
    blocks.append(_buttons(payload, state))
    return blocks


def _summary(payload: Mapping[str, Any]) -> str | None:
    summary = _opt_str(payload, "summary")
    if not summary:
        return None
    quoted = "\n".join(f">{escape(line)}" for line in summary.splitlines() if line.strip())
    return f"*Summary*\n{quoted}"


def _context(lines: Sequence[str]) -> dict[str, Any]:
    elements = [{"type": "mrkdwn", "text": _clip(line, _TEXT_MAX)}
                for line in lines[:_CONTEXT_MAX]]
    return {"type": "context", "elements": elements}


# --- follow-ups in the thread -------------------------------------------------------------


def followup_text(payload: Mapping[str, Any], *, mention: str | None = None) -> str:
    """A threaded reply for a later alert on the same escalation (SLA event or re-alert)."""
    kind = payload.get("kind")
    if kind == "sla_warning":
        label = str(payload.get("metric") or "response").replace("_", " ")
        due = _opt_str(payload, "due_at") or _opt_str(payload, "sla_due_at")
        text = f":hourglass_flowing_sand: SLA warning: {escape(label)}"
        text += f" is due {_slack_date(due)}." if due else " is due soon."
    elif kind == "sla_breach":
        reasons = [str(r) for r in payload.get("reasons") or () if r]
        text = ":red_circle: " + (escape(reasons[0]) if reasons else "SLA breached.")
    else:
        tier = payload.get("tier")
        text = f":repeat: Still tier {escape(tier)}." if tier is not None else ":repeat: Re-alert."
        reasons = [str(r) for r in payload.get("reasons") or () if r]
        if reasons:
            text += "\n" + "\n".join(f"• {escape(r)}" for r in reasons)
    if mention:
        text += f" cc <@{mention}>"
    return _clip(text, _TEXT_MAX)


def followup_blocks(text: str) -> list[dict[str, Any]]:
    """A one-section message for ``text`` (mrkdwn)."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, _TEXT_MAX)}}]


def sla_status(payload: Mapping[str, Any], *, at: datetime) -> dict[str, Any]:
    """The ``state["sla"]`` entry a follow-up leaves on the parent message."""
    return {"kind": payload.get("kind"), "text": followup_text(payload), "at": format_time(at)}


# --- who did what -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertEvent:
    """Someone acted on an alert in Slack: ``acknowledged``, ``owned`` or ``snoozed``."""

    kind: str
    user_id: str
    at: datetime
    agent_id: str | None = None
    until: datetime | None = None
    error: str | None = None
    event_id: str | None = None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], *, now: datetime) -> AlertEvent:
        """Read a ``slack_update`` payload, naming the bad field."""
        kind = payload.get("event")
        if kind not in EVENT_KINDS:
            raise ValidationError("event", f"expected one of {', '.join(EVENT_KINDS)}")
        user_id = payload.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise ValidationError("user_id", "the Slack user who acted is required")
        at = parse_time(payload["at"], "at") if payload.get("at") else now
        until = parse_time(payload["until"], "until") if payload.get("until") else None
        if kind == "snoozed" and until is None:
            until = at + SNOOZE
        agent = payload.get("agent_id")
        return cls(
            kind=kind, user_id=user_id, at=at, until=until,
            agent_id=str(agent) if agent not in (None, "") else None,
            error=_opt_str(payload, "error"), event_id=_opt_str(payload, "event_id"),
        )


def apply_event(state: Mapping[str, Any], event: AlertEvent) -> dict[str, Any]:
    """The escalation state after ``event`` (a failed ownership changes nothing but history)."""
    out = dict(state)
    at = format_time(event.at)
    if event.error is None:
        if event.kind == "acknowledged":
            out.update(acknowledged_by=event.user_id, acknowledged_at=at)
        elif event.kind == "owned":
            out.update(owned_by=event.user_id, owned_at=at, agent_id=event.agent_id)
            out.setdefault("acknowledged_by", event.user_id)
            out.setdefault("acknowledged_at", at)
        elif event.kind == "snoozed" and event.until is not None:
            out.update(snoozed_by=event.user_id, snooze_until=format_time(event.until))
    if event.event_id:
        seen = [*out.get("events", ()), event.event_id]
        out["events"] = seen[-_SEEN_EVENTS_MAX:]
    return out


def status_lines(state: Mapping[str, Any], *, now: datetime) -> list[str]:
    """One context line per fact: acknowledged, owned, snoozed (while it lasts), SLA."""
    lines = []
    if state.get("acknowledged_by") and state.get("owned_by") != state["acknowledged_by"]:
        at = state.get("acknowledged_at")
        when = f" at {_hhmm(parse_time(at, 'acknowledged_at'))}" if at else ""
        lines.append(f":white_check_mark: acknowledged by <@{state['acknowledged_by']}>{when}")
    if state.get("owned_by"):
        agent = state.get("agent_id")
        where = f" (assigned to agent {escape(agent)} in the helpdesk)" if agent else ""
        lines.append(f":bust_in_silhouette: owned by <@{state['owned_by']}>{where}")
    until = state.get("snooze_until")
    if until and parse_time(until, "snooze_until") > now:
        lines.append(f":zzz: snoozed until {_hhmm(parse_time(until, 'snooze_until'))} "
                     f"by <@{state.get('snoozed_by')}>")
    sla = state.get("sla")
    if isinstance(sla, Mapping) and sla.get("text"):
        lines.append(str(sla["text"]))
    return lines


def event_note(event: AlertEvent) -> str:
    """The threaded note that records ``event`` under the alert."""
    who = f"<@{event.user_id}>"
    if event.error is not None:
        return f":warning: {who} could not {_VERB[event.kind]}: {escape(event.error)}"
    if event.kind == "acknowledged":
        return f":white_check_mark: {who} acknowledged this escalation."
    if event.kind == "owned":
        where = (f"; the ticket is assigned to agent {escape(event.agent_id)} in the helpdesk"
                 if event.agent_id else "")
        return f":bust_in_silhouette: {who} took ownership{where}."
    until = _hhmm(event.until) if event.until else "later"
    return f":zzz: {who} snoozed this alert until {until}; follow-ups stay in this thread."


_VERB = {"acknowledged": "acknowledge", "owned": "take ownership", "snoozed": "snooze"}
