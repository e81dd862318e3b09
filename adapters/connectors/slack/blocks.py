"""Block Kit for Escalade's Slack alerts: pure functions from alert payloads to messages.

Nothing here does I/O. The alert payload is the one ``integration.matrix`` builds (see
``adapters.connectors.slack``); every optional key may be missing and is then left out.
The escalation's state (who acknowledged, owns or snoozed it, the last SLA event) is a plain
JSON dict stored with the message, changed only through :func:`apply_event`.

Three layouts: a ticket's escalation (:func:`alert_blocks`), an emerging incident — a spike
of one bug across accounts (:func:`incident_blocks`) — and the channel's summary of alerts
held back by the rate limit (:func:`held_summary_blocks`).

Every time shown is ``integration.calendars.format_local`` in the workspace's display zone
(``display_zone`` in the payload), the one rule notes and replies use too.

Slack limits honoured here (https://api.slack.com/reference/block-kit/blocks): header text
150 characters, section text 3000, field text 2000, 10 fields, 10 context elements, button
text 75 and value 2000, 50 blocks per message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.connectors.slack.markup import (
    ACTION_IDS,
    ACTION_NAMES,
    button_value,
    escape,
    parse_button_value,
)
from integration.calendars import format_local
from integration.errors import ValidationError
from integration.models import format_time, parse_time

__all__ = [
    "ACTION_IDS",
    "ACTION_NAMES",
    "BUG_KIND",
    "INCIDENT_KIND",
    "NOTE_KINDS",
    "REPLY_KIND",
    "SNOOZE",
    "UPDATE_KIND",
    "AlertEvent",
    "alert_blocks",
    "alert_text",
    "already_note",
    "apply_event",
    "button_value",
    "escape",
    "event_note",
    "followup_blocks",
    "followup_text",
    "held_summary_blocks",
    "held_summary_text",
    "incident_blocks",
    "parse_button_value",
    "remember",
    "sla_status",
    "status_lines",
    "zone_of",
]

SNOOZE = timedelta(hours=1)
# ``payload["kind"]`` of an ALERT action that changes an existing message instead of alerting.
UPDATE_KIND = "slack_update"
# A spike of one bug across accounts (``integration.bugs.service``).
INCIDENT_KIND = "emerging_incident"
# A later customer message on an escalated ticket, for the alert's thread.
REPLY_KIND = "customer_reply"
# The bug a tracker now tracks the ticket (or incident) under (``tracker_issue``).
BUG_KIND = "bug_linked"
# Kinds that add a note to an existing message and never open one.
NOTE_KINDS = (REPLY_KIND, BUG_KIND)
EVENT_KINDS = ("acknowledged", "owned", "snoozed")
SLA_KINDS = ("sla_warning", "sla_breach")
_METRIC_LABELS = {"first_response": "First response due", "next_response": "Next response due",
                  "resolution": "Resolution due"}

_HEADER_MAX = 150
_TEXT_MAX = 3000
_FIELD_MAX = 2000
_FALLBACK_MAX = 3000
_CONTEXT_MAX = 10
_SEEN_EVENTS_MAX = 50
_HELD_LINES_MAX = 30


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def zone_of(payload: Mapping[str, Any]) -> tzinfo:
    """The workspace's display zone the payload names (UTC when it names none it knows)."""
    key = payload.get("display_zone")
    if not isinstance(key, str) or not key or key == "UTC":
        return UTC
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _local(value: datetime, payload: Mapping[str, Any]) -> str:
    return format_local(value, zone_of(payload))


def _when(iso: Any, payload: Mapping[str, Any], field: str) -> str | None:
    if not iso:
        return None
    try:
        return _local(parse_time(iso, field), payload)
    except ValidationError:
        return escape(iso)


def _link(url: str | None, label: str) -> str:
    if url and url.startswith(("https://", "http://")):
        return f"<{url}|{label}>"
    return label


# --- buttons ------------------------------------------------------------------------------


def _button(name: str, label: str, value: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": ACTION_IDS[name],
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "value": value,
        **extra,
    }


def _url(payload: Mapping[str, Any], key: str) -> dict[str, Any]:
    url = _opt_str(payload, key)
    return {"url": _clip(url, 3000)} if url and url.startswith(("https://", "http://")) else {}


def _buttons(payload: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    value = button_value(str(payload["dedupe_key"]), _opt_str(payload, "ticket_key"))
    elements = []
    if not state.get("acknowledged_by"):
        elements.append(_button("acknowledge", "Acknowledge", value))
    if not state.get("owned_by"):
        elements.append(_button("take_ownership", "Take ownership", value, style="primary"))
    elements.append(_button("snooze", "Snooze 1 h", value))
    elements.append(_button("open_ticket", "Open ticket", value, **_url(payload, "ticket_url")))
    return {"type": "actions", "block_id": "escalade_alert_actions", "elements": elements}


# --- the escalation -----------------------------------------------------------------------


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
    elif kind == INCIDENT_KIND:
        return f"Emerging incident: {payload.get('title') or payload.get('subject') or 'bug'}"
    elif kind == "account_at_risk":
        from adapters.connectors.slack.account_blocks import account_title

        return account_title(payload)
    elif payload.get("tier") is not None:
        what = f"Tier {payload['tier']} escalation"
    else:
        what = "Escalation"
    who = _who(payload)
    return f"{what} · {who}" if who else what


def alert_text(payload: Mapping[str, Any]) -> str:
    """The plain fallback text (notifications, screen readers) of an alert."""
    from adapters.connectors.slack.digest_blocks import DIGEST_KIND, digest_text

    if payload.get("kind") == DIGEST_KIND:
        return _clip(digest_text(payload), _FALLBACK_MAX)
    subject = _opt_str(payload, "subject")
    text = _title(payload)
    if payload.get("kind") != INCIDENT_KIND and subject:
        text += f": {subject}"
    threat = _opt_str(payload, "threat")
    if threat:
        text += f" — {_requester_name(payload)} {threat}"
    return _clip(text, _FALLBACK_MAX)


def _health(value: Any) -> str:
    health = float(value)
    dot = ":red_circle:" if health < 0.4 else (
        ":large_yellow_circle:" if health < 0.7 else ":large_green_circle:")
    return f"{dot} {round(health * 100)}/100"


def _renewal(value: Any, now: datetime) -> str | None:
    try:
        when = date.fromisoformat(str(value))
    except ValueError:
        return None
    days = (when - now.date()).days
    if days > 0:
        left = f"in {days} day{'s' if days != 1 else ''}"
    elif days == 0:
        left = "today"
    else:
        left = f"{-days} day{'s' if days != -1 else ''} ago"
    return f"{when:%a} {when.day} {when:%b %Y} ({left})"


def _owner(payload: Mapping[str, Any]) -> str | None:
    slack_user = _opt_str(payload, "account_owner_slack")
    if slack_user:
        return f"<@{slack_user}>"
    owner = _account(payload).get("owner")
    return escape(owner) if owner else None


def _sla_due(payload: Mapping[str, Any], now: datetime) -> tuple[str, str] | None:
    due = _opt_str(payload, "sla_due_at") or _opt_str(payload, "due_at")
    if not due:
        return None
    label = _METRIC_LABELS.get(str(payload.get("sla_metric") or payload.get("metric")),
                               "SLA due")
    try:
        when = parse_time(due, "sla_due_at")
    except ValidationError:
        return label, escape(due)
    text = _local(when, payload)
    if when <= now:
        text += " · *overdue*"
    return label, text


def _tracker(payload: Mapping[str, Any]) -> str | None:
    issue = payload.get("tracker_issue")
    if not isinstance(issue, Mapping) or not issue.get("key"):
        return None
    return _link(_opt_str(issue, "url"), escape(issue["key"]))


def _fields(payload: Mapping[str, Any], currency: str, now: datetime) -> list[dict[str, Any]]:
    # Most useful first: Slack shows at most 10, the rest is in the ticket.
    account = _account(payload)
    pairs: list[tuple[str, str]] = []
    if account.get("name") or account.get("domain"):
        name = escape(account.get("name") or account.get("domain"))
        domain = f" ({escape(account['domain'])})" if account.get("name") and account.get(
            "domain") else ""
        pairs.append(("Account", name + domain))
    if isinstance(account.get("arr"), int | float):
        pairs.append(("ARR", f"{escape(currency)}{account['arr']:,.0f}"))
    renewal = _renewal(account["renewal_date"], now) if account.get("renewal_date") else None
    if renewal:
        pairs.append(("Renewal", renewal))
    owner = _owner(payload)
    if owner:
        pairs.append(("Account owner", owner))
    due = _sla_due(payload, now)
    if due:
        pairs.append(due)
    if payload.get("tier") is not None:
        was = payload.get("previous_tier")
        tier = f"Tier {escape(payload['tier'])}" + (f" (was {escape(was)})" if was else "")
        pairs.append(("Tier", tier))
    tracker = _tracker(payload)
    if tracker:
        pairs.append(("Bug", tracker))
    if isinstance(account.get("health"), int | float):
        pairs.append(("Health", _health(account["health"])))
    if account.get("plan"):
        pairs.append(("Plan", escape(account["plan"])))
    if payload.get("priority"):
        pairs.append(("Priority", escape(payload["priority"])))
    if payload.get("category"):
        pairs.append(("Category", escape(str(payload["category"]).replace("_", " "))))
    return [{"type": "mrkdwn", "text": _clip(f"*{k}*\n{v}", _FIELD_MAX)} for k, v in pairs[:10]]


def _requester_name(payload: Mapping[str, Any]) -> str:
    requester = payload.get("requester")
    if isinstance(requester, Mapping):
        return str(requester.get("name") or requester.get("email") or "The customer")
    return "The customer"


def _headline(payload: Mapping[str, Any]) -> str:
    subject = escape(payload.get("subject") or "(no subject)")
    ticket_id = _opt_str(payload, "ticket_id")
    label = f"#{escape(ticket_id)} {subject}" if ticket_id else subject
    line = f"*{_link(_opt_str(payload, 'ticket_url'), label)}*"
    requester = payload.get("requester")
    if isinstance(requester, Mapping) and (requester.get("name") or requester.get("email")):
        name, email = requester.get("name"), requester.get("email")
        line += (f"\nfrom {escape(name)} ({escape(email)})" if name and email
                 else f"\nfrom {escape(name or email)}")
    threat = _opt_str(payload, "threat")
    if threat:
        line += f"\n:warning: *{escape(_requester_name(payload))} {escape(threat)}*"
    return line


def _reasons(payload: Mapping[str, Any]) -> str | None:
    # Plain words first ("Refund demand"); the matched words and scores go to the evidence.
    reasons = [str(r) for r in payload.get("why") or payload.get("reasons") or () if r]
    if not reasons and payload.get("text"):
        reasons = [str(payload["text"])]
    if not reasons:
        return None
    return "*Why*\n" + "\n".join(f"• {escape(r)}" for r in dict.fromkeys(reasons))


def _evidence(payload: Mapping[str, Any]) -> str | None:
    items = [str(e) for e in payload.get("evidence") or () if e]
    if not items:
        return None
    return "Evidence: " + " · ".join(escape(e) for e in items)


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
    """The message for ``payload``: an incident's own layout, else the ticket's escalation."""
    state = state or {}
    if payload.get("kind") == INCIDENT_KIND:
        return incident_blocks(payload, state, now=now, currency=currency)
    from adapters.connectors.slack import account_blocks as risk  # it builds on this module

    if payload.get("kind") == risk.ACCOUNT_KIND:
        return risk.account_blocks(payload, currency=currency)
    from adapters.connectors.slack import digest_blocks as digest  # it builds on markup only

    if payload.get("kind") == digest.DIGEST_KIND:
        return digest.digest_blocks(payload, currency=currency)
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": _clip(_title(payload), _HEADER_MAX),
                  "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(_headline(payload),
                                                                     _TEXT_MAX)}},
    ]
    fields = _fields(payload, currency, now)
    if fields:
        blocks.append({"type": "section", "fields": fields})
    for text in (_reasons(payload), _summary(payload)):
        if text:
            blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                       "text": _clip(text, _TEXT_MAX)}})
    notes = [n for n in (_evidence(payload), _previous(payload)) if n]
    if notes:
        blocks.append(_context(notes))
    lines = status_lines(state, now=now, zone=zone_of(payload))
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


# --- an emerging incident -----------------------------------------------------------------


def _incident_fields(payload: Mapping[str, Any], currency: str) -> list[dict[str, Any]]:
    accounts = [a for a in payload.get("accounts") or () if isinstance(a, Mapping)]
    names = [escape(a.get("name") or "?") for a in accounts]
    # A large group's alert lists a sample of its accounts; ``accounts_total`` counts them all.
    hit = _accounts_total(payload, accounts)
    shown = ", ".join(names[:8]) + (f" and {hit - min(len(names), 8)} more"
                                    if hit > min(len(names), 8) else "")
    pairs = [("Accounts hit", f"{hit}: {shown}" if accounts else "unknown")]
    arr = payload.get("arr_affected")
    if isinstance(arr, int | float) and arr > 0:
        pairs.append(("ARR affected", f"{escape(currency)}{arr:,.0f}"))
    count, total = payload.get("count"), payload.get("tickets_total")
    if count is not None:
        usual = payload.get("baseline")
        hint = f" (usually {float(usual):.1f})" if isinstance(usual, int | float) else ""
        pairs.append(("This hour", f"{escape(count)} tickets{hint}"))
    if total is not None:
        pairs.append(("Tickets so far", escape(total)))
    for key, label in (("first_seen", "First seen"), ("last_seen", "Last seen")):
        text = _when(payload.get(key), payload, key)
        if text:
            pairs.append((label, text))
    tracker = _tracker(payload)
    pairs.append(("Bug", tracker or "not filed yet"))
    return [{"type": "mrkdwn", "text": _clip(f"*{k}*\n{v}", _FIELD_MAX)} for k, v in pairs[:10]]


def _accounts_total(payload: Mapping[str, Any], listed: Sequence[Any]) -> int:
    total = payload.get("accounts_total")
    if isinstance(total, int) and not isinstance(total, bool):
        return max(total, len(listed))
    return len(listed)


def _incident_tickets(payload: Mapping[str, Any]) -> str | None:
    items = [t for t in payload.get("tickets") or () if isinstance(t, Mapping)]
    if not items:
        return None
    parts = [_link(_opt_str(t, "url"), f"#{escape(t.get('id', '?'))}")
             + (f" {escape(t['account'])}" if t.get("account") else "") for t in items[:10]]
    return "Latest tickets: " + " · ".join(parts)


def _incident_buttons(payload: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    value = button_value(str(payload["dedupe_key"]), _opt_str(payload, "ticket_key"))
    elements = []
    if not state.get("acknowledged_by"):
        elements.append(_button("acknowledge", "I'm on it", value, style="primary"))
    issue = payload.get("tracker_issue")
    if isinstance(issue, Mapping) and _url(issue, "url"):
        elements.append(_button("open_issue", f"Open {_clip(str(issue.get('key')), 40)}",
                                value, **_url(issue, "url")))
    elements.append(_button("snooze", "Mute 1 h", value))
    return {"type": "actions", "block_id": "escalade_incident_actions", "elements": elements}


def incident_blocks(
    payload: Mapping[str, Any],
    state: Mapping[str, Any] | None = None,
    *,
    now: datetime,
    currency: str = "$",
) -> list[dict[str, Any]]:
    """An emerging incident: the error, how many tickets and accounts, ARR, when, the bug."""
    state = state or {}
    title = f":rotating_light: {_title(payload)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": _clip(title, _HEADER_MAX), "emoji": True}},
    ]
    reason = _opt_str(payload, "reason")
    if reason:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": _clip(escape(reason), _TEXT_MAX)}})
    blocks.append({"type": "section", "fields": _incident_fields(payload, currency)})
    error = _opt_str(payload, "error")
    if error:
        text = "*Error, in a customer's words*\n>" + escape(error)
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": _clip(text, _TEXT_MAX)}})
    notes = [n for n in (_incident_tickets(payload),) if n]
    notes += status_lines(state, now=now, zone=zone_of(payload))
    if notes:
        blocks.append(_context(notes))
    blocks.append(_incident_buttons(payload, state))
    return blocks


# --- alerts held by the rate limit --------------------------------------------------------


def _held_line(payload: Mapping[str, Any], currency: str) -> str:
    subject = escape(payload.get("subject") or payload.get("title") or "(no subject)")
    ticket_id = _opt_str(payload, "ticket_id")
    label = f"#{escape(ticket_id)} {subject}" if ticket_id else subject
    bits = [_link(_opt_str(payload, "ticket_url"), label)]
    account = _account(payload)
    if account.get("name"):
        bits.append(escape(account["name"]))
    if isinstance(account.get("arr"), int | float):
        bits.append(f"{escape(currency)}{account['arr']:,.0f}")
    if payload.get("tier") is not None:
        bits.append(f"Tier {escape(payload['tier'])}")
    why = [str(r) for r in payload.get("why") or payload.get("reasons") or () if r]
    line = " · ".join(bits)
    return line + (f" — {escape(why[0])}" if why else "")


def held_summary_text(held: Sequence[Mapping[str, Any]]) -> str:
    """The plain fallback text of the summary of held alerts."""
    n = len(held)
    names = ", ".join(_clip(alert_text(p), 80) for p in held[:5])
    return _clip(f"{n} more escalation{'s' if n != 1 else ''} held by the rate limit: {names}",
                 _FALLBACK_MAX)


def held_summary_blocks(
    held: Sequence[Mapping[str, Any]], *, limit: int, window: timedelta, frees_at: datetime,
    currency: str = "$",
) -> list[dict[str, Any]]:
    """One message listing the escalations the channel's rate limit held back, with links.

    Each is posted in full (with its buttons) in this message's thread, so nothing waits.
    """
    n = len(held)
    minutes = max(round(window.total_seconds() / 60), 1)
    head = (f":pause_button: *{n} more escalation{'s' if n != 1 else ''} held by the rate "
            f"limit* ({limit} new alerts per {minutes} min in this channel). Each is in this "
            "thread with its buttons:")
    lines = [f"• {_held_line(p, currency)}" for p in held[:_HELD_LINES_MAX]]
    if n > _HELD_LINES_MAX:
        lines.append(f"… and {n - _HELD_LINES_MAX} more in the thread")
    zone = zone_of(held[0]) if held else UTC
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(head, _TEXT_MAX)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines),
                                                                     _TEXT_MAX)}},
        _context([f"New alerts post on their own again from {format_local(frees_at, zone)}."]),
    ]


# --- follow-ups in the thread -------------------------------------------------------------


def followup_text(
    payload: Mapping[str, Any], *, mention: str | None = None, now: datetime | None = None
) -> str:
    """A threaded reply for a later alert on the same escalation (SLA event or re-alert)."""
    kind = payload.get("kind")
    if kind == "sla_warning":
        label = str(payload.get("metric") or "response").replace("_", " ")
        due = _when(_opt_str(payload, "due_at") or _opt_str(payload, "sla_due_at"), payload,
                    "due_at")
        text = f":hourglass_flowing_sand: SLA warning: {escape(label)}"
        text += f" is due {due}." if due else " is due soon."
    elif kind == "sla_breach":
        reasons = [str(r) for r in payload.get("reasons") or () if r]
        text = ":red_circle: " + (escape(reasons[0]) if reasons else "SLA breached.")
    elif kind == REPLY_KIND:
        who = escape(payload.get("author") or "The customer")
        body = "\n".join(f">{escape(line)}" for line in str(payload.get("body") or "").splitlines()
                         if line.strip())
        text = f":speech_balloon: *{who} wrote again:*\n{body}"
    elif kind == BUG_KIND:
        text = f":beetle: Filed as {_tracker(payload) or 'a bug'}; the fix is tracked there."
    elif kind == INCIDENT_KIND:
        count = payload.get("count")
        accounts = _accounts_total(
            payload, [a for a in payload.get("accounts") or () if isinstance(a, Mapping)])
        text = (f":rotating_light: Still rising: {escape(count)} tickets this hour, "
                f"{accounts} account{'s' if accounts != 1 else ''} hit so far.")
    else:
        tier = payload.get("tier")
        text = f":repeat: Still tier {escape(tier)}." if tier is not None else ":repeat: Re-alert."
        reasons = [str(r) for r in payload.get("why") or payload.get("reasons") or () if r]
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
    """Someone acted on an alert in Slack: ``acknowledged``, ``owned`` or ``snoozed``.

    ``awaits`` names the outbox row of the helpdesk assignment an ownership waits for: the
    message says "owns it" only once the helpdesk accepted it.
    """

    kind: str
    user_id: str
    at: datetime
    agent_id: str | None = None
    until: datetime | None = None
    error: str | None = None
    event_id: str | None = None
    awaits: str | None = None
    channel_id: str | None = None

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
            awaits=_opt_str(payload, "awaits"), channel_id=_opt_str(payload, "channel_id"),
        )


def already_note(state: Mapping[str, Any], event: AlertEvent) -> str | None:
    """What to tell someone whose click repeats what is already done (None: go ahead).

    Taking ownership of an owned escalation, or acknowledging an acknowledged one, changes
    nothing: the clicker learns who already has it.
    """
    if event.kind == "owned" and state.get("owned_by"):
        owner = state["owned_by"]
        if owner == event.user_id:
            return "You already own this escalation."
        agent = state.get("agent_id")
        where = f"; the ticket is assigned to agent {escape(agent)}" if agent else ""
        return f"<@{owner}> already owns this escalation{where}."
    if event.kind == "acknowledged" and state.get("acknowledged_by"):
        who = state["acknowledged_by"]
        if who == event.user_id:
            return "You already acknowledged this."
        return f"<@{who}> already acknowledged this."
    return None


def remember(state: Mapping[str, Any], event: AlertEvent) -> dict[str, Any]:
    """The state with ``event`` noted as seen (a redelivery of it then changes nothing)."""
    out = dict(state)
    if event.event_id:
        out["events"] = [*out.get("events", ()), event.event_id][-_SEEN_EVENTS_MAX:]
    return out


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
            out.pop("failed", None)
        elif event.kind == "snoozed" and event.until is not None:
            out.update(snoozed_by=event.user_id, snooze_until=format_time(event.until))
    elif event.kind == "owned":
        out["failed"] = {"user_id": event.user_id, "error": event.error, "at": at}
        # A new click may try again: its assignment gets a fresh outbox key.
        out["ownership_attempts"] = int(out.get("ownership_attempts") or 0) + 1
    return remember(out, event)


def status_lines(
    state: Mapping[str, Any], *, now: datetime, zone: tzinfo = UTC
) -> list[str]:
    """One context line per fact: acknowledged, owned, snoozed (while it lasts), SLA."""
    lines = []
    if state.get("acknowledged_by") and state.get("owned_by") != state["acknowledged_by"]:
        at = state.get("acknowledged_at")
        when = f" at {format_local(parse_time(at, 'acknowledged_at'), zone)}" if at else ""
        lines.append(f":white_check_mark: acknowledged by <@{state['acknowledged_by']}>{when}")
    if state.get("owned_by"):
        agent = state.get("agent_id")
        where = f" (assigned to agent {escape(agent)} in the helpdesk)" if agent else ""
        lines.append(f":bust_in_silhouette: owned by <@{state['owned_by']}>{where}")
    elif isinstance(state.get("failed"), Mapping):
        failed = state["failed"]
        lines.append(f":warning: <@{failed.get('user_id')}> could not take ownership: "
                     f"{escape(failed.get('error') or 'refused')}")
    until = state.get("snooze_until")
    if until and parse_time(until, "snooze_until") > now:
        lines.append(f":zzz: snoozed until {format_local(parse_time(until, 'snooze_until'), zone)}"
                     f" by <@{state.get('snoozed_by')}>")
    sla = state.get("sla")
    if isinstance(sla, Mapping) and sla.get("text"):
        lines.append(str(sla["text"]))
    return lines


def event_note(event: AlertEvent, *, zone: tzinfo = UTC) -> str:
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
    until = format_local(event.until, zone) if event.until else "later"
    return f":zzz: {who} snoozed this alert until {until}; follow-ups stay in this thread."


_VERB = {"acknowledged": "acknowledge", "owned": "take ownership", "snoozed": "snooze"}
