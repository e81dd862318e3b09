"""The demo workspace: realistic labeled tickets for the sandbox helpdesk.

``tickets.jsonl`` holds B2B SaaS support tickets in the normalized wire format,
tenant ``demo``, helpdesk ``sandbox``. ``expected.jsonl`` labels each one by the default
escalation policy (the shipped matrix): ``category``, ``tier`` and ``complaint``, with a ``why``
sentence citing the rule. ``complaint`` is true when the customer voices dissatisfaction with
us (anger, disappointment, criticism, a demand for redress or a threat); neutral questions,
requests and factual fault reports are not complaints.

Several tickets share a requester or account on purpose: Mosaic Retail's sync bug is reported
three times (1022, 1031, 1040), so the third contact exercises the repeat-contact rule.

The files keep their fixed November 2026 dates (the detection tests read them as written);
``escalade demo`` dates them relative to the moment it runs (``integration.demo.timing``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

from integration.errors import ValidationError
from integration.models import Category, Ticket

__all__ = [
    "DEMO_HELPDESK",
    "DEMO_TENANT",
    "demo_expected",
    "demo_tickets",
    "parse_expected",
    "parse_tickets",
]

DEMO_TENANT = "demo"
DEMO_HELPDESK = "sandbox"

_TICKETS = "tickets.jsonl"
_EXPECTED = "expected.jsonl"


def demo_tickets() -> list[Ticket]:
    """The demo workspace's tickets, oldest first, as packaged with Escalade."""
    return parse_tickets(_read(_TICKETS).splitlines(), source=_TICKETS)


def demo_expected() -> dict[str, dict[str, Any]]:
    """Labels by ticket id: ``{"category", "tier", "complaint", "why"}``."""
    return parse_expected(_read(_EXPECTED).splitlines(), source=_EXPECTED)


def parse_tickets(lines: Iterable[str], *, source: str = "<tickets>") -> list[Ticket]:
    """Parse JSONL ticket lines; a bad line raises ``ValidationError`` with its line number."""
    tickets: list[Ticket] = []
    for number, line in _numbered(lines):
        data = _json(line, number, source)
        try:
            tickets.append(Ticket.from_dict(data))
        except ValidationError as err:
            raise ValidationError(err.field, f"{source}: {err.message}", line=number) from err
    return tickets


def parse_expected(
    lines: Iterable[str], *, source: str = "<expected>"
) -> dict[str, dict[str, Any]]:
    """Parse JSONL label lines into ``{id: {"category", "tier", "complaint", "why"}}``."""
    labels: dict[str, dict[str, Any]] = {}
    for number, line in _numbered(lines):
        data = _json(line, number, source)
        ticket_id = data.get("id")
        if not isinstance(ticket_id, str) or not ticket_id:
            raise ValidationError("id", f"{source}: expected a non-empty string", line=number)
        if ticket_id in labels:
            raise ValidationError("id", f"{source}: duplicate label for {ticket_id!r}", line=number)
        labels[ticket_id] = {
            **_label(data.get("expected"), number, source),
            "why": _why(data.get("why"), number, source),
        }
    return labels


def _read(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def _numbered(lines: Iterable[str]) -> Iterable[tuple[int, str]]:
    return ((n, line) for n, line in enumerate(lines, start=1) if line.strip())


def _json(line: str, number: int, source: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValidationError("line", f"{source}: not valid JSON: {err.msg}", line=number) from err
    if not isinstance(data, dict):
        raise ValidationError("line", f"{source}: expected a JSON object", line=number)
    return data


def _label(value: Any, number: int, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError("expected", f"{source}: expected an object", line=number)
    category = value.get("category")
    if category not in {c.value for c in Category}:
        raise ValidationError(
            "expected.category", f"{source}: {category!r} is not a category", line=number
        )
    tier = value.get("tier")
    if isinstance(tier, bool) or tier not in (1, 2, 3):
        raise ValidationError("expected.tier", f"{source}: expected 1, 2 or 3", line=number)
    complaint = value.get("complaint")
    if not isinstance(complaint, bool):
        raise ValidationError(
            "expected.complaint", f"{source}: expected true or false", line=number
        )
    return {"category": category, "tier": tier, "complaint": complaint}


def _why(value: Any, number: int, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("why", f"{source}: a one-sentence reason is required", line=number)
    return value
