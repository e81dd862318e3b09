"""The Slack message for an account that crossed its at-risk threshold.

The payload (``integration.account_watch``) names the account, its score and threshold, the
ARR at risk, and the reasons, each with a link to the tickets behind it on the account's page;
what could not be known is said under them. The owner is mentioned when Slack knows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.connectors.slack import markup as kit

__all__ = ["ACCOUNT_KIND", "account_blocks", "account_title"]

# ``payload["kind"]`` of an at-risk account's alert.
ACCOUNT_KIND = "account_at_risk"
_TEXT_MAX = 3000
_REASONS_MAX = 8
_MISSING_MAX = 4


def account_title(payload: Mapping[str, Any]) -> str:
    """"Account at risk · <name>"."""
    account = payload.get("account")
    name = account.get("name") or account.get("id") if isinstance(account, Mapping) else None
    return f"Account at risk · {name}" if name else "Account at risk"


def _money(value: Any, currency: str) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return f"{kit.escape(currency)}{value:,.0f}"


def _headline(payload: Mapping[str, Any], currency: str) -> str:
    score, threshold = payload.get("score"), payload.get("threshold")
    parts = []
    if isinstance(score, int | float) and isinstance(threshold, int | float):
        parts.append(f"Score *{score:.2f}* (at risk from {threshold:.2f})")
    arr, at_risk = _money((payload.get("account") or {}).get("arr"), currency), _money(
        payload.get("arr_at_risk"), currency)
    if at_risk and arr:
        parts.append(f"ARR at risk *{at_risk}* of {arr}")
    slack_user = payload.get("account_owner_slack")
    owner = (payload.get("account") or {}).get("owner")
    if slack_user:
        parts.append(f"Owner <@{kit.escape(slack_user)}>")
    elif owner:
        parts.append(f"Owner {kit.escape(owner)}")
    else:
        parts.append("No account owner on record")
    return " · ".join(parts)


def _reasons(payload: Mapping[str, Any]) -> str:
    lines = []
    for reason in list(payload.get("reasons") or ())[:_REASONS_MAX]:
        if not isinstance(reason, Mapping) or not reason.get("text"):
            continue
        url = reason.get("url")
        text = kit.escape(reason["text"])
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            text += f" <{url}|evidence>"
        lines.append(f"• {text}")
    return "*Why*\n" + "\n".join(lines) if lines else "*Why*\n• (no reasons given)"


def account_blocks(payload: Mapping[str, Any], *, currency: str = "$") -> list[dict[str, Any]]:
    """The at-risk message: score, ARR at risk, owner, the reasons with their evidence."""
    title = account_title(payload)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": _headline(payload, currency)[:_TEXT_MAX]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _reasons(payload)[:_TEXT_MAX]}},
    ]
    missing = [kit.escape(m) for m in list(payload.get("missing") or ())[:_MISSING_MAX] if m]
    if missing:
        blocks.append({"type": "context",
                       "elements": [{"type": "mrkdwn", "text": m[:_TEXT_MAX]} for m in missing]})
    url = payload.get("account_url")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        value = kit.button_value(str(payload["dedupe_key"]), None)
        button = {"type": "button", "action_id": kit.ACTION_IDS["open_ticket"],
                  "text": {"type": "plain_text", "text": "Open account", "emoji": True},
                  "value": value, "url": url[:3000]}
        blocks.append({"type": "actions", "block_id": "escalade_account_actions",
                       "elements": [button]})
    return blocks
