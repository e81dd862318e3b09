"""A period's figures read from the dashboard's rollups: the page, its exports, ``escalade report``.

``read_period`` runs the dashboard's four rollup queries for a period and a filter. A preset
period starts where its buckets do (a Monday, the first of a month) and reads the week or
month rows as they are; a custom period may start and end anywhere, so its chart is read from
the fewest rows that fit inside its buckets (``chart_spans``: whole months or weeks, days at
the edges, ``rekeyed`` into the chart's buckets) and its breakdowns from the fewest rows that
add up to exactly its days (``period_breakdowns``), as are every period's breakdowns filtered
by two dimensions or more. ``period_report`` folds the rows into the report the exports lay out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from integration.analytics.facts import KINDS
from integration.analytics.report import Report, fold_report, rekeyed
from integration.calendars import format_local
from integration.store.dashboard import (
    DashboardFilter,
    breakdown_rows,
    chart_spans,
    period_breakdowns,
    segment_days,
    series_rows,
    total_rows,
)

__all__ = ["SPIKE_BASELINE", "period_report", "read_period", "spike_first"]

SPIKE_BASELINE = 14


def spike_first(first: date, last: date) -> date:
    """The first day spikes are looked for: the period's, but no further back than 90 days."""
    return max(first, last - timedelta(days=89))


def read_period(s: Session, f: DashboardFilter, *, grain: str, aligned: bool) -> dict[str, Any]:
    """The rollup rows of ``f``'s period: totals, series per bucket, breakdowns, segments."""
    assert f.first is not None and f.last is not None
    recent = replace(f, first=spike_first(f.first, f.last) - timedelta(days=SPIKE_BASELINE))
    if aligned:
        days = series_rows(s, f, grain=grain)
    else:
        days = [row for part, first, last in chart_spans(f.first, f.last, grain)
                for row in rekeyed(series_rows(s, replace(f, first=first, last=last),
                                               grain=part), grain)]
    parts = (breakdown_rows(s, f, grain=grain, kinds=KINDS)
             if aligned and len(f.dimensions) < 2 else period_breakdowns(s, f, kinds=KINDS))
    return {"totals": total_rows(s, f), "series": days, "breakdowns": parts,
            "segments": segment_days(s, recent)}


def period_report(
    s: Session,
    f: DashboardFilter,
    *,
    grain: str,
    aligned: bool,
    workspace: str,
    zone: tzinfo,
    filters: Sequence[tuple[str, str]],
    now: datetime,
) -> Report:
    """The report of ``f``'s period (``filters`` as they are shown), made at ``now``."""
    assert f.first is not None and f.last is not None
    return fold_report(
        read_period(s, f, grain=grain, aligned=aligned), workspace=workspace, first=f.first,
        last=f.last, grain=grain, zone=str(getattr(zone, "key", None) or zone),
        filters=filters, generated_at=format_local(now, zone, long=True),
        spike_first=spike_first(f.first, f.last),
    )
