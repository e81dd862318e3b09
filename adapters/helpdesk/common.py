"""What every helpdesk adapter shares: Escalade's footer, payload readers, status mapping.

All status-code handling lands in ``status_error``: 429, 408, 409 and 5xx are retriable (with
the vendor's ``Retry-After`` when it gives one), every other 4xx is fatal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from integration.errors import (
    ConfigurationError,
    DeliveryError,
    FatalError,
    RetriableError,
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
    if status in retriable or status >= 500:
        return RetriableError(message, retry_after=wait)
    return FatalError(message)


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
