"""Intercom webhooks: the ``X-Hub-Signature`` check and notifications -> ``WebhookEvent``. Pure."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping

from adapters.helpdesk.base import WebhookEvent
from adapters.helpdesk.common import header, mapping
from adapters.helpdesk.intercom.common import numeric_intercom_id, unix_time
from integration.errors import UnsupportedEvent, ValidationError, WebhookVerificationError

__all__ = ["SIGNATURE_HEADER", "TOPICS", "parse_webhook_body", "verify_signature"]

# https://developers.intercom.com/docs/webhooks/webhook-notifications : "sha1=" + hex
# HMAC-SHA1 of the raw body, keyed with the app's client secret. No timestamp is signed.
SIGNATURE_HEADER = "X-Hub-Signature"
_SIGNATURE = re.compile(r"^sha1=([0-9a-fA-F]{40})$")

# Topic -> our event name (the Zendesk adapter's vocabulary). Every other topic (ping,
# contact.*, admin.*, ticket.* ...) is answered 202 "ignored".
TOPICS: Mapping[str, str] = {
    "conversation.user.created": "ticket.created",
    "conversation.user.replied": "ticket.comment_added",
    "conversation.admin.replied": "ticket.comment_added",
    "conversation.admin.noted": "ticket.comment_added",
    "conversation.admin.assigned": "ticket.agent_assignment_changed",
    "conversation.admin.closed": "ticket.status_changed",
    "conversation.admin.opened": "ticket.status_changed",
    "conversation.admin.snoozed": "ticket.status_changed",
    "conversation.admin.unsnoozed": "ticket.status_changed",
    "conversation.priority.updated": "ticket.priority_changed",
    "conversation_part.tag.created": "ticket.tags_changed",
}


def verify_signature(*, secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Raise ``WebhookVerificationError`` unless ``X-Hub-Signature`` signs this exact body."""
    given = header(headers, SIGNATURE_HEADER)
    if not given:
        raise WebhookVerificationError(f"intercom: {SIGNATURE_HEADER} header missing")
    match = _SIGNATURE.match(given)
    if match is None:
        raise WebhookVerificationError(f"intercom: {SIGNATURE_HEADER} is not sha1=<hex>")
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    if not hmac.compare_digest(match.group(1).lower(), expected):
        raise WebhookVerificationError("intercom: signature does not match")


def parse_webhook_body(body: bytes) -> WebhookEvent:
    """Read a notification: ``{"type": "notification_event", "topic", "id", "data": {"item"}}``."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValidationError("body", f"not valid JSON: {err}") from err
    if not isinstance(payload, Mapping):
        raise ValidationError("body", "expected a JSON object")
    if payload.get("type") != "notification_event":
        raise ValidationError("type", f"expected 'notification_event', got {payload.get('type')!r}")
    topic = payload.get("topic")
    if not isinstance(topic, str) or not topic:
        raise ValidationError("topic", "is required")
    if topic not in TOPICS:
        raise UnsupportedEvent(topic)
    delivery = payload.get("id")
    if not isinstance(delivery, str) or not delivery.strip():
        raise ValidationError("id", "is required (the notification id)")
    data = mapping(payload.get("data"), "data")
    item = mapping(data.get("item"), "data.item")
    if item.get("type") not in (None, "conversation"):
        kind = item.get("type")
        raise ValidationError("data.item.type", f"expected a conversation, got {kind!r}")
    created = payload.get("created_at")
    return WebhookEvent(
        delivery_id=delivery.strip(),
        event_type=TOPICS[topic],
        ticket_id=numeric_intercom_id(item.get("id"), "data.item.id"),
        occurred_at=unix_time(created, "created_at") if created else None,
    )
