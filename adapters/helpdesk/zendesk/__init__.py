"""Zendesk Support: webhooks in, tickets normalized, one combined ticket update out.

Pure functions at the edge (``to_ticket``, ``to_zendesk_update``, ``to_zendesk_followup``,
``parse_webhook_body``, ``verify_signature``); ``ZendeskAdapter`` only moves bytes.

Errors (``integration.errors``): 429 -> ``RetriableError(retry_after=Retry-After)`` raised
without sleeping; 408, 409 (``safe_update`` collision), 5xx, timeouts and connection errors ->
``RetriableError``; other 4xx -> ``FatalError`` carrying Zendesk's error/description/details.
A write that may have landed (a timeout or dropped connection after sending, 500/502/504) is
``RetriableError(uncertain=True)``; ``apply(..., uncertain=True)`` then reads the latest
comments and leaves out the note or reply whose ``ref`` footer is already there. A group with
no id in ``group_ids`` is skipped and said in the note (or in ``detail["warnings"]``).

Webhooks: both Zendesk styles are accepted on the same URL.
- Event subscriptions: ``{"type": "zen:event-type:ticket.comment_added", "id": ...,
  "time": ..., "subject": "zen:ticket:123", "detail": {"id": "123", "actor_id": ...}}``.
- Triggers / automations: the admin pastes ``TRIGGER_BODY`` as the webhook's JSON body
  (one trigger on "Ticket is Created" with ``"event": "ticket.created"``, one on
  "Ticket is Updated" with ``"event": "ticket.updated"``).
"""

from __future__ import annotations

from adapters.helpdesk.zendesk.client import ZendeskAdapter, error_for_response
from adapters.helpdesk.zendesk.normalize import CHANNELS, STATUSES, to_ticket
from adapters.helpdesk.zendesk.update import to_zendesk_followup, to_zendesk_update
from adapters.helpdesk.zendesk.webhooks import (
    EVENT_TYPES,
    TRIGGER_BODY,
    parse_webhook_body,
    verify_signature,
)

__all__ = [
    "CHANNELS",
    "EVENT_TYPES",
    "STATUSES",
    "TRIGGER_BODY",
    "ZendeskAdapter",
    "error_for_response",
    "parse_webhook_body",
    "to_ticket",
    "to_zendesk_followup",
    "to_zendesk_update",
    "verify_signature",
]
