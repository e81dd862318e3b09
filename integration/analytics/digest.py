"""The weekly digest: when it is due, what it says, and the Slack payload that says it.

Pure. A workspace gets the digest when its ``digest`` option names a Slack channel:
``{"channel": "C0123ABCD", "day": "mon", "hour": 9}`` (day and hour in the workspace's time
zone; Monday 09:00 by default). From that moment each week the digest of the week before
(Monday to Sunday, local days) is due. It tells the week's volume and its change on the week
before, the escalation rate by tier, SLA attainment, the triggers that fired well above
their usual week of the four before, the accounts with the most ARR at risk, and the open bug groups
(emerging incidents) that had tickets in the week; each with a link to the page behind it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from integration.analytics.board import TIERS, Board
from integration.errors import ValidationError

__all__ = [
    "DAYS",
    "DIGEST_KIND",
    "AtRisk",
    "Digest",
    "DigestPolicy",
    "Emerging",
    "NewTrigger",
    "digest_lines",
    "digest_payload",
    "due_week",
    "new_triggers",
    "page_links",
    "parse_week",
    "policy_from_settings",
    "trigger_link",
    "week_label",
]

# ``payload["kind"]`` of the digest's Slack message.
DIGEST_KIND = "weekly_digest"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
BEFORE_WEEKS = 4
SHOWN = 5
# A trigger is new when it fires this much more than in a usual week: a small wobble of a
# frequent one (9 where 8 is usual) is not news.
RISE = 1.5


@dataclass(frozen=True, kw_only=True, slots=True)
class DigestPolicy:
    """Where and when a workspace's digest goes."""

    channel: str
    weekday: int = 0  # Monday
    hour: int = 9


def policy_from_settings(settings: Mapping[str, Any] | None) -> DigestPolicy | None:
    """The workspace's digest policy (None: no digest); a bad value names its field."""
    raw = (settings or {}).get("digest")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValidationError("digest", 'must be an object like {"channel": "C0123ABCD"}')
    unknown = sorted(set(raw) - {"channel", "day", "hour"})
    if unknown:
        raise ValidationError(f"digest.{unknown[0]}", "unknown (known: channel, day, hour)")
    channel = raw.get("channel")
    if not isinstance(channel, str) or not _CHANNEL.match(channel.strip()):
        raise ValidationError("digest.channel",
                              f"a Slack channel id such as C0123ABCD, got {channel!r}")
    day = str(raw.get("day", "mon")).strip().lower()[:3]
    if day not in DAYS:
        raise ValidationError("digest.day", f"one of {', '.join(DAYS)}, got {raw.get('day')!r}")
    hour = raw.get("hour", 9)
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise ValidationError("digest.hour", f"a whole hour from 0 to 23, got {hour!r}")
    return DigestPolicy(channel=channel.strip(), weekday=DAYS.index(day), hour=hour)


def week_label(monday: date) -> str:
    """The ISO week of ``monday``: ``2026-W49``."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str, *, option: str = "--week") -> date:
    """The Monday of an ISO week written ``YYYY-Www``; a bad one names ``option``."""
    found = _WEEK.match(text.strip())
    try:
        if found is None:
            raise ValueError(text)
        return date.fromisocalendar(int(found[1]), int(found[2]), 1)
    except ValueError as err:
        raise ValidationError(option, f"expected an ISO week such as 2026-W49, got {text!r}"
                              ) from err


def due_week(local_now: datetime, policy: DigestPolicy) -> date | None:
    """The Monday of the week whose digest is due at ``local_now`` (the workspace's time),
    or None before this week's sending moment."""
    monday = local_now.date() - timedelta(days=local_now.weekday())
    moment = datetime.combine(monday + timedelta(days=policy.weekday), time(policy.hour),
                              tzinfo=local_now.tzinfo)
    return monday - timedelta(weeks=1) if local_now >= moment else None


@dataclass(frozen=True, kw_only=True, slots=True)
class NewTrigger:
    """A trigger that fired more this week than in a usual week of the four before."""

    name: str
    tickets: int
    usual: float
    url: str = ""


def new_triggers(this_week: Mapping[str, int], before: Mapping[str, int], *,
                 weeks: int = BEFORE_WEEKS, top: int = SHOWN) -> list[NewTrigger]:
    """Triggers that fired on at least ``RISE`` times their weekly mean of the ``weeks``
    before (and on two tickets or more), the largest rise first."""
    rising = [NewTrigger(name=name, tickets=n, usual=before.get(name, 0) / weeks)
              for name, n in this_week.items()
              if name and n >= 2 and n >= RISE * before.get(name, 0) / weeks]
    rising.sort(key=lambda t: (-(t.tickets - t.usual), -t.tickets, t.name))
    return rising[:top]


@dataclass(frozen=True, kw_only=True, slots=True)
class AtRisk:
    """An account at risk, as the digest lists it."""

    name: str
    arr_at_risk: float
    score: float
    url: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Emerging:
    """An open bug group with tickets this week."""

    title: str
    tickets: int
    spiked: bool
    tracker_key: str | None
    url: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Digest:
    """One workspace's week, as the digest tells it."""

    workspace: str
    monday: date
    zone: str
    week: Board
    previous: Board
    triggers: Sequence[NewTrigger]
    accounts: Sequence[AtRisk]
    incidents: Sequence[Emerging]
    links: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The ISO week: ``2026-W49``."""
        return week_label(self.monday)

    @property
    def sunday(self) -> date:
        """The week's last day."""
        return self.monday + timedelta(days=6)

    @property
    def tickets(self) -> int:
        """Tickets that came in during the week."""
        return self.week.total.tickets


def page_links(base_url: str, slug: str, monday: date) -> dict[str, str]:
    """The dashboard and ticket lists behind the digest's figures, for the week."""
    base = base_url.rstrip("/")
    span = {"workspace": slug, "from": monday.isoformat(),
            "to": (monday + timedelta(days=6)).isoformat()}
    board = f"{base}/admin/dashboard?" + urlencode({**span, "period": "custom"})
    out = {"dashboard": board, "tickets": f"{base}/?" + urlencode(span),
           "sla": f"{base}/?" + urlencode({**span, "sla": "breached"})}
    for tier in TIERS:
        out[f"tier{tier}"] = f"{base}/?" + urlencode({**span, "tier": str(tier)})
    return out


def trigger_link(base_url: str, slug: str, monday: date, name: str) -> str:
    """The list of the week's tickets on which ``name`` fired."""
    span = {"workspace": slug, "from": monday.isoformat(),
            "to": (monday + timedelta(days=6)).isoformat(), "trigger": name}
    return f"{base_url.rstrip('/')}/?" + urlencode(span)


def _change(now: int, before: int) -> str:
    if before == 0:
        return "none the week before" if now else "none either the week before"
    delta = (now - before) / before
    return f"{'+' if delta >= 0 else '−'}{abs(delta) * 100:.0f}% on the week before ({before})"


def _rate(board: Board, tier: int) -> float | None:
    total = board.total.tickets
    return board.tiers[tier].tickets / total if total else None


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def digest_payload(digest: Digest, *, channel: str, currency: str = "$") -> dict[str, Any]:
    """The Slack message's payload (an ALERT action's, ``kind`` ``weekly_digest``)."""
    week, before = digest.week, digest.previous
    return {
        "kind": DIGEST_KIND,
        "title": f"Weekly digest · {digest.workspace} · {digest.label}",
        "dedupe_key": f"{digest.workspace}:digest:{digest.label}",
        "ticket_key": f"{digest.workspace}:digest",
        "tenant": digest.workspace,
        "channel": channel,
        "currency": currency,
        "week": digest.label,
        "first_day": digest.monday.isoformat(),
        "last_day": digest.sunday.isoformat(),
        "display_zone": digest.zone,
        "tickets": digest.tickets,
        "tickets_before": before.total.tickets,
        "change": _change(digest.tickets, before.total.tickets),
        "tiers": [{"tier": t, "tickets": week.tiers[t].tickets, "share": _rate(week, t),
                   "url": digest.links.get(f"tier{t}")} for t in TIERS],
        "escalation_rate": week.escalation_rate,
        "sla": {"met": int(week.total["sla_met"]), "breached": int(week.total["sla_breached"]),
                "attainment": week.total.attainment,
                "attainment_before": before.total.attainment},
        "triggers": [{"name": t.name, "tickets": t.tickets, "usual": round(t.usual, 2),
                      "url": t.url} for t in digest.triggers],
        "accounts": [{"name": a.name, "arr_at_risk": round(a.arr_at_risk, 2),
                      "score": round(a.score, 2), "url": a.url} for a in digest.accounts],
        "incidents": [{"title": i.title, "tickets": i.tickets, "spiked": i.spiked,
                       "tracker_key": i.tracker_key, "url": i.url} for i in digest.incidents],
        "links": dict(digest.links),
        "rules": ["weekly_digest"],
    }


def digest_lines(payload: Mapping[str, Any]) -> list[str]:
    """The digest as plain lines (the preview ``escalade digest --dry-run`` prints)."""
    currency = str(payload.get("currency") or "$")
    sla = payload["sla"]
    lines = [
        f"{payload['title']} ({payload['first_day']} to {payload['last_day']}, "
        f"{payload['display_zone']})",
        f"Tickets: {payload['tickets']} ({payload['change']})",
        "Escalation rate: " + ", ".join(
            f"Tier {t['tier']} {_pct(t['share'])} ({t['tickets']})" for t in payload["tiers"]),
        f"SLA attainment: {_pct(sla['attainment'])} ({sla['met']} met, {sla['breached']} "
        f"breached; the week before {_pct(sla['attainment_before'])})",
        "New triggers: " + (", ".join(
            f"{t['name']} {t['tickets']} (usually {t['usual']:.1f})" for t in payload["triggers"])
            or "none above their usual"),
        "Accounts at risk: " + (", ".join(
            f"{a['name']} {currency}{a['arr_at_risk']:,.0f} at risk" for a in payload["accounts"])
            or "none"),
        "Emerging incidents: " + (", ".join(
            f"{i['title']} ({i['tickets']} tickets{', spiking' if i['spiked'] else ''})"
            for i in payload["incidents"]) or "none open with tickets this week"),
        f"Dashboard: {payload['links'].get('dashboard', '')}",
    ]
    return lines
