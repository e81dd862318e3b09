"""Shared by the Freshdesk modules: the bot marker, HTML <-> text, and field readers."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

# Shared with every adapter; re-exported so this package's modules import from one place.
from adapters.helpdesk.common import (  # noqa: F401
    BOT_MARKER,
    has_marker,
    with_marker,
)
from adapters.helpdesk.common import header as _header  # noqa: F401
from adapters.helpdesk.common import is_url as _is_url  # noqa: F401
from adapters.helpdesk.common import mapping as _mapping  # noqa: F401
from adapters.helpdesk.common import mappings as _mappings  # noqa: F401
from adapters.helpdesk.common import number as _number  # noqa: F401
from integration.errors import ValidationError
from integration.models import parse_time

HELPDESK = "freshdesk"
_DIGITS = re.compile(r"^\d+$")
_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6])>|<br\s*/?>", re.IGNORECASE)


def to_html(text: str) -> str:
    """Plain text -> the HTML Freshdesk expects in ``body`` (paragraphs, line breaks kept)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.strip().splitlines()) + "</p>"
        for p in paragraphs
    )


def html_to_text(value: str) -> str:
    """A readable plain text of an HTML body, for payloads that carry no ``body_text``."""
    text = _BLOCK_END.sub("\n", value)
    text = html.unescape(_TAG.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _id(value: Any, path: str) -> str:
    if isinstance(value, bool) or value is None or not _DIGITS.match(str(value).strip()):
        raise ValidationError(path, f"expected a numeric Freshdesk id, got {value!r}")
    return str(value).strip()


def _opt_id(value: Any, path: str) -> str | None:
    return None if value is None or value == "" else _id(value, path)


def _code(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(path, f"expected an integer code, got {value!r}")
    return value


def _time(value: Any, path: str) -> datetime:
    return parse_time(value, path)


def _opt_text(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value)
