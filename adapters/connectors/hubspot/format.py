"""Pure helpers of the HubSpot connector: read HubSpot property values, write note and task text.

No I/O here. HubSpot returns every property as a string (or null); these functions turn them
into the model's numbers and dates, and render what the account manager reads on the
company's timeline.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integration.calendars import format_local
from integration.models import Account

__all__ = [
    "DEFAULT_PROPERTIES",
    "FREE_MAIL_DOMAINS",
    "HubSpotCompany",
    "dedupe_marker",
    "epoch_millis",
    "is_free_mail",
    "note_html",
    "parse_amount",
    "parse_date",
    "parse_health",
    "task_due",
    "task_html",
    "task_subject",
]

# Our field -> the HubSpot company property that holds it; tenants override any of them.
DEFAULT_PROPERTIES: Mapping[str, str] = {
    "arr": "annualrevenue",
    "plan": "plan",
    "lifecycle": "lifecyclestage",
    "health": "health_score",
    "renewal": "renewal_date",
}

# Addresses at these domains say nothing about the employer: matching a company on them
# would attach every Gmail user to whichever company once registered "gmail.com".
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "126.com", "163.com", "aol.com", "btinternet.com", "comcast.net", "fastmail.com",
        "free.fr", "gmail.com", "gmx.com", "gmx.de", "gmx.net", "googlemail.com", "hey.com",
        "hotmail.co.uk", "hotmail.com", "hotmail.de", "hotmail.fr", "icloud.com",
        "laposte.net", "libero.it", "live.com", "mac.com", "mail.com", "mail.ru", "me.com",
        "msn.com", "naver.com", "orange.fr", "outlook.com", "outlook.de", "outlook.fr",
        "pm.me", "proton.me", "protonmail.com", "qq.com", "rediffmail.com", "seznam.cz",
        "t-online.de", "tutanota.com", "web.de", "yahoo.co.uk", "yahoo.com", "yahoo.de",
        "yahoo.fr", "yandex.com", "yandex.ru", "ymail.com", "zoho.com",
    }
)

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True, kw_only=True, slots=True)
class HubSpotCompany:
    """What the CRM knows of a requester's company: the model's ``Account`` plus HubSpot ids."""

    account: Account
    company_id: str
    contact_id: str | None = None
    owner_id: str | None = None
    owner_name: str | None = None


def is_free_mail(domain: str, extra: frozenset[str] = frozenset()) -> bool:
    """True when ``domain`` is a consumer mailbox provider, never a company's own domain."""
    name = domain.strip().lower()
    return name in FREE_MAIL_DOMAINS or name in extra


def parse_amount(value: Any) -> float | None:
    """A money amount: ``"120000.00"``, ``"$1,200,000"``, ``"1 200 000 €"`` → float.

    Thousands separators (comma, space, apostrophe) and currency signs are dropped; a
    negative, non-finite or unreadable value is ``None`` rather than a wrong number.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = re.sub(r"[,\s'\u00a0]", "", str(value))
        match = _NUMBER.search(text)
        if match is None:
            return None
        number = float(match.group())
    if not math.isfinite(number) or number < 0:
        return None
    return number


def parse_health(value: Any) -> float | None:
    """A health score as a fraction in [0, 1].

    The rule: a number from 0 to 1 is already a fraction (``"0.35"`` → 0.35); a number above
    1 and up to 100 is a percentage (``"35"`` or ``"35%"`` → 0.35); anything else (negative,
    above 100, unreadable) is ``None``. So ``"1"`` means full health, not 1 %.
    """
    number = parse_amount(value)
    if number is None:
        return None
    if number <= 1.0:
        return number
    if number <= 100.0:
        return round(number / 100.0, 6)
    return None


def parse_date(value: Any) -> date | None:
    """A HubSpot date property: ``"2025-03-01"``, an ISO datetime, or epoch milliseconds."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def dedupe_marker(dedupe_key: str) -> str:
    """One alphanumeric word unique to an escalation, written into the note and the task.

    HubSpot's search tokenizes text on punctuation, so the marker is a single token that
    ``CONTAINS_TOKEN`` finds whole (the dedupe key itself would split on ``:``).
    """
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:24]
    return f"escalade{digest}"


def epoch_millis(moment: datetime) -> str:
    """``hs_timestamp`` as HubSpot documents it: Unix milliseconds, as a string."""
    return str(int(moment.astimezone(UTC).timestamp() * 1000))


def _sla_due(payload: Mapping[str, Any]) -> datetime | None:
    raw = payload.get("sla_due_at")
    if not isinstance(raw, str) or not raw:
        return None
    text = raw[:-1] + "+00:00" if raw.endswith("Z") else raw
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def task_due(payload: Mapping[str, Any], *, now: datetime, hours: float) -> datetime:
    """When the account manager's task is due: ``hours`` from now, or the SLA due time if sooner."""
    due = now + timedelta(hours=hours)
    sla = _sla_due(payload)
    return min(due, sla) if sla is not None else due


def task_subject(payload: Mapping[str, Any]) -> str:
    """``Tier 3 escalation: <ticket subject>``."""
    subject = str(payload.get("subject") or "").strip() or f"ticket {payload.get('ticket_id')}"
    return f"Tier 3 escalation: {subject}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _zone(payload: Mapping[str, Any]) -> Any:
    key = payload.get("display_zone")
    if isinstance(key, str) and key and key != "UTC":
        try:
            return ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def _facts(payload: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    threat = payload.get("threat")
    if isinstance(threat, str) and threat.strip():
        lines.append(f"<strong>The customer</strong> {_e(threat.strip())}")
    requester = payload.get("requester")
    if isinstance(requester, Mapping):
        who = requester.get("name") or requester.get("email")
        if who:
            email = requester.get("email")
            suffix = f" &lt;{_e(email)}&gt;" if email and email != who else ""
            lines.append(f"<strong>Requester:</strong> {_e(who)}{suffix}")
    if payload.get("priority"):
        lines.append(f"<strong>Priority:</strong> {_e(payload['priority'])}")
    if payload.get("category"):
        lines.append(f"<strong>Category:</strong> {_e(payload['category'])}")
    sla = _sla_due(payload)
    if sla is not None:
        # The one rule for due times: the workspace's zone, as notes and Slack show them.
        metric = payload.get("sla_metric")
        label = str(metric).replace("_", " ").capitalize() if metric else "SLA"
        lines.append(f"<strong>{_e(label)} due:</strong> {_e(format_local(sla, _zone(payload)))}")
    account = payload.get("account")
    renewal = account.get("renewal_date") if isinstance(account, Mapping) else None
    if renewal:
        lines.append(f"<strong>Renewal:</strong> {_e(renewal)}")
    issue = payload.get("tracker_issue")
    if isinstance(issue, Mapping) and issue.get("key"):
        url = issue.get("url")
        key = _e(issue["key"])
        linked = (f'<a href="{_e(url)}">{key}</a>'
                  if isinstance(url, str) and url.startswith(("https://", "http://")) else key)
        lines.append(f"<strong>Bug:</strong> {linked}")
    return lines


def _reasons(payload: Mapping[str, Any]) -> str:
    # Plain words; the matched phrases and scores follow as evidence.
    why = payload.get("why") or payload.get("reasons") or ()
    reasons = [r for r in dict.fromkeys(why) if isinstance(r, str) and r.strip()]
    if not reasons:
        return ""
    items = "".join(f"<li>{_e(r)}</li>" for r in reasons)
    evidence = [e for e in payload.get("evidence") or () if isinstance(e, str) and e.strip()]
    more = f"<p><em>Evidence:</em> {_e(' · '.join(evidence))}</p>" if evidence else ""
    return f"<p><strong>Why:</strong></p><ul>{items}</ul>{more}"


def _link(payload: Mapping[str, Any]) -> str:
    url = payload.get("ticket_url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return ""
    return f'<p><a href="{_e(url)}">Open the ticket</a></p>'


def note_html(payload: Mapping[str, Any], marker: str) -> str:
    """``hs_note_body``: subject, tier, reasons, SLA due, summary and link, then the marker."""
    tier = payload.get("tier", 3)
    title = "SLA breached" if payload.get("kind") == "sla_breach" else "escalation"
    subject = str(payload.get("subject") or "").strip() or f"ticket {payload.get('ticket_id')}"
    parts = [f"<p><strong>Tier {_e(tier)} {title}:</strong> {_e(subject)}</p>"]
    facts = _facts(payload)
    if facts:
        parts.append("<p>" + "<br>".join(facts) + "</p>")
    parts.append(_reasons(payload))
    summary = payload.get("summary")
    if isinstance(summary, str) and summary.strip():
        parts.append(f"<p><strong>Summary:</strong> {_e(summary.strip())}</p>")
    previous = [p for p in payload.get("previous_tickets") or () if isinstance(p, Mapping)]
    if previous:
        items = "".join(
            f"<li>#{_e(p.get('id', '?'))} {_e(p.get('subject') or '')}"
            f" ({_e(p.get('status') or 'unknown')})</li>"
            for p in previous[:5]
        )
        parts.append(f"<p><strong>Previous tickets:</strong></p><ul>{items}</ul>")
    parts.append(_link(payload))
    parts.append(f"<p>Escalade ref {marker} ({_e(payload.get('ticket_key', ''))})</p>")
    return "".join(p for p in parts if p)


def task_html(payload: Mapping[str, Any], marker: str) -> str:
    """``hs_task_body``: what to do, why, and the link, then the marker."""
    parts = [
        "<p>Contact the customer about this Tier 3 escalation and take ownership in Slack or "
        "the helpdesk.</p>",
        _reasons(payload),
        _link(payload),
        f"<p>Escalade ref {marker} ({_e(payload.get('ticket_key', ''))})</p>",
    ]
    return "".join(p for p in parts if p)
