"""What every helpdesk adapter shares: Escalade's footer, payload readers, status mapping.

All status-code handling lands in ``status_error``: 429 (``RateLimited``), 5xx (``ServerError``),
408 and 409 are retriable (with the vendor's ``Retry-After`` when it gives one), every other 4xx
is fatal. ``transport_error`` names what went wrong below HTTP: a name that does not resolve, a
refused connection, a timeout (``Unreachable``).
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError

from integration.errors import (
    ConfigurationError,
    DeliveryError,
    FatalError,
    RateLimited,
    RetriableError,
    ServerError,
    Unreachable,
    ValidationError,
)

__all__ = [
    "BOT_MARKER",
    "has_marker",
    "header",
    "is_url",
    "mapping",
    "mappings",
    "number",
    "option_id",
    "option_id_map",
    "site_root",
    "retry_after",
    "status_error",
    "transport_error",
    "with_marker",
]

BOT_MARKER = "— Escalade"
_DIGITS = re.compile(r"^\d+$")
RETRIABLE_STATUSES = frozenset({408, 409, 429})


def with_marker(body: str) -> str:
    """Append the footer that marks a note or reply as written by Escalade (once)."""
    text = body.rstrip()
    if text.endswith(BOT_MARKER):
        return text
    return f"{text}\n\n{BOT_MARKER}"


def has_marker(body: str) -> bool:
    """True when a plain-text body ends with Escalade's footer."""
    return body.rstrip().endswith(BOT_MARKER)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's stripped value, looked up case-insensitively."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value.strip() if isinstance(value, str) else None


def mapping(value: Any, path: str) -> Mapping[str, Any]:
    """``value`` as an object, or a ``ValidationError`` naming ``path``."""
    if not isinstance(value, Mapping):
        raise ValidationError(path, "expected an object")
    return value


def mappings(value: Any, path: str) -> list[Mapping[str, Any]]:
    """``value`` as a list of objects (None is empty), naming the bad item's path."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValidationError(path, "expected a list")
    return [mapping(v, f"{path}[{i}]") for i, v in enumerate(value)]


def number(value: Any, path: str) -> float | None:
    """A number from JSON or text ("180,000" too); None for null or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(path, "expected a number")
    try:
        return float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
    except ValueError as err:
        raise ValidationError(path, f"expected a number, got {value!r}") from err


def is_url(value: Any) -> bool:
    """True for an absolute http(s) URL string."""
    return isinstance(value, str) and value.startswith(("https://", "http://"))


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
) -> DeliveryError:
    """The error a caller should act on for a non-2xx ``status``."""
    if status >= 500:
        return ServerError(message, status=status, retry_after=wait)
    if status == 429:
        return RateLimited(message, retry_after=wait)
    if status in retriable:
        return RetriableError(message, retry_after=wait)
    return FatalError(message)


def transport_error(err: requests.RequestException, *, vendor: str) -> DeliveryError:
    """The error for a call that got no HTTP answer: ``Unreachable`` naming host and reason."""
    if isinstance(err, requests.Timeout | requests.ConnectionError):
        return Unreachable(host=_host(err, vendor), reason=_unreachable_reason(err))
    # A malformed URL, too many redirects ...: the same call would fail the same way.
    return FatalError(f"{vendor}: {type(err).__name__}: {err}")


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
    pending, seen = [err], set()
    while pending and len(seen) < 32:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [*current.args, getattr(current, "reason", None), current.__cause__,
                  current.__context__]
        pending.extend(n for n in nested if isinstance(n, BaseException))


# --- install options (checked when the adapter is built: ConfigurationError, never a 4xx) ---


def site_root(vendor: str, base_url: str | None, example: str) -> str:
    """``scheme://host/path`` of a vendor site from the tenant's base URL, checked."""
    if not base_url:
        raise ConfigurationError(f"{vendor}: base_url is required ({example})")
    parts = urlsplit(base_url.rstrip("/"))
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigurationError(f"{vendor}: base_url is not a URL: {base_url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def option_id(vendor: str, value: Any, name: str) -> str | None:
    """A numeric id from the install options (as text), or None when unset."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not _DIGITS.match(str(value)):
        raise ConfigurationError(f"{vendor}: options.{name} must be a numeric id, got {value!r}")
    return str(value)


def option_id_map(vendor: str, value: Any, name: str) -> dict[str, str]:
    """``options.<name>``: matrix names (groups, teams) to numeric vendor ids."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{vendor}: options.{name} must map names to ids")
    out: dict[str, str] = {}
    for key, raw in value.items():
        found = option_id(vendor, raw, f"{name}.{key}")
        if found is None:
            raise ConfigurationError(f"{vendor}: options.{name}.{key} has no id")
        out[str(key)] = found
    return out
