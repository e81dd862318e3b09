"""The sandbox helpdesk: a stand-in so a new user sees Escalade work with no credentials.

Inbound, a webhook body is one JSON object::

    {"delivery_id": "d-1", "event": "ticket.created" | "ticket.updated",
     "ticket": <normalized ticket, Ticket.from_dict>}

signed with ``X-Escalade-Signature: sha256=<hex HMAC-SHA256(webhook_secret, body)>``.
The sandbox remembers the newest version of every ticket it was given (``fetch_ticket``).

Outbound, nothing leaves the process: ``apply`` merges the helpdesk actions into one update,
describes each write in plain words, hands the writes to an injected ``recorder`` and applies
them to its in-memory copy of the ticket. Options make it fail on purpose so the outbox's
retries can be seen: ``{"fail_with": 429 | 500 | 422, "fail_times": 2, "retry_after": 1}``
(without ``fail_times`` every call fails). ``{"preload_demo": true}`` loads the demo workspace.
"""

from __future__ import annotations

from adapters.helpdesk.sandbox.client import DEMO_GROUPS, Recorder, SandboxAdapter
from adapters.helpdesk.sandbox.convert import (
    EVENTS,
    SIGNATURE_HEADER,
    cursor_for,
    describe_writes,
    sign,
    to_ticket,
    webhook_body,
)

__all__ = [
    "DEMO_GROUPS",
    "EVENTS",
    "SIGNATURE_HEADER",
    "Recorder",
    "SandboxAdapter",
    "cursor_for",
    "describe_writes",
    "sign",
    "to_ticket",
    "webhook_body",
]
