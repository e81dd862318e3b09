"""What every Slack message of Escalade's shares: escaping, button ids and button values.

Kept apart from the layouts (``blocks``, ``account_blocks``) so each layout builds on it
without importing another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from integration.errors import ValidationError

__all__ = ["ACTION_IDS", "ACTION_NAMES", "button_value", "escape", "parse_button_value"]

# Button action ids Escalade owns, by the name ``SlackAction.action`` carries.
ACTION_IDS: Mapping[str, str] = {
    "acknowledge": "escalade_acknowledge",
    "take_ownership": "escalade_take_ownership",
    "snooze": "escalade_snooze",
    "open_ticket": "escalade_open_ticket",
    "open_issue": "escalade_open_issue",
}
ACTION_NAMES: Mapping[str, str] = {v: k for k, v in ACTION_IDS.items()}


def escape(text: object) -> str:
    """Escape user text for mrkdwn: Slack reads only ``&``, ``<`` and ``>`` as control."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def button_value(dedupe_key: str, ticket_key: str | None) -> str:
    """What every alert button carries back: the escalation and its ticket."""
    value = json.dumps({"dedupe_key": dedupe_key, "ticket_key": ticket_key},
                       separators=(",", ":"))
    if len(value) > 2000:
        raise ValidationError("dedupe_key", "too long for a Slack button value (2000)")
    return value


def parse_button_value(value: str | None) -> tuple[str, str | None]:
    """``(dedupe_key, ticket_key)`` from a button value; a bare string is a dedupe key."""
    if not value:
        raise ValidationError("actions[0].value", "the button carries no escalation")
    try:
        data = json.loads(value)
    except ValueError:
        return value, None
    if not isinstance(data, dict) or not isinstance(data.get("dedupe_key"), str):
        raise ValidationError("actions[0].value", "expected {dedupe_key, ticket_key}")
    ticket_key = data.get("ticket_key")
    return data["dedupe_key"], ticket_key if isinstance(ticket_key, str) else None
