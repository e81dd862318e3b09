"""Shared by the Zendesk modules: the bot marker and field readers that name the bad field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from integration.errors import ValidationError
from integration.models import parse_time

HELPDESK = "zendesk"
BOT_MARKER = "— Escalade"
_DIGITS = re.compile(r"^\d+$")
_FRACTION = re.compile(r"(\.\d{6})\d+")


def with_marker(body: str) -> str:
    """Append the footer that marks a comment as written by Escalade."""
    text = body.rstrip()
    if text.endswith(BOT_MARKER):
        return text
    return f"{text}\n\n{BOT_MARKER}"


def has_marker(body: str) -> bool:
    """True when a comment body ends with Escalade's footer."""
    return body.rstrip().endswith(BOT_MARKER)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value.strip() if isinstance(value, str) else None


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(path, "expected an object")
    return value


def _mappings(value: Any, path: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValidationError(path, "expected a list")
    return [_mapping(v, f"{path}[{i}]") for i, v in enumerate(value)]


def _id(value: Any, path: str) -> str:
    if isinstance(value, bool) or value is None or not _DIGITS.match(str(value)):
        raise ValidationError(path, f"expected a numeric Zendesk id, got {value!r}")
    return str(value)


def _time(value: Any, path: str) -> datetime:
    # Event webhooks carry nanoseconds, which datetime cannot hold.
    if isinstance(value, str):
        value = _FRACTION.sub(r"\1", value)
    return parse_time(value, path)


def _opt_text(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value)


def _number(value: Any, path: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(path, "expected a number")
    try:
        return float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
    except ValueError as err:
        raise ValidationError(path, f"expected a number, got {value!r}") from err


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))
