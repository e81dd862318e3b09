"""Zendesk webhooks: signature check and both payload styles -> ``WebhookEvent``. Pure."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from adapters.helpdesk.base import WebhookEvent
from adapters.helpdesk.common import header
from adapters.helpdesk.zendesk.common import zendesk_id, zendesk_time
from integration.errors import UnsupportedEvent, ValidationError, WebhookVerificationError
from integration.models import parse_time

__all__ = ["EVENT_TYPES", "TRIGGER_BODY", "parse_webhook_body", "verify_signature"]

log = logging.getLogger(__name__)

# https://developer.zendesk.com/documentation/webhooks/verifying/ : base64 HMAC-SHA256 of
# timestamp + body (an older revision of that page had body + timestamp).
SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
INVOCATION_HEADER = "X-Zendesk-Webhook-Invocation-Id"
MAX_SIGNATURE_AGE = timedelta(minutes=5)

TRIGGER_BODY: Mapping[str, str] = {
    "event": "ticket.updated",
    "ticket_id": "{{ticket.id}}",
    "updated_at": "{{ticket.updated_at_with_timestamp}}",
    "actor_id": "{{current_user.id}}",
}
TRIGGER_EVENTS = frozenset({"ticket.created", "ticket.updated"})

# https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/
EVENT_PREFIX = "zen:event-type:"
# Event-subscription types that can change a decision, by our event name. Anything else
# (attachments, brand, followers, spam, deletion ...) is answered 202 "ignored".
EVENT_TYPES: Mapping[str, str] = {
    f"{EVENT_PREFIX}ticket.{name}": f"ticket.{name}"
    for name in (
        "created",
        "comment_added",
        "comment_made_private",
        "status_changed",
        "custom_status_changed",
        "priority_changed",
        "tags_changed",
        "group_assignment_changed",
        "agent_assignment_changed",
        "custom_field_changed",
        "organization_changed",
        "requester_changed",
        "subject_changed",
        "description_changed",
        "undeleted",
    )
}


def verify_signature(
    *, secret: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> None:
    """Raise ``WebhookVerificationError`` unless the HMAC and its timestamp check out."""
    signature = header(headers, SIGNATURE_HEADER)
    timestamp = header(headers, TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise WebhookVerificationError("zendesk: signature or timestamp header missing")
    try:
        sent_at = parse_time(timestamp, TIMESTAMP_HEADER)
    except ValidationError as err:
        raise WebhookVerificationError(f"zendesk: bad signature timestamp {timestamp!r}") from err
    if abs(now - sent_at) > MAX_SIGNATURE_AGE:
        raise WebhookVerificationError("zendesk: signature timestamp is stale")
    try:
        given = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as err:
        raise WebhookVerificationError("zendesk: signature is not base64") from err
    expected = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected):
        raise WebhookVerificationError("zendesk: signature does not match")


def parse_webhook_body(headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """Read either webhook style into a ``WebhookEvent``."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValidationError("body", f"not valid JSON: {err}") from err
    if not isinstance(payload, Mapping):
        raise ValidationError("body", "expected a JSON object")
    invocation = header(headers, INVOCATION_HEADER)
    if "type" in payload:
        return _event_subscription(payload, invocation)
    if "ticket_id" in payload:
        return _trigger(payload, invocation)
    raise ValidationError("ticket_id", "is required (neither an event nor a trigger body)")


def _event_subscription(payload: Mapping[str, Any], invocation: str | None) -> WebhookEvent:
    kind = payload.get("type")
    if not isinstance(kind, str):
        raise ValidationError("type", "expected an event type string")
    if kind not in EVENT_TYPES:
        raise UnsupportedEvent(str(kind))
    detail = payload.get("detail")
    if not isinstance(detail, Mapping) or detail.get("id") in (None, ""):
        raise ValidationError("detail.id", "is required")
    delivery = invocation or payload.get("id")
    if not delivery:
        raise ValidationError("id", "is required when no invocation id header is sent")
    return WebhookEvent(
        delivery_id=str(delivery),
        event_type=EVENT_TYPES[kind],
        ticket_id=zendesk_id(detail.get("id"), "detail.id"),
        occurred_at=zendesk_time(payload["time"], "time") if payload.get("time") else None,
    )


def _trigger(payload: Mapping[str, Any], invocation: str | None) -> WebhookEvent:
    event = payload.get("event") or "ticket.updated"
    if not isinstance(event, str):
        raise ValidationError("event", "expected an event name string")
    if event not in TRIGGER_EVENTS:
        raise UnsupportedEvent(str(event))
    ticket_id = zendesk_id(payload.get("ticket_id"), "ticket_id")
    updated_at = payload.get("updated_at")
    occurred_at = None
    if isinstance(updated_at, str) and updated_at:
        try:
            occurred_at = zendesk_time(updated_at, "updated_at")
        except ValidationError:
            log.warning("zendesk trigger: unreadable updated_at %r", updated_at)
    if invocation:
        delivery = invocation
    elif updated_at:
        # No invocation header (older targets): the same change always gets the same id.
        delivery = f"trigger:{ticket_id}:{updated_at}"
    else:
        raise ValidationError(INVOCATION_HEADER, "is required when the body has no updated_at")
    return WebhookEvent(
        delivery_id=delivery, event_type=event, ticket_id=ticket_id, occurred_at=occurred_at
    )
