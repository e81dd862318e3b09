"""Freshdesk webhooks: shared-secret check and both payload styles -> ``WebhookEvent``. Pure.

Freshdesk signs nothing, so the automation rule's "Trigger webhook" action carries a secret
the admin copies from Escalade: either "Requires authentication" (HTTP Basic, user
``options.webhook_username`` or ``escalade``, password = the webhook secret) or a custom header
``X-Escalade-Secret: <webhook secret>``. No timestamp is sent, so staleness cannot be told;
use HTTPS. https://support.freshdesk.com/support/solutions/articles/132589
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.helpdesk.base import WebhookEvent
from adapters.helpdesk.common import header, mapping
from adapters.helpdesk.freshdesk.common import freshdesk_id
from integration.errors import UnsupportedEvent, ValidationError, WebhookVerificationError
from integration.models import parse_time

__all__ = [
    "AUTOMATION_BODY",
    "FDK_EVENTS",
    "SECRET_HEADER",
    "parse_triggered_event",
    "parse_webhook_body",
    "verify_secret",
]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Escalade-Secret"
DEFAULT_USERNAME = "escalade"
MIN_SECRET_LENGTH = 16

# What the admin pastes as the rule's JSON content (Encoding JSON, Content "Advanced"), in the
# rules on ticket creation and on ticket updates alike. ``{{ticket.modified_on}}`` is the
# ticket's updated_at; with the event it makes redeliveries of one change share a delivery id.
AUTOMATION_BODY: Mapping[str, Any] = {
    "freshdesk_webhook": {
        "ticket_id": "{{ticket.id}}",
        "triggered_event": "{{triggered_event}}",
        "ticket_updated_at": "{{ticket.modified_on}}",
    }
}

# {{triggered_event}} renders as "{ticket_action:created}", "{note_type:private}" or
# "{status:{from:2,to:4}}" (not JSON). Properties whose change can move a decision:
PROPERTY_EVENTS: Mapping[str, str] = {
    "status": "ticket.status_changed",
    "priority": "ticket.priority_changed",
    "ticket_type": "ticket.type_changed",
    "group_id": "ticket.group_changed",
    "responder_id": "ticket.assignee_changed",
    "due_by": "ticket.due_changed",
    "note_type": "ticket.note_added",
    "reply_sent": "ticket.reply_sent",
    "customer_feedback": "ticket.feedback_received",
}
TICKET_ACTIONS: Mapping[str, str] = {
    "created": "ticket.created",
    "update": "ticket.updated",
    "updated": "ticket.updated",
}
# FDK product events (a Freshworks serverless app relaying to us), by our event name.
FDK_EVENTS: Mapping[str, str] = {
    "onTicketCreate": "ticket.created",
    "onTicketUpdate": "ticket.updated",
    "onConversationCreate": "ticket.conversation_added",
    "onConversationUpdate": "ticket.conversation_updated",
}
_EVENT = re.compile(r"^\{\s*([A-Za-z0-9_]+)\s*:\s*(.*)\}$", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{\{.*\}\}")
# Liquid renders Time values like "2026-11-03 10:01:00 UTC" or "... +0000".
_LIQUID_TIMES = ("%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M:%S %z", "%a, %d %b %Y %H:%M:%S %z")


def verify_secret(*, secret: str, username: str, headers: Mapping[str, str]) -> None:
    """Raise ``WebhookVerificationError`` unless Basic auth or the secret header match."""
    presented: list[bool] = []
    given = header(headers, SECRET_HEADER)
    if given:
        presented.append(hmac.compare_digest(given.encode(), secret.encode()))
    authorization = header(headers, "Authorization")
    if authorization and authorization.lower().startswith("basic "):
        presented.append(_basic_matches(authorization[6:].strip(), username, secret))
    if not presented:
        raise WebhookVerificationError(
            f"freshdesk: no Basic auth and no {SECRET_HEADER} header on the request"
        )
    if not all(presented):
        raise WebhookVerificationError("freshdesk: webhook credentials do not match")


def _basic_matches(token: str, username: str, secret: str) -> bool:
    try:
        decoded = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return False
    user, sep, password = decoded.partition(b":")
    # Both compared whatever the first gives, so timing does not tell which one was wrong.
    user_ok = hmac.compare_digest(user, username.encode())
    password_ok = hmac.compare_digest(password, secret.encode())
    return bool(sep) and user_ok and password_ok


def parse_webhook_body(body: bytes) -> WebhookEvent:
    """Read an automation-rule body or an FDK product-event payload into a ``WebhookEvent``."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValidationError("body", f"not valid JSON: {err}") from err
    if not isinstance(payload, Mapping):
        raise ValidationError("body", "expected a JSON object")
    if "freshdesk_webhook" in payload:
        return _automation(
            mapping(payload["freshdesk_webhook"], "freshdesk_webhook"), body, "freshdesk_webhook."
        )
    if "ticket_id" in payload:
        return _automation(payload, body, "")
    if "event" in payload and "data" in payload:
        return _fdk(payload)
    raise ValidationError("freshdesk_webhook", "is required (neither a rule body nor an FDK event)")


def parse_triggered_event(value: Any) -> str:
    """Map a rendered ``{{triggered_event}}`` onto our event name, or raise ``UnsupportedEvent``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "ticket.updated"  # rules on ticket creation may render it empty
    if not isinstance(value, str):
        raise ValidationError("triggered_event", "expected a string")
    match = _EVENT.match(value.strip())
    if not match:
        raise ValidationError("triggered_event", f"not a Freshdesk event: {value!r}")
    name, rest = match.group(1), match.group(2).strip()
    if name == "ticket_action":
        if rest in TICKET_ACTIONS:
            return TICKET_ACTIONS[rest]
        raise UnsupportedEvent(f"ticket_action:{rest}")  # deleted, marked_spam, linked ...
    if name in PROPERTY_EVENTS:
        return PROPERTY_EVENTS[name]
    if name.startswith("cf_"):
        return "ticket.custom_field_changed"  # an agent moving the tier field is feedback
    raise UnsupportedEvent(name)  # time entries, delivery failures ...


def _automation(data: Mapping[str, Any], body: bytes, prefix: str) -> WebhookEvent:
    ticket_id = freshdesk_id(data.get("ticket_id"), f"{prefix}ticket_id")
    raw_event = data.get("triggered_event")
    event = parse_triggered_event(raw_event)
    updated = data.get("ticket_updated_at")
    if isinstance(updated, str) and updated.strip() and not _PLACEHOLDER.search(updated):
        delivery = f"rule:{ticket_id}:{updated.strip()}:{str(raw_event or '').strip()}"
        occurred_at = _liquid_time(updated.strip())
    else:
        # Without the change's time the body itself is the identity: a redelivery is equal,
        # two identical changes to one ticket collapse (the fetch reads the latest anyway).
        digest = hashlib.sha256(body.strip()).hexdigest()[:32]
        delivery, occurred_at = f"rule:{ticket_id}:sha256:{digest}", None
    return WebhookEvent(
        delivery_id=delivery, event_type=event, ticket_id=ticket_id, occurred_at=occurred_at
    )


def _fdk(payload: Mapping[str, Any]) -> WebhookEvent:
    name = payload.get("event")
    if not isinstance(name, str) or name not in FDK_EVENTS:
        raise UnsupportedEvent(str(name))
    data = mapping(payload.get("data"), "data")
    if name.startswith("onConversation"):
        conversation = mapping(data.get("conversation"), "data.conversation")
        ticket_id = freshdesk_id(conversation.get("ticket_id"), "data.conversation.ticket_id")
        conversation_id = freshdesk_id(conversation.get("id"), "data.conversation.id")
        stamp = conversation.get("updated_at") or conversation.get("created_at")
        delivery = f"fdk:{name}:{conversation_id}:{stamp}"
        path = "data.conversation.updated_at"
    else:
        ticket = mapping(data.get("ticket"), "data.ticket")
        ticket_id = freshdesk_id(ticket.get("id"), "data.ticket.id")
        stamp = ticket.get("updated_at")
        delivery = f"fdk:{name}:{ticket_id}:{stamp}"
        path = "data.ticket.updated_at"
    if not stamp:
        raise ValidationError(path, "is required")
    return WebhookEvent(
        delivery_id=delivery,
        event_type=FDK_EVENTS[name],
        ticket_id=ticket_id,
        occurred_at=parse_time(stamp, path),
    )


def _liquid_time(value: str) -> datetime | None:
    try:
        return parse_time(value, "ticket_updated_at")
    except ValidationError:
        pass
    for layout in _LIQUID_TIMES:
        try:
            parsed = datetime.strptime(value, layout)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    log.warning("freshdesk rule: unreadable ticket_updated_at %r", value)
    return None
