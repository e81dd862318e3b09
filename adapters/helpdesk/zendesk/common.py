"""Shared by the Zendesk modules: field readers that name the bad field."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from integration.errors import ValidationError
from integration.models import parse_time

__all__ = ["DIGITS", "HELPDESK", "macro_id", "zendesk_id", "zendesk_time"]

HELPDESK = "zendesk"
DIGITS = re.compile(r"^\d+$")
_FRACTION = re.compile(r"(\.\d{6})\d+")
# A synced macro's document id is its Zendesk id; an imported one may say ``macro-360005374974``.
_MACRO = re.compile(r"^(?:(?:zendesk[-:])?macro[-:])?(\d+)$")


def zendesk_id(value: Any, path: str) -> str:
    """A numeric Zendesk id as text, or a ``ValidationError`` naming ``path``."""
    if isinstance(value, bool) or value is None or not DIGITS.match(str(value)):
        raise ValidationError(path, f"expected a numeric Zendesk id, got {value!r}")
    return str(value)


def zendesk_time(value: Any, path: str) -> datetime:
    """An ISO time as Zendesk writes it, or a ``ValidationError`` naming ``path``."""
    # Event webhooks carry nanoseconds, which datetime cannot hold.
    if isinstance(value, str):
        value = _FRACTION.sub(r"\1", value)
    return parse_time(value, path)


def macro_id(value: Any) -> str | None:
    """The Zendesk macro id a knowledge document id names, or None when it names none."""
    if not isinstance(value, str):
        return None
    match = _MACRO.match(value.strip())
    return match.group(1) if match else None
