"""Talking HTTP to a helpdesk: status codes and transport failures as errors a caller acts on.

All status-code handling lands in ``status_error``: 429 (``RateLimited``), 5xx (``ServerError``),
408 and 409 are retriable (with the vendor's ``Retry-After`` when it gives one), every other 4xx
is fatal. ``transport_error`` names what went wrong below HTTP: a name that does not resolve, a
refused connection, a timeout (``Unreachable``). A write whose outcome is unknown (a timeout or
dropped connection after sending, a 500/502/504) is retriable and ``uncertain``. A connection
test makes one cheap call (``get_json``) and nothing is retried.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError

from integration.errors import (
    DeliveryError,
    FatalError,
    RateLimited,
    RetriableError,
    ServerError,
    Unreachable,
)

__all__ = [
    "CHECK_TIMEOUT",
    "RETRIABLE_STATUSES",
    "UNCERTAIN_STATUSES",
    "get_json",
    "retry_after",
    "status_error",
    "transport_error",
    "transport_errors",
    "vendor_message",
]

RETRIABLE_STATUSES = frozenset({408, 409, 429})
# A server error on a write may come after the vendor applied it (or from a proxy that timed
# out waiting for it); 503 means the request was turned away.
UNCERTAIN_STATUSES = frozenset({500, 502, 504})
# A connection test waits this long for its one call.
CHECK_TIMEOUT = 10.0
_MAX_MESSAGE = 300


def retry_after(response: requests.Response, *, now: datetime | None = None) -> float | None:
    """Seconds from ``Retry-After`` (a number or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            moment = now or datetime.now(UTC)
            return max(0.0, (parsedate_to_datetime(value) - moment).total_seconds())
        except (TypeError, ValueError):
            return None


def status_error(
    status: int,
    message: str,
    *,
    wait: float | None = None,
    retriable: frozenset[int] = RETRIABLE_STATUSES,
    write: bool = False,
) -> DeliveryError:
    """The error a caller should act on for a non-2xx ``status`` (``write``: it changed data)."""
    uncertain = write and status in UNCERTAIN_STATUSES
    if status >= 500:
        return ServerError(message, status=status, retry_after=wait, uncertain=uncertain)
    if status == 429:
        return RateLimited(message, retry_after=wait)
    if status in retriable:
        return RetriableError(message, retry_after=wait, uncertain=uncertain)
    return FatalError(message)


def transport_error(vendor: str, err: requests.RequestException, *, write: bool) -> DeliveryError:
    """A call that got no HTTP answer: ``Unreachable`` naming host and reason, else fatal.

    Only a connect timeout proves the request never left; any other timeout or dropped
    connection on a ``write`` may come after the vendor applied it, so it is ``uncertain``.
    """
    if isinstance(err, requests.Timeout | requests.ConnectionError):
        uncertain = write and not isinstance(err, requests.ConnectTimeout)
        return Unreachable(host=_host(err, vendor), reason=_unreachable_reason(err),
                           uncertain=uncertain)
    # A malformed URL, too many redirects ...: the same call would fail the same way.
    return FatalError(f"{vendor}: {type(err).__name__}: {err}")


@contextmanager
def transport_errors(vendor: str, *, write: bool = False) -> Iterator[None]:
    """Turn a call's ``requests`` failure into ``transport_error``'s retriable or fatal error."""
    try:
        yield
    except requests.RequestException as err:
        raise transport_error(vendor, err, write=write) from err


def _host(err: requests.RequestException, vendor: str) -> str:
    request = err.request
    url = request.url if request is not None else None
    host = urlsplit(url).hostname if isinstance(url, str) else None
    return host or vendor


# Most specific first: urllib3's NameResolutionError is also a NewConnectionError and a
# ConnectTimeoutError, and every timeout ends in the built-in TimeoutError.
_REASONS: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((socket.gaierror, NameResolutionError), "name does not resolve"),
    ((ConnectionRefusedError,), "connection refused"),
    ((ssl.SSLCertVerificationError,), "its TLS certificate is not trusted"),
    ((ssl.SSLError,), "the TLS handshake failed"),
    ((requests.Timeout, TimeoutError), "timed out"),
    ((ConnectionResetError, ConnectionAbortedError), "the connection was reset"),
)
# Fallback for errors built from text alone (no cause chain), checked in the same order.
_REASON_TEXTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("failed to resolve", "name or service not known", "nodename nor servname",
      "temporary failure in name resolution", "getaddrinfo failed", "no address associated"),
     "name does not resolve"),
    (("connection refused", "errno 111", "actively refused"), "connection refused"),
    (("timed out", "timeout"), "timed out"),
    (("connection reset", "connection aborted", "remote end closed"),
     "the connection was reset"),
)


def _unreachable_reason(err: BaseException) -> str:
    causes = list(_causes(err))
    for kinds, reason in _REASONS:
        if any(isinstance(cause, kinds) for cause in causes):
            return reason
    text = " ".join(str(cause) for cause in causes).lower()
    for needles, reason in _REASON_TEXTS:
        if any(needle in text for needle in needles):
            return reason
    return "the connection failed"


def _causes(err: BaseException) -> Iterator[BaseException]:
    """``err`` and everything it wraps: requests and urllib3 nest causes in args and ``reason``."""
    pending: list[BaseException] = [err]
    seen: set[int] = set()
    while pending and len(seen) < 32:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [*current.args, getattr(current, "reason", None), current.__cause__,
                  current.__context__]
        pending.extend(n for n in nested if isinstance(n, BaseException))


# --- connection tests (one cheap call, nothing retried) ---------------------------------


def vendor_message(response: requests.Response) -> str:
    """The vendor's own words from an error response (JSON shapes of all five vendors)."""
    try:
        data: Any = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        return text[:_MAX_MESSAGE] or response.reason or ""
    parts: list[str] = []
    if isinstance(data, Mapping):
        for key in ("errorMessages", "errors"):
            value = data.get(key)
            if isinstance(value, list):
                parts += [str(e.get("message") if isinstance(e, Mapping) else e) for e in value]
            elif isinstance(value, Mapping):  # Jira: {"errors": {"field": "message"}}
                parts += [f"{k}: {v}" for k, v in value.items()]
        for key in ("message", "error", "description"):
            value = data.get(key)
            if isinstance(value, str) and value not in parts:
                parts.append(value)
    message = "; ".join(p for p in parts if p) or str(data)
    return message[:_MAX_MESSAGE]


def get_json(
    session: requests.Session, url: str, *, vendor: str, **kwargs: Any
) -> Mapping[str, Any]:
    """GET ``url`` once and return its JSON object; a refusal carries the vendor's words."""
    try:
        response = session.request("GET", url, timeout=CHECK_TIMEOUT, **kwargs)
    except requests.RequestException as err:
        raise transport_error(vendor, err, write=False) from err
    if not 200 <= response.status_code < 300:
        raise status_error(response.status_code,
                           f"{vendor} answered {response.status_code}: {vendor_message(response)}")
    try:
        data = response.json()
    except ValueError as err:
        raise FatalError(f"{vendor} answered {response.status_code} without JSON "
                         "(is the URL the API's?)") from err
    if not isinstance(data, Mapping):
        raise FatalError(f"{vendor} answered with unexpected JSON")
    return data
