"""Shared by the Intercom modules: HTML to text, and field readers that name the bad field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from adapters.helpdesk.common import mapping
from integration.errors import ValidationError

__all__ = [
    "API_VERSION",
    "DIGITS",
    "HELPDESK",
    "intercom_id",
    "numeric_intercom_id",
    "opt_mapping",
    "opt_stripped",
    "plain_text",
    "unix_time",
]

HELPDESK = "intercom"
API_VERSION = "2.14"
_BLOCKS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                     "blockquote", "pre", "tr"})
_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\r\f\v]+")
DIGITS = re.compile(r"^\d+$")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.out.append("\n")
        elif tag in _BLOCKS:
            self.out.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS and tag != "br":
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.out.append(_SPACES.sub(" ", data))


def plain_text(body: str) -> str:
    """Intercom part bodies are HTML (even with ``display_as=plaintext`` for some sources)."""
    if "<" not in body and "&" not in body:
        return body.strip()
    parser = _TextParser()
    parser.feed(body)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def opt_mapping(value: Any, path: str) -> Mapping[str, Any]:
    """``mapping`` of a value that may be null (an empty object then)."""
    return {} if value is None else mapping(value, path)


def intercom_id(value: Any, path: str) -> str:
    """Intercom ids: numeric for conversations, admins and teams; hex strings for contacts."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(path, f"expected an Intercom id, got {value!r}")
    text = str(value).strip()
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ValidationError(path, f"expected an Intercom id, got {value!r}")
    return text


def numeric_intercom_id(value: Any, path: str) -> str:
    """A numeric Intercom id (conversation, admin, team) as text, or a ``ValidationError``."""
    if isinstance(value, bool) or value is None or not DIGITS.match(str(value).strip()):
        raise ValidationError(path, f"expected a numeric Intercom id, got {value!r}")
    return str(value).strip()


def unix_time(value: Any, path: str) -> datetime:
    """Intercom timestamps are Unix seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(path, f"expected Unix seconds, got {value!r}")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise ValidationError(path, f"timestamp out of range: {value!r}") from err


def opt_stripped(value: Any) -> str | None:
    """``value`` as stripped text, or None for null and blank strings."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value).strip()
