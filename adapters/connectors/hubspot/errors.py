"""How the HubSpot connector reads a failed call: every status-code decision in one place.

    429            -> RetriableError, retry_after from ``Retry-After`` (or the rate-limit window)
    5xx, 408, I/O  -> RetriableError
    401, 403       -> TokenRejected (a FatalError): the token is wrong, revoked or lacks a scope
    other 4xx      -> FatalError with HubSpot's own ``message``
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import hubspot.crm.associations.v4 as hs_associations
import hubspot.crm.companies as hs_companies
import hubspot.crm.contacts as hs_contacts
import hubspot.crm.objects.notes as hs_notes
import hubspot.crm.objects.tasks as hs_tasks
import hubspot.crm.owners as hs_owners

from integration.errors import DeliveryError, FatalError, RetriableError

__all__ = ["API_ERRORS", "TokenRejected", "delivery_error"]

# Each generated package of the client defines its own ApiException class.
API_ERRORS: tuple[type[Exception], ...] = (
    hs_associations.ApiException,
    hs_companies.ApiException,
    hs_contacts.ApiException,
    hs_notes.ApiException,
    hs_owners.ApiException,
    hs_tasks.ApiException,
)


class TokenRejected(FatalError):
    """HubSpot answered 401/403: the token is wrong, revoked or lacks a scope."""


def _hubspot_message(err: Any) -> str:
    """HubSpot's own ``message`` from an error body, else the HTTP reason."""
    body = getattr(err, "body", None)
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, Mapping) and isinstance(data.get("message"), str):
            return str(data["message"])
    return str(getattr(err, "reason", None) or "no message")


def _retry_after(headers: Any) -> float | None:
    if not isinstance(headers, Mapping):
        return None
    for name, scale in (("Retry-After", 1.0), ("X-HubSpot-RateLimit-Interval-Milliseconds", 1e-3)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) * scale
        except ValueError:
            continue  # an HTTP-date Retry-After: let the outbox's backoff decide
    return None


def delivery_error(err: Exception) -> DeliveryError:
    """Every HubSpot status code decision, in one place."""
    status = int(getattr(err, "status", 0) or 0)
    message = _hubspot_message(err)
    if status == 429:
        return RetriableError(
            f"HubSpot rate limit (429): {message}",
            retry_after=_retry_after(getattr(err, "headers", None)),
        )
    if status == 0 or status == 408 or status >= 500:
        return RetriableError(f"HubSpot error ({status or 'no response'}): {message}")
    if status in (401, 403):
        return TokenRejected(
            f"HubSpot rejected the access token ({status}): {message}; check the private app "
            "token and its scopes"
        )
    return FatalError(f"HubSpot refused the request ({status}): {message}")
