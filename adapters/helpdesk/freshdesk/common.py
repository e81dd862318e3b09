"""Shared by the Freshdesk modules: HTML to text, and field readers that name the bad field."""

from __future__ import annotations

import html
import re
from typing import Any

from integration.errors import ValidationError

__all__ = ["DIGITS", "HELPDESK", "freshdesk_id", "html_to_text", "int_code", "opt_freshdesk_id"]

HELPDESK = "freshdesk"
DIGITS = re.compile(r"^\d+$")
_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6])>|<br\s*/?>", re.IGNORECASE)


def html_to_text(value: str) -> str:
    """A readable plain text of an HTML body, for payloads that carry no ``body_text``."""
    text = _BLOCK_END.sub("\n", value)
    text = html.unescape(_TAG.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def freshdesk_id(value: Any, path: str) -> str:
    """A numeric Freshdesk id as text, or a ``ValidationError`` naming ``path``."""
    if isinstance(value, bool) or value is None or not DIGITS.match(str(value).strip()):
        raise ValidationError(path, f"expected a numeric Freshdesk id, got {value!r}")
    return str(value).strip()


def opt_freshdesk_id(value: Any, path: str) -> str | None:
    """``freshdesk_id`` of a value that may be null or empty."""
    return None if value is None or value == "" else freshdesk_id(value, path)


def int_code(value: Any, path: str) -> int:
    """A Freshdesk integer code (status, priority, source), or a ``ValidationError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(path, f"expected an integer code, got {value!r}")
    return value
