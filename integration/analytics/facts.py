"""One decided ticket as the dashboard counts it, and the rollup rows it adds to.

A ``Fact`` is what the dashboard knows of one ticket: the day and hour it came in (in its
workspace's time zone), its current tier and the dimensions the page filters on (helpdesk,
plan, ARR band, channel, category), the breakdowns it is counted in (hour of day, group,
triggers, product area, onboarding age) and its measures (time to escalation, to first
response, to resolution, SLA met or breached, satisfaction). ``contributions`` turns a fact
into the rollup rows it adds to — per day, week and month, once for the totals and, per
breakdown, once with no filter dimension, once per filter dimension, and per month once more
with every filter dimension — and ``deltas`` is what changes in the rollups when a ticket's
fact changes.
Where the numbers come from:

- time to escalation: from creation to the first time the ticket stood at Tier 2 or higher
  (the stored tier history; a ticket recognized at once counts zero);
- first response: the helpdesk's own reply time when an import carries it
  (``custom.first_reply_minutes``), else the first public agent reply in the conversation;
- resolution: ``custom.resolution_minutes`` likewise, else the last move to solved or closed
  in the stored status history, for tickets solved or closed now;
- SLA: breached when any clock of the ticket passed its due time, met when every clock was
  met in time, otherwise (still running) neither;
- satisfaction: the ticket's rating (0 to 1) when the customer gave one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

from integration.models import parse_time

__all__ = [
    "AGE_BANDS",
    "ARR_BANDS",
    "DIMENSIONS",
    "ESCALATED_FROM",
    "EVERY",
    "GRAINS",
    "KINDS",
    "MEASURES",
    "Fact",
    "Key",
    "Spike",
    "age_band",
    "arr_band",
    "breakdown_values",
    "contributions",
    "deltas",
    "fact_of",
    "month_of",
    "week_of",
    "product_area",
    "spikes",
]

ESCALATED_FROM = 2  # a ticket at this tier or above counts as escalated
# (key, label, lowest, highest or None); keys travel in links, labels are shown.
ARR_BANDS: tuple[tuple[str, str, float, float | None], ...] = (
    ("under_10k", "under 10k", 0, 10_000),
    ("10k_50k", "10k to 50k", 10_000, 50_000),
    ("50k_200k", "50k to 200k", 50_000, 200_000),
    ("200k_plus", "200k and more", 200_000, None),
)
AGE_BANDS: tuple[tuple[str, str, int, int | None], ...] = (
    ("0_30", "first 30 days", 0, 31),
    ("31_90", "31 to 90 days", 31, 91),
    ("91_365", "91 days to a year", 91, 366),
    ("365_plus", "over a year", 366, None),
)
# The page's filters, in the order of the rollup key.
DIMENSIONS = ("helpdesk", "plan", "arr_band", "channel", "category")
# The breakdowns a ticket is also counted in ("" is the totals row).
KINDS = ("hour", "group", "trigger", "area", "age")
MEASURES = ("tickets", "escalated_n", "escalated_s", "first_n", "first_s", "resolved_n",
            "resolved_s", "sla_met", "sla_breached", "csat_n", "csat_sum")
_DONE = frozenset({"solved", "closed"})
_BREACHED = frozenset({"breached", "promoted"})
_AREA_CHARS = 40

_Dims = tuple[str, str, str, str, str]  # helpdesk, plan, arr_band, channel, category
_BLANK: _Dims = ("", "", "", "", "")

# What a rollup row keeps of the filter dimensions: all of them (the totals, and breakdowns
# per month), none ("") or one (its name).
EVERY = "all"
# tenant_id, grain ("d", "w" or "m"), kept, kind, day, value, tier, helpdesk, plan, arr_band,
# channel, category
Key = tuple[int, str, str, str, date, str, int, str, str, str, str, str]


@dataclass(frozen=True, kw_only=True, slots=True)
class Fact:
    """One decided ticket as the dashboard counts it ("" where a dimension is unknown)."""

    ticket_id: int
    tenant_id: int
    day: date
    hour: int
    tier: int
    helpdesk: str
    plan: str
    arr_band: str
    channel: str
    category: str
    group: str
    area: str
    age: str
    triggers: tuple[str, ...]
    escalated_s: float | None
    first_s: float | None
    resolved_s: float | None
    sla: str  # "met", "breached" or ""
    csat: float | None

    def measures(self) -> tuple[float, ...]:
        """The totals row's measures, in ``MEASURES`` order."""
        return (
            1,
            *_timed(self.escalated_s), *_timed(self.first_s), *_timed(self.resolved_s),
            int(self.sla == "met"), int(self.sla == "breached"),
            *_timed(self.csat),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Spike:
    """A day on which a segment had many more Tier 3 tickets than on the days before."""

    segment: str
    day: date
    count: int
    usual: float


def _timed(value: float | None) -> tuple[int, float]:
    return (0, 0.0) if value is None else (1, float(value))


def month_of(day: date) -> date:
    """The first day of ``day``'s month (the monthly rollup's key)."""
    return day.replace(day=1)


def week_of(day: date) -> date:
    """The Monday of ``day``'s week (the weekly rollup's key)."""
    return day - timedelta(days=day.weekday())


def arr_band(arr: Any) -> str:
    """The ARR band key of an amount; "" when unknown."""
    if not isinstance(arr, int | float) or isinstance(arr, bool) or arr < 0:
        return ""
    return next(key for key, _, low, high in ARR_BANDS
                if arr >= low and (high is None or arr < high))


def age_band(days: int | None) -> str:
    """The onboarding age band key of an account ``days`` old; "" when unknown."""
    if days is None or days < 0:
        return ""
    return next(key for key, _, low, high in AGE_BANDS
                if days >= low and (high is None or days < high))


def product_area(page_url: Any, category: str) -> str:
    """Where in the product: the page's first path segment ("/billing"), else the category."""
    if isinstance(page_url, str) and page_url.strip():
        try:
            path = urlsplit(page_url.strip()).path
        except ValueError:
            path = ""
        first = next((p for p in path.split("/") if p), "")
        if first:
            return "/" + first.lower()[:_AREA_CHARS]
    return category


def fact_of(
    *,
    ticket_id: int,
    tenant_id: int,
    helpdesk: str,
    created_at: datetime,
    tier: int,
    category: str,
    data: Mapping[str, Any],
    timeline: Mapping[str, Any] | None,
    clock: Mapping[str, Any] | None,
    sla_state: str | None,
    triggers: Sequence[str],
    group: str | None,
    first_seen: datetime | None,
    zone: tzinfo,
) -> Fact:
    """The fact of one stored ticket; ``first_seen`` is its account's first ticket."""
    local = created_at.astimezone(zone)
    account = data.get("account") or {}
    custom = data.get("custom") or {}
    age = None if first_seen is None else (created_at - min(first_seen, created_at)).days
    return Fact(
        ticket_id=ticket_id, tenant_id=tenant_id, day=local.date(), hour=local.hour,
        tier=tier, helpdesk=helpdesk, plan=str(account.get("plan") or "").lower()[:32],
        arr_band=arr_band(account.get("arr")), channel=str(data.get("channel") or "other"),
        category=category, group=str(data.get("group") or group or "")[:64],
        area=product_area(data.get("page_url"), category),
        age=age_band(age) if account else "",
        triggers=tuple(dict.fromkeys(str(t)[:64] for t in triggers)),
        escalated_s=_escalated(timeline, created_at, tier),
        first_s=_first_response(data, custom, created_at),
        resolved_s=_resolved(data, custom, timeline, created_at),
        sla=_sla(clock, sla_state), csat=_csat(data.get("csat")),
    )


def _minutes(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value) * 60
    return None


def _since(at: Any, created_at: datetime) -> float | None:
    try:
        when = parse_time(at, "timeline")
    except ValueError:
        return None
    return max((when - created_at).total_seconds(), 0.0)


def _first_response(data: Mapping[str, Any], custom: Mapping[str, Any],
                    created_at: datetime) -> float | None:
    imported = _minutes(custom.get("first_reply_minutes"))
    return imported if imported is not None else _first_reply(data, created_at)


def _first_reply(data: Mapping[str, Any], created_at: datetime) -> float | None:
    replies = [m.get("created_at") for m in data.get("messages") or ()
               if isinstance(m, Mapping) and m.get("author") == "agent"
               and m.get("public", True)]
    times = [t for t in (_since(at, created_at) for at in replies if at) if t is not None]
    return min(times) if times else None


def _escalated(timeline: Mapping[str, Any] | None, created_at: datetime,
               tier: int) -> float | None:
    if tier < ESCALATED_FROM:
        return None
    for at, value in (timeline or {}).get("tiers") or ():
        if isinstance(value, int) and value >= ESCALATED_FROM:
            return _since(at, created_at)
    return 0.0


def _resolved(data: Mapping[str, Any], custom: Mapping[str, Any],
              timeline: Mapping[str, Any] | None, created_at: datetime) -> float | None:
    if data.get("status") not in _DONE:
        return None
    imported = _minutes(custom.get("resolution_minutes"))
    if imported is not None:
        return imported
    done = [at for at, status in (timeline or {}).get("statuses") or () if status in _DONE]
    return _since(done[-1], created_at) if done else None


def _sla(clock: Mapping[str, Any] | None, state: str | None) -> str:
    # The sweep moves the state on a breach; the stored clock shows it from the next change.
    if state in _BREACHED:
        return "breached"
    if not clock:
        return ""
    metrics = clock.get("metrics") or ()
    if any(isinstance(m, Mapping) and m.get("breached_at") for m in metrics):
        return "breached"
    return "met" if clock.get("state") == "done" and metrics else ""


def _csat(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None


GRAINS: tuple[tuple[str, Callable[[date], date]], ...] = (
    ("d", lambda day: day), ("w", week_of), ("m", month_of))


def breakdown_values(*, hour: int, group: str, triggers: Iterable[str], area: str,
                     age: str) -> Iterable[tuple[str, str]]:
    """The (kind, value) breakdowns a ticket is counted in."""
    yield "hour", f"{hour:02d}"
    yield "group", group
    for trigger in triggers:
        yield "trigger", trigger
    yield "area", area
    yield "age", age


def _breakdowns(fact: Fact) -> Iterable[tuple[str, str]]:
    return breakdown_values(hour=fact.hour, group=fact.group, triggers=fact.triggers,
                            area=fact.area, age=fact.age)


def contributions(fact: Fact) -> dict[Key, tuple[float, ...]]:
    """The rollup rows ``fact`` adds to, per day, week and month, with what it adds.

    The totals row keeps every filter dimension. A breakdown row keeps none, or one (a
    breakdown by hour per plan, channel and category would be as many rows as tickets): a
    page filtered by one dimension reads those. Per month, a breakdown row also keeps every
    dimension: a month holds enough tickets for those rows to be fewer than its facts.
    """
    totals = fact.measures()
    # A breakdown row counts tickets and SLA outcomes only.
    counted = (1, 0, 0.0, 0, 0.0, 0, 0.0, totals[7], totals[8], 0, 0.0)
    dims: _Dims = (fact.helpdesk, fact.plan, fact.arr_band, fact.channel, fact.category)
    alone: list[tuple[str, _Dims]] = [("", _BLANK)]
    for i, name in enumerate(DIMENSIONS):
        one = ["", "", "", "", ""]
        one[i] = dims[i]
        alone.append((name, (one[0], one[1], one[2], one[3], one[4])))
    out: dict[Key, tuple[float, ...]] = {}
    for grain, day in GRAINS:
        key_day = day(fact.day)
        out[(fact.tenant_id, grain, EVERY, "", key_day, "", fact.tier, *dims)] = totals
        kept = [*alone, (EVERY, dims)] if grain == "m" else alone
        for kind, value in _breakdowns(fact):
            for name, values in kept:
                out[(fact.tenant_id, grain, name, kind, key_day, value, fact.tier,
                     *values)] = counted
    return out


def deltas(old: Fact | None, new: Fact | None) -> dict[Key, tuple[float, ...]]:
    """What the rollups change by when a ticket's fact goes from ``old`` to ``new``."""
    out: dict[Key, list[float]] = {}
    for fact, sign in ((old, -1), (new, 1)):
        if fact is None:
            continue
        for key, values in contributions(fact).items():
            row = out.setdefault(key, [0.0] * len(MEASURES))
            for i, value in enumerate(values):
                row[i] += sign * value
    return {k: tuple(v) for k, v in out.items() if any(v)}


def spikes(
    daily: Mapping[str, Mapping[date, int]],
    *,
    first: date,
    last: date,
    baseline_days: int = 14,
    factor: float = 2.0,
    at_least: int = 3,
) -> list[Spike]:
    """Days in ``first``..``last`` when a segment's count was ``factor`` times its usual.

    Usual is the mean of the ``baseline_days`` before the day (days without any count as 0);
    a day needs ``at_least`` tickets to be called a spike at all.
    """
    found = []
    for segment, counts in daily.items():
        day = first
        while day <= last:
            count = counts.get(day, 0)
            if count >= at_least:
                usual = sum(counts.get(day - timedelta(days=n), 0)
                            for n in range(1, baseline_days + 1)) / baseline_days
                if count >= factor * max(usual, 1.0):
                    found.append(Spike(segment=segment, day=day, count=count, usual=usual))
            day += timedelta(days=1)
    return sorted(found, key=lambda s: (s.day, s.segment), reverse=True)
