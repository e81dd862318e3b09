"""Freshdesk: automation-rule webhooks in, tickets normalized, field update + note + reply out.

Pure functions at the edge (``to_ticket``, ``to_freshdesk_update``, ``to_freshdesk_note``,
``to_freshdesk_reply``, ``parse_webhook_body``, ``verify_secret``); ``FreshdeskAdapter`` only
moves bytes through an injected ``requests.Session`` (API key as Basic auth user, password "X").

Errors (``integration.errors``): 429 -> ``RetriableError(retry_after=Retry-After)`` raised
without sleeping; 408, 5xx, timeouts and connection errors -> ``RetriableError``; other 4xx ->
``FatalError`` carrying Freshdesk's ``description`` and ``errors[].field/message/code``. The
last ``X-RateLimit-Total`` / ``X-RateLimit-Remaining`` seen are on the adapter. A write that may
have landed is ``RetriableError(uncertain=True)``; ``apply(..., uncertain=True)`` then reads the
conversations and leaves out the note or reply whose ``ref`` footer is already there. A group
with no id in ``group_ids`` is skipped and said in the note (or in ``detail["warnings"]``).

Webhooks: the admin adds a "Trigger webhook" action (POST, Encoding JSON, Content Advanced) to
one rule on ticket creation and one on ticket updates, pointing at
``/webhooks/freshdesk/<tenant>``, with "Requires authentication" (user ``escalade``, password =
the webhook secret) or the custom header ``X-Escalade-Secret``, and pastes ``AUTOMATION_BODY``
as the content. Adding the condition "performed by: agent is not <Escalade's agent>" keeps our
own write-backs from calling us again (``is_own_write`` catches the rest). A Freshworks app
relaying FDK product events (onTicketCreate, onTicketUpdate, onConversationCreate/Update) may
post those payloads to the same URL with the same credentials.

Options: ``group_ids`` (matrix group -> Freshdesk group id), ``tier_field`` / ``page_url_field``
(``cf_...`` names), ``statuses`` (custom status code -> normalized status), ``bot_user_id``,
``reply_from_email``, ``webhook_username``.
"""

from __future__ import annotations

from adapters.helpdesk.freshdesk.client import BackfillCursor, FreshdeskAdapter, error_for_response
from adapters.helpdesk.freshdesk.normalize import CHANNELS, PRIORITIES, STATUSES, to_ticket
from adapters.helpdesk.freshdesk.update import (
    to_freshdesk_note,
    to_freshdesk_reply,
    to_freshdesk_update,
)
from adapters.helpdesk.freshdesk.webhooks import (
    AUTOMATION_BODY,
    FDK_EVENTS,
    SECRET_HEADER,
    parse_triggered_event,
    parse_webhook_body,
    verify_secret,
)

__all__ = [
    "AUTOMATION_BODY",
    "CHANNELS",
    "FDK_EVENTS",
    "PRIORITIES",
    "SECRET_HEADER",
    "STATUSES",
    "BackfillCursor",
    "FreshdeskAdapter",
    "error_for_response",
    "parse_triggered_event",
    "parse_webhook_body",
    "to_freshdesk_note",
    "to_freshdesk_reply",
    "to_freshdesk_update",
    "to_ticket",
    "verify_secret",
]
