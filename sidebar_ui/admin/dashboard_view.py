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

from flask import Response, abort, request, url_for
from markupsafe import Markup

from integration import store
from integration.analytics import charts
from integration.analytics.board import TIERS, Bucket, breakdowns, fold_board, segment_spikes
from integration.analytics.board import series as fold_series
from integration.analytics.facts import ARR_BANDS, month_of, week_of
from integration.analytics.report import buckets_of, custom_grain, range_problem
from integration.calendars import zone_label
from integration.models import Category, Channel
from integration.period_report import period_report, read_period, spike_first
from integration.store.dashboard import DashboardFilter
from sidebar_ui.admin.core import bp, page, runtime
from sidebar_ui.report_export import (
    duration,
    label,
    pct,
    report_csv,
    report_filename,
    report_html,
)

__all__ = ["CUSTOM", "PERIODS", "DashQuery", "Window", "dash_filter", "dashboard_export",
           "dashboard_page", "parse_dash_query", "shown_filters", "window",
           "window_of"]

# key -> (label, days by day; weeks by week; 0 for the last twelve calendar months; None for
# the days chosen)
PERIODS: dict[str, tuple[str, int | None]] = {
    "7d": ("last 7 days", 7), "30d": ("last 30 days", 30), "13w": ("last 13 weeks", -13),
    "12m": ("last 12 months", 0), "custom": ("chosen days", None)}
CUSTOM = "custom"
_DIMENSION_NAMES = {"helpdesk": "Helpdesk", "plan": "Plan", "arr_band": "ARR band",
                    "channel": "Channel", "category": "Category"}
# The same inside a sentence ("Tier 3 by ARR band"): an acronym keeps its capitals.
_DIMENSION_WORDS = {k: v if v.split()[0].isupper() else v.lower()
                    for k, v in _DIMENSION_NAMES.items()}
_ARR_LABELS = {k: text for k, text, *_ in ARR_BANDS}


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
    start: str = ""  # ``from``, a custom period's first day (YYYY-MM-DD)
    end: str = ""  # ``to``, its last day

    def args(self, **changes: str) -> dict[str, str]:
        """The page's query string with ``changes``, without empty values."""
        values = {"workspace": self.workspace, "period": self.period, "tier": self.tier,
                  "helpdesk": self.helpdesk, "plan": self.plan, "arr": self.arr,
                  "channel": self.channel, "category": self.category,
                  **({"from": self.start, "to": self.end} if self.period == CUSTOM else {}),
                  **changes}
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
    values["period"] = values["period"] or (CUSTOM if args.get("from") or args.get("to")
                                            else "30d")
    if values["period"] != CUSTOM and _days_edited(args):
        values["period"] = CUSTOM
    if values["period"] == CUSTOM:
        values["start"], values["end"] = _custom_days(args, errors)
    return DashQuery(**values), errors


def _days_edited(args: Mapping[str, str]) -> bool:
    """Whether the form's From or To was changed from the preset period it showed: the days
    typed in win over the period still selected."""
    if "shown_from" not in args and "shown_to" not in args:
        return False
    return any((args.get(name) or "").strip() != (args.get(f"shown_{name}") or "").strip()
               for name in ("from", "to"))


def _custom_days(args: Mapping[str, str], errors: dict[str, str]) -> tuple[str, str]:
    """A custom period's ``from`` and ``to``; what is wrong goes to ``errors`` by field."""
    days: dict[str, date] = {}
    for name in ("from", "to"):
        value = (args.get(name) or "").strip()
        try:
            days[name] = date.fromisoformat(value)
        except ValueError:
            errors[name] = (f"expected a day as YYYY-MM-DD, got {value[:40]!r}" if value
                            else "a chosen period needs its first and last day")
    problem = range_problem(days.get("from"), days.get("to"))
    if problem:
        errors["to"] = problem
    if "from" in errors or "to" in errors:
        return "", ""
    return days["from"].isoformat(), days["to"].isoformat()


@dataclass(frozen=True, kw_only=True, slots=True)
class Window:
    """The period in local days, and the buckets its chart shows."""

    first: date
    last: date
    grain: str
    days: tuple[date, ...]
    # Buckets start on the first day (preset periods); a chosen period's may not.
    aligned: bool = True


def window(period: str, today: date, *, start: str = "", end: str = "") -> Window:
    """The local days of ``period`` ending ``today`` (months for the twelve-month view), or
    the chosen days ``start``..``end``."""
    if period == CUSTOM:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
        grain = custom_grain(first, last)
        return Window(first=first, last=last, grain=grain, aligned=False,
                      days=buckets_of(first, last, grain))
    days = PERIODS[period][1]
    assert days is not None
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
        span = window_of(query, rt.now().astimezone(zone).date(), errors)
        f = dash_filter(query, span, tenant.id if tenant is not None else None)
        data = {} if errors else read_period(s, f, grain=span.grain, aligned=span.aligned)
    context = _view(query, span, zone, data) if data else {}
    return page("admin/dashboard.html", 400 if errors else 200, query=query, errors=errors,
                workspaces=tuple(tenants), periods=PERIODS, zone=_zone_name(zone),
                tiers=TIERS, arr_labels=_ARR_LABELS, span=span,
                helpdesks=tuple(h.value for h in store.HelpdeskKind),
                channels=tuple(c.value for c in Channel),
                categories=tuple(c.value for c in Category), **context)


_EXPORTS = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}


@bp.get("/dashboard/export.<fmt>")
def dashboard_export(fmt: str) -> Any:
    """The page's figures for its period and filters: a CSV table or a printable HTML file."""
    if fmt not in _EXPORTS:
        abort(404)
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        tenants = {t.slug: t for t in store.list_tenants(s)}
        query, errors = parse_dash_query(request.args, workspaces=tuple(tenants))
        if errors:
            lines = [f"{field}: {message}" for field, message in errors.items()]
            return Response("This report cannot be made as asked:\n" + "\n".join(lines) + "\n",
                            status=400, mimetype="text/plain")
        tenant = tenants.get(query.workspace)
        zone = (rt.matrix_for(tenant) if tenant is not None else rt.matrix).display_zone
        span = window_of(query, rt.now().astimezone(zone).date(), errors)
        report = period_report(
            s, dash_filter(query, span, tenant.id if tenant is not None else None),
            grain=span.grain, aligned=span.aligned, workspace=query.workspace, zone=zone,
            filters=shown_filters(query), now=rt.now())
    body = report_csv(report) if fmt == "csv" else report_html(report)
    disposition = f'attachment; filename="{report_filename(report, fmt)}"'
    return Response(body, mimetype=_EXPORTS[fmt].split(";")[0],
                    headers={"Content-Disposition": disposition,
                             "Content-Type": _EXPORTS[fmt]})


def shown_filters(query: DashQuery) -> list[tuple[str, str]]:
    """The query's filters as the report states them ("any" ones left out)."""
    shown = [("Workspace", query.workspace or "all"),
             ("Tier", f"Tier {query.tier}" if query.tier else ""),
             ("Helpdesk", query.helpdesk), ("Plan", label("plan", query.plan)
                                            if query.plan not in ("", "none") else query.plan),
             ("ARR band", label("arr_band", "" if query.arr == "none" else query.arr)
              if query.arr else ""),
             ("Channel", query.channel), ("Category", label("category", query.category)
                                          if query.category else "")]
    return [(name, "unknown" if value == "none" else value) for name, value in shown if value]


def window_of(query: DashQuery, today: date, errors: Mapping[str, str]) -> Window:
    """The query's window; the last 30 days while the query is wrong (nothing is read)."""
    if errors and query.period == CUSTOM and not query.start:
        return window("30d", today)
    return window(query.period, today, start=query.start, end=query.end)


def dash_filter(query: DashQuery, span: Window, tenant_id: int | None) -> DashboardFilter:
    """The store's filter of the query over ``span``."""
    return DashboardFilter(
        tenant_ids=None if tenant_id is None else (tenant_id,), first=span.first,
        last=span.last, tier=int(query.tier) if query.tier else None,
        helpdesk=query.helpdesk or None, plan=_unknown(query.plan),
        arr_band=_unknown(query.arr), channel=query.channel or None,
        category=query.category or None,
    )


def _unknown(value: str) -> str | None:
    return None if not value else ("" if value == "none" else value)


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def _view(query: DashQuery, span: Window, zone: tzinfo, data: Mapping[str, Any]
          ) -> dict[str, Any]:
    board = fold_board(data["totals"])
    days = fold_series(data["series"], days=span.days)
    parts = breakdowns(data["breakdowns"])
    link = _Links(query, span)
    return {
        "board": board, "link": link, "days": days, "parts": parts,
        "spikes": segment_spikes(data["segments"], first=spike_first(span.first, span.last),
                                 last=span.last),
        "label": label, "hours": _hours(parts.get("hour", [])), "fmt": duration,
        "pct": pct, "charts": _charts(board, days, parts), "dimension_names": _DIMENSION_NAMES,
        "dimension_words": _DIMENSION_WORDS,
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
        self._span = span

    def __call__(self, **narrow: Any) -> str:
        """The list behind a number: the page's filters and ``narrow`` (dimension=value)."""
        return self._url(self._base, narrow)

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
        # A chosen period's first and last week (or month) may be partial.
        first, last = max(first, self._span.first), min(last, self._span.last)
        return self(**{"from": first.isoformat(), "to": last.isoformat(), **narrow})


_PARAM = {"arr_band": "arr", "kind_hour": "hour"}


def _hours(buckets: list[Bucket]) -> list[Bucket]:
    found = {b.key: b for b in buckets}
    return [found.get(f"{h:02d}", Bucket(key=f"{h:02d}", tiers={}, met=0, breached=0))
            for h in range(24)]


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
            [(label("group", b.key), float(b.breached)) for b in parts.get("group", [])[:10]],
            label="SLA breaches by group; table below")),
        "triggers": Markup(charts.bars(
            [(b.key, float(b.tickets)) for b in parts.get("trigger", [])[:10]],
            label="Top triggers by tickets; table below")),
        "mix": {name: Markup(charts.tier_bars(
            [(label(name, v), c) for v, c in sorted(values.items(),
                                                      key=lambda i: -sum(i[1].values()))[:8]],
            label=f"Tier mix by {_DIMENSION_WORDS[name]}; table below"))
            for name, values in board.mix.items()},
        "csat": Markup(charts.bars(
            [("Escalated", (board.escalated.csat or 0) * 100),
             ("Not escalated", (board.not_escalated.csat or 0) * 100)],
            label="Satisfaction of escalated and other tickets; table below", unit="%")),
        **{f"tier3_{kind}": Markup(charts.bars(
            [(label(kind, b.key), float(b.tiers.get(3, 0)))
             for b in sorted(parts.get(kind, []), key=lambda b: -b.tiers.get(3, 0))[:8]],
            label=f"Tier 3 tickets by {kind}; table below")) for kind in ("area", "age")},
    }
