"""The Slack message of the weekly digest: a workspace's week in a few lines, each linked.

The payload (``integration.analytics.digest``) carries the figures and the links; this turns
them into Block Kit: a header, the volume, escalation rate by tier and SLA attainment as
fields, then the new triggers, the accounts most at risk and the emerging incidents, and a
button to the week on the dashboard. The message goes to the payload's own ``channel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.connectors.slack import markup as kit

__all__ = ["DIGEST_KIND", "digest_blocks", "digest_text"]

# ``payload["kind"]`` of the weekly digest.
DIGEST_KIND = "weekly_digest"
_TEXT_MAX = 3000
_FIELD_MAX = 2000
_LINES_MAX = 8


def _link(url: Any, label: str) -> str:
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return f"<{url}|{label}>"
    return label


def _pct(value: Any) -> str:
    return f"{value * 100:.0f}%" if isinstance(value, int | float) else "–"


def _items(payload: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    return [i for i in payload.get(key) or () if isinstance(i, Mapping)][:_LINES_MAX]


def digest_text(payload: Mapping[str, Any]) -> str:
    """The notification text: "Weekly digest · acme · 2026-W49: 120 tickets"."""
    return f"{payload.get('title') or 'Weekly digest'}: {payload.get('tickets', 0)} tickets"


def _fields(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    links = payload.get("links") or {}
    tiers = " · ".join(
        _link(t.get("url"), f"Tier {t.get('tier')}") + f" {_pct(t.get('share'))} "
        f"({t.get('tickets', 0)})" for t in _items(payload, "tiers"))
    sla = payload.get("sla") or {}
    pairs = [
        ("Tickets", f"{_link(links.get('tickets'), str(payload.get('tickets', 0)))}\n"
                    f"{kit.escape(payload.get('change') or '')}"),
        ("Escalation rate by tier", tiers or "–"),
        ("SLA attainment", f"{_pct(sla.get('attainment'))}: {sla.get('met', 0)} met, "
                           f"{_link(links.get('sla'), str(sla.get('breached', 0)) + ' breached')}"
                           f"\nthe week before {_pct(sla.get('attainment_before'))}"),
    ]
    return [{"type": "mrkdwn", "text": f"*{name}*\n{text}"[:_FIELD_MAX]} for name, text in pairs]


def _section(title: str, lines: list[str], empty: str) -> dict[str, Any]:
    body = "\n".join(f"• {line}" for line in lines) if lines else empty
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{body}"[:_TEXT_MAX]}}


def _triggers(payload: Mapping[str, Any]) -> list[str]:
    return [f"{_link(t.get('url'), kit.escape(t.get('name') or '?'))}: {t.get('tickets', 0)} "
            f"tickets (usually {float(t.get('usual') or 0):.1f} a week)"
            for t in _items(payload, "triggers")]


def _accounts(payload: Mapping[str, Any], currency: str) -> list[str]:
    currency = kit.escape(payload.get("currency") or currency)
    return [f"{_link(a.get('url'), kit.escape(a.get('name') or '?'))}: "
            f"{currency}{float(a.get('arr_at_risk') or 0):,.0f} ARR at risk "
            f"(score {float(a.get('score') or 0):.2f})" for a in _items(payload, "accounts")]


def _incidents(payload: Mapping[str, Any]) -> list[str]:
    out = []
    for item in _items(payload, "incidents"):
        name = kit.escape(item.get("title") or "?")
        key = item.get("tracker_key")
        label = f"{name} ({kit.escape(key)})" if key else name
        spike = ", spiking" if item.get("spiked") else ""
        out.append(f"{_link(item.get('url'), label)}: {item.get('tickets', 0)} tickets{spike}")
    return out


def digest_blocks(payload: Mapping[str, Any], *, currency: str = "$") -> list[dict[str, Any]]:
    """The digest's message: figures, new triggers, accounts at risk, emerging incidents."""
    title = str(payload.get("title") or "Weekly digest")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": kit.escape(
            f"{payload.get('first_day')} to {payload.get('last_day')}, days in "
            f"{payload.get('display_zone') or 'UTC'}")}]},
        {"type": "section", "fields": _fields(payload)},
        _section("New triggers", _triggers(payload), "None fired more than usual."),
        _section("Accounts at risk", _accounts(payload, currency), "No account is at risk."),
        _section("Emerging incidents", _incidents(payload),
                 "No open bug group had tickets this week."),
    ]
    url = (payload.get("links") or {}).get("dashboard")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        button = {"type": "button", "action_id": kit.ACTION_IDS["open_ticket"],
                  "text": {"type": "plain_text", "text": "Open the week's dashboard",
                           "emoji": True},
                  "value": kit.button_value(str(payload.get("dedupe_key") or "digest"), None),
                  "url": url[:3000]}
        blocks.append({"type": "actions", "block_id": "escalade_digest_actions",
                       "elements": [button]})
    return blocks
