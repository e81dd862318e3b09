"""Shared by the Freshdesk modules: the bot marker, HTML <-> text, and field readers."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from integration.errors import ValidationError
from integration.models import parse_time

HELPDESK = "freshdesk"
BOT_MARKER = "— Escalade"
_DIGITS = re.compile(r"^\d+$")
_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6])>|<br\s*/?>", re.IGNORECASE)


def with_marker(text: str) -> str:
    """Append the footer that marks a note or reply as written by Escalade."""
    body = text.rstrip()
    if body.endswith(BOT_MARKER):
        return body
    return f"{body}\n\n{BOT_MARKER}"


def has_marker(text: str) -> bool:
    """True when a plain-text body ends with Escalade's footer."""
    return text.rstrip().endswith(BOT_MARKER)


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
