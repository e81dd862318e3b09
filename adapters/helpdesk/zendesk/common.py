"""Shared by the Zendesk modules: the bot marker and field readers that name the bad field."""

from __future__ import annotations

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

HELPDESK = "zendesk"
_DIGITS = re.compile(r"^\d+$")
_FRACTION = re.compile(r"(\.\d{6})\d+")


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
