"""Intercom: signed notifications in, conversations normalized, actions written call by call.

Pure functions at the edge (``to_ticket``, ``to_intercom_calls``, ``parse_webhook_body``,
``verify_signature``); ``IntercomAdapter`` only moves bytes (REST API 2.14, bearer token,
``Intercom-Version: 2.14``, regional hosts us / eu / au or any ``base_url``).

Errors (``integration.errors``): 429 -> ``RetriableError(retry_after=Retry-After, else
X-RateLimit-Reset minus now)`` raised without sleeping; 408, 409, 5xx, timeouts and
connection errors -> ``RetriableError``; other 4xx -> ``FatalError`` with Intercom's
``error.list`` codes and messages. When a later call fails after an earlier one landed,
``apply`` returns ``detail={"failed": [...]}`` naming every kind that did not land. A write
that may have landed is ``RetriableError(uncertain=True)``; ``apply(..., uncertain=True)`` then
reads the conversation's parts and leaves out the note, reply or assignment already there. A
group with no team in ``team_ids`` is skipped and said in the note (or ``detail["warnings"]``).

Webhooks: ``X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, raw body)>``; the
notification id is the delivery id; conversation topics dispatch through ``TOPICS``.

Priority: the 2.14 API can read the conversation's priority flag but not set it, so Escalade
writes its priority as an ``escalade_priority_<level>`` tag and reads back the higher of that
tag and Intercom's flag (``priority`` -> high, ``not_priority`` -> normal).
"""

from __future__ import annotations

from adapters.helpdesk.intercom.calls import IntercomCall, to_intercom_calls
from adapters.helpdesk.intercom.client import (
    BACKFILL_PAGE_SIZE,
    REGIONS,
    IntercomAdapter,
    error_for_response,
)
from adapters.helpdesk.intercom.common import plain_text
from adapters.helpdesk.intercom.normalize import (
    CHANNELS,
    PRIORITIES,
    STATES,
    priority_tag,
    to_ticket,
)
from adapters.helpdesk.intercom.sidebar import BODY_SIGNATURE_HEADER, body_signature
from adapters.helpdesk.intercom.webhooks import TOPICS, parse_webhook_body, verify_signature

__all__ = [
    "BACKFILL_PAGE_SIZE",
    "BODY_SIGNATURE_HEADER",
    "CHANNELS",
    "PRIORITIES",
    "REGIONS",
    "STATES",
    "TOPICS",
    "IntercomAdapter",
    "IntercomCall",
    "body_signature",
    "error_for_response",
    "parse_webhook_body",
    "plain_text",
    "priority_tag",
    "to_intercom_calls",
    "to_ticket",
    "verify_signature",
]
