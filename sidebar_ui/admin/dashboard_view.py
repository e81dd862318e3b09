"""``/admin/dashboard``: escalations, SLAs and satisfaction over a period, from the rollups.

One page, four queries on the pre-aggregated rollups (``integration.store.dashboard``)
whatever the number of tickets: the totals per tier and dimension, the days, the breakdowns
(hour, group, trigger, product area, onboarding age) and Tier 3 per plan and day for the
spikes. Charts are SVG drawn here, each with its table; every number links to the start
page's list of the tickets behind it. Days are the workspace's local days (its business
calendar's time zone), as the page says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Any

from flask import request, url_for
from markupsafe import Markup

from integration import store
from integration.analytics import charts
from integration.analytics.board import TIERS, Bucket, breakdowns, fold_board, segment_spikes
from integration.analytics.board import series as fold_series
from integration.analytics.facts import AGE_BANDS, ARR_BANDS, KINDS, month_of, week_of
from integration.calendars import zone_label
from integration.models import Category, Channel
from integration.store.dashboard import (
    DashboardFilter,
    breakdown_rows,
    segment_days,
    series_rows,
    total_rows,
)
from sidebar_ui.admin.core import bp, page, runtime

__all__ = ["PERIODS", "DashQuery", "dashboard_page", "parse_dash_query"]

# key -> (label, days; 0 for the last twelve calendar months)
# key -> (label, days by day; weeks by week; 0 for the last twelve calendar months)
PERIODS = {"7d": ("last 7 days", 7), "30d": ("last 30 days", 30),
           "13w": ("last 13 weeks", -13), "12m": ("last 12 months", 0)}
_DIMENSION_NAMES = {"helpdesk": "Helpdesk", "plan": "Plan", "arr_band": "ARR band",
                    "channel": "Channel", "category": "Category"}
_ARR_LABELS = {k: label for k, label, *_ in ARR_BANDS}
_AGE_LABELS = {k: label for k, label, *_ in AGE_BANDS}
_SPIKE_BASELINE = 14


@dataclass(frozen=True, kw_only=True, slots=True)
class DashQuery:
    """What the page is asked for; "" means any."""

    workspace: str = ""
    period: str = "30d"
    tier: str = ""
    helpdesk: str = ""
    plan: str = ""
    arr: str = ""
    channel: str = ""
    category: str = ""

    def args(self, **changes: str) -> dict[str, str]:
        """The page's query string with ``changes``, without empty values."""
        values = {"workspace": self.workspace, "period": self.period, "tier": self.tier,
                  "helpdesk": self.helpdesk, "plan": self.plan, "arr": self.arr,
                  "channel": self.channel, "category": self.category, **changes}
        return {k: v for k, v in values.items() if v}


def parse_dash_query(args: Mapping[str, str], *, workspaces: tuple[str, ...]
                     ) -> tuple[DashQuery, dict[str, str]]:
    """The page's query from the URL, or what is wrong with it, field by field."""
    errors: dict[str, str] = {}
    allowed = {
        "workspace": workspaces, "period": tuple(PERIODS), "tier": ("1", "2", "3"),
        "helpdesk": tuple(h.value for h in store.HelpdeskKind),
        "arr": (*_ARR_LABELS, "none"), "channel": tuple(c.value for c in Channel),
        "category": tuple(c.value for c in Category),
    }
    values: dict[str, str] = {}
    for name in ("workspace", "period", "tier", "helpdesk", "plan", "arr", "channel",
                 "category"):
        value = " ".join((args.get(name) or "").split())
        if name in allowed and value and value not in allowed[name]:
            shown = ", ".join(allowed[name]) or "no workspace yet"
            errors[name] = f"{value!r} is not one of {shown}"
            value = ""
        elif name == "plan" and len(value) > 32:
            errors[name] = "at most 32 characters"
            value = ""
        values[name] = value
    values["period"] = values["period"] or "30d"
    return DashQuery(**values), errors


@dataclass(frozen=True, kw_only=True, slots=True)
class Window:
    """The period in local days, and the buckets its chart shows."""

    first: date
    last: date
    grain: str
    days: tuple[date, ...]


def window(period: str, today: date) -> Window:
    """The local days of ``period`` ending ``today`` (months for the twelve-month view)."""
    days = PERIODS[period][1]
    if days > 0:
        first = today - timedelta(days=days - 1)
        return Window(first=first, last=today, grain="d",
                      days=tuple(first + timedelta(days=n) for n in range(days)))
    if days < 0:
        first = week_of(today) - timedelta(weeks=-days - 1)
        return Window(first=first, last=today, grain="w",
                      days=tuple(first + timedelta(weeks=n) for n in range(-days)))
    months = [month_of(today)]
    for _ in range(11):
        months.insert(0, month_of(months[0] - timedelta(days=1)))
    return Window(first=months[0], last=today, grain="m", days=tuple(months))


@bp.get("/dashboard")
def dashboard_page() -> Any:
    """Escalation, SLA and satisfaction numbers of a period, filtered; each links to tickets."""
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        tenants = {t.slug: t for t in store.list_tenants(s)}
        query, errors = parse_dash_query(request.args, workspaces=tuple(tenants))
        tenant = tenants.get(query.workspace)
        zone = (rt.matrix_for(tenant) if tenant is not None else rt.matrix).display_zone
        span = window(query.period, rt.now().astimezone(zone).date())
        f = _filter(query, span, tenant.id if tenant is not None else None)
        data = {} if errors else _read(s, f, span)
    context = _view(query, span, zone, data) if data else {}
    return page("admin/dashboard.html", 400 if errors else 200, query=query, errors=errors,
                workspaces=tuple(tenants), periods=PERIODS, zone=_zone_name(zone),
                tiers=TIERS, arr_labels=_ARR_LABELS, span=span,
                helpdesks=tuple(h.value for h in store.HelpdeskKind),
                channels=tuple(c.value for c in Channel),
                categories=tuple(c.value for c in Category), **context)


def _filter(query: DashQuery, span: Window, tenant_id: int | None) -> DashboardFilter:
    return DashboardFilter(
        tenant_ids=None if tenant_id is None else (tenant_id,), first=span.first,
        last=span.last, tier=int(query.tier) if query.tier else None,
        helpdesk=query.helpdesk or None, plan=_unknown(query.plan),
        arr_band=_unknown(query.arr), channel=query.channel or None,
        category=query.category or None,
    )


def _unknown(value: str) -> str | None:
    return None if not value else ("" if value == "none" else value)


def _read(s: Any, f: DashboardFilter, span: Window) -> dict[str, Any]:
    recent = DashboardFilter(**{**{n: getattr(f, n) for n in DashboardFilter.__dataclass_fields__},
                                "first": _spike_first(span) - timedelta(days=_SPIKE_BASELINE)})
    return {
        "totals": total_rows(s, f),
        "series": series_rows(s, f, grain=span.grain),
        "breakdowns": breakdown_rows(s, f, grain=span.grain, kinds=KINDS),
        "segments": segment_days(s, recent),
    }


def _spike_first(span: Window) -> date:
    # Spikes are daily: over the period, but no further back than 90 days.
    return max(span.first, span.last - timedelta(days=89))


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def _view(query: DashQuery, span: Window, zone: tzinfo, data: Mapping[str, Any]
          ) -> dict[str, Any]:
    board = fold_board(data["totals"])
    days = fold_series(data["series"], days=span.days)
    parts = breakdowns(data["breakdowns"])
    spike_first = _spike_first(span)
    link = _Links(query, span)
    return {
        "board": board, "link": link, "days": days, "parts": parts,
        "spikes": segment_spikes(data["segments"], first=spike_first, last=span.last),
        "label": _label, "hours": _hours(parts.get("hour", [])), "fmt": _duration,
        "pct": _pct, "charts": _charts(board, days, parts), "dimension_names": _DIMENSION_NAMES,
        "zone_label": zone_label(_noon(span.last, zone)),
    }


def _noon(day: date, zone: tzinfo) -> Any:
    from datetime import datetime

    return datetime(day.year, day.month, day.day, 12, tzinfo=zone)


class _Links:
    """URLs of the start page's list narrowed to the tickets behind a number."""

    def __init__(self, query: DashQuery, span: Window) -> None:
        self._base = {"workspace": query.workspace, "from": span.first.isoformat(),
                      "to": span.last.isoformat(), "tier": query.tier,
                      "helpdesk": query.helpdesk, "plan": query.plan, "arr": query.arr,
                      "channel": query.channel, "category": query.category}
        self._grain = span.grain

    def __call__(self, **narrow: Any) -> str:
        """The list behind a number: the page's filters and ``narrow`` (dimension=value)."""
        return self._url(self._base, narrow)

    def broad(self, **narrow: Any) -> str:
        """The list behind a breakdown's number: workspace, period and tier only."""
        kept = {k: v for k, v in self._base.items() if k in ("workspace", "from", "to", "tier")}
        return self._url(kept, narrow)

    @staticmethod
    def _url(base: Mapping[str, str], narrow: Mapping[str, Any]) -> str:
        values = {**base, **{_PARAM.get(k, k): ("none" if v == "" else str(v))
                             for k, v in narrow.items() if v is not None}}
        wanted: dict[str, Any] = {k: v for k, v in values.items() if v}
        return url_for("pages.index", **wanted)

    def day(self, key: str, **narrow: Any) -> str:
        """The list of one day's (week's, month's) tickets."""
        first = date.fromisoformat(key)
        last = {"d": first, "w": first + timedelta(days=6)}.get(
            self._grain, month_of(first + timedelta(days=32)) - timedelta(days=1))
        return self(**{"from": key, "to": last.isoformat(), **narrow})


_PARAM = {"arr_band": "arr", "kind_hour": "hour"}


def _label(kind: str, value: str) -> str:
    """A dimension or breakdown value as people read it."""
    if value == "":
        return {"age": "no account", "area": "unknown", "group": "no group",
                "plan": "no plan", "arr_band": "unknown"}.get(kind, "unknown")
    if kind == "arr_band":
        return _ARR_LABELS.get(value, value)
    if kind == "age":
        return _AGE_LABELS.get(value, value)
    if kind == "area" and not value.startswith("/"):
        return f"{value.replace('_', ' ')} (category)"
    if kind == "hour":
        return f"{value}:00"
    return value.replace("_", " ")


def _hours(buckets: list[Bucket]) -> list[Bucket]:
    found = {b.key: b for b in buckets}
    return [found.get(f"{h:02d}", Bucket(key=f"{h:02d}", tiers={}, met=0, breached=0))
            for h in range(24)]


def _duration(seconds: float | None) -> str:
    """A duration as people read it: 45 min, 3.5 h, 2.1 days."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _charts(board: Any, days: list[Bucket], parts: Mapping[str, list[Bucket]]) -> dict[str, Any]:
    hours = _hours(parts.get("hour", []))
    return {
        "legend": Markup(charts.legend()),
        "series": Markup(charts.tier_columns(
            [(b.key, b.tiers) for b in days],
            label="Share of each day's tickets per tier; the table below has the numbers")),
        "breach_hours": Markup(charts.columns(
            [(f"{int(b.key)}", float(b.breached)) for b in hours],
            label="SLA breaches by hour of day the ticket came in; table below")),
        "groups": Markup(charts.bars(
            [(_label("group", b.key), float(b.breached)) for b in parts.get("group", [])[:10]],
            label="SLA breaches by group; table below")),
        "triggers": Markup(charts.bars(
            [(b.key, float(b.tickets)) for b in parts.get("trigger", [])[:10]],
            label="Top triggers by tickets; table below")),
        "mix": {name: Markup(charts.tier_bars(
            [(_label(name, v), c) for v, c in sorted(values.items(),
                                                      key=lambda i: -sum(i[1].values()))[:8]],
            label=f"Tier mix by {_DIMENSION_NAMES[name].lower()}; table below"))
            for name, values in board.mix.items()},
        "csat": Markup(charts.bars(
            [("Escalated", (board.escalated.csat or 0) * 100),
             ("Not escalated", (board.not_escalated.csat or 0) * 100)],
            label="Satisfaction of escalated and other tickets; table below", unit="%")),
        **{f"tier3_{kind}": Markup(charts.bars(
            [(_label(kind, b.key), float(b.tiers.get(3, 0)))
             for b in sorted(parts.get(kind, []), key=lambda b: -b.tiers.get(3, 0))[:8]],
            label=f"Tier 3 tickets by {kind}; table below")) for kind in ("area", "age")},
    }
