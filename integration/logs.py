"""Log lines a person reads on a terminal, or one JSON object a line for a log pipeline.

``log_context(tenant=..., ticket=...)`` names what the lines written inside it are about;
both formats carry those ids (``tenant``, ``ticket``, ``event``, ``outbox``), so every line
of one ticket's story can be found by its id. Secrets never reach a log line through here:
the fields are ids, and messages are written by our own code.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from integration.errors import ConfigurationError

__all__ = ["JsonFormatter", "TextFormatter", "configure_logging", "log_context"]

_CONTEXT: ContextVar[dict[str, str]] = ContextVar("escalade_log_context", default={})  # noqa: B039
_FIELDS = ("tenant", "ticket", "event", "outbox")


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Lines logged inside name these ids (None values are left out)."""
    merged = {**_CONTEXT.get(), **{k: str(v) for k, v in fields.items() if v is not None}}
    token = _CONTEXT.set(merged)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class _Context(logging.Filter):
    """Puts the current log context on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.escalade = _CONTEXT.get()
        return True


def _context_of(record: logging.LogRecord) -> dict[str, str]:
    found = getattr(record, "escalade", None)
    return found if isinstance(found, dict) else _CONTEXT.get()


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the ids, the error if any."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_context_of(record))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``LEVEL logger: message [tenant=acme ticket=zendesk:4711]`` for a person."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record on one line (plus the traceback), the ids at the end."""
        text = super().format(record)
        context = _context_of(record)
        ids = " ".join(f"{k}={context[k]}" for k in _FIELDS if k in context)
        if not ids:
            return text
        first, newline, rest = text.partition("\n")
        return f"{first} [{ids}]{newline}{rest}"


def configure_logging(level: str, fmt: str = "auto", stream: IO[str] | None = None) -> None:
    """Send log lines to ``stream`` (stderr) as ``fmt``, unless logging is set up already.

    ``auto`` is text on a terminal and JSON otherwise (a container, a service manager).
    """
    root = logging.getLogger()
    if root.handlers:
        # Someone configured logging first (a test runner, an embedding application).
        return
    out = stream or sys.stderr
    chosen = fmt.lower()
    if chosen not in ("auto", "json", "text"):
        raise ConfigurationError(f"LOG_FORMAT must be auto, json or text, got {fmt!r}")
    if chosen == "auto":
        chosen = "text" if out.isatty() else "json"
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    handler.addFilter(_Context())
    root.addHandler(handler)
    root.setLevel(level.upper())
