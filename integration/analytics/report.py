"""The dashboard's figures for any period, as a report: folded once, exported as CSV or HTML.

Pure: ``fold_report`` takes the rollup rows the store read for the period (the dashboard's
four queries) and what the report is about (workspace, days, filters, time zone, when it was
made); ``csv_rows`` lays the figures out as one tidy table a spreadsheet opens as it is:
one figure per row, named by section, measure, dimension, value and tier. A custom period
need not start on a Monday or the first of a month: ``bucket_of`` puts each day in its
day, week or month, and a partial first or last week counts only the period's days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from integration.analytics.board import (
    TIERS,
    Board,
    Bucket,
    breakdowns,
    fold_board,
    segment_spikes,
    series,
)
from integration.analytics.facts import DIMENSIONS, KINDS, Spike, month_of, week_of

__all__ = [
    "CSV_HEADER",
    "LONGEST_DAYS",
    "Report",
    "bucket_of",
    "buckets_of",
    "csv_rows",
    "custom_grain",
    "fold_report",
    "range_problem",
    "rekeyed",
]

# A custom period is at most this many days (the rollups are read a few rows a day).
LONGEST_DAYS = 3 * 366
CSV_HEADER = ("workspace", "from", "to", "section", "measure", "dimension", "dimension_value",
              "tier", "value")
_TIMED = (("escalated", "time_to_escalation_minutes"), ("first", "first_response_minutes"),
          ("resolved", "resolution_minutes"))
_GRAIN_NAMES = {"d": "day", "w": "week", "m": "month"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Report:
    """The figures of one period and what they are about."""

    workspace: str
    first: date
    last: date
    grain: str
    zone: str
    filters: tuple[tuple[str, str], ...]
    generated_at: str
    board: Board
    buckets: tuple[Bucket, ...]
    parts: Mapping[str, list[Bucket]]
    spikes: tuple[Spike, ...]


def range_problem(first: date | None, last: date | None) -> str | None:
    """What is wrong with ``first``..``last`` as a period (None when it is fine)."""
    if first is None or last is None:
        return None
    if last < first:
        return f"{last.isoformat()} is before the first day {first.isoformat()}"
    if (last - first).days + 1 > LONGEST_DAYS:
        return f"a period is at most {LONGEST_DAYS} days; this one has {(last - first).days + 1}"
    return None


def custom_grain(first: date, last: date) -> str:
    """How a custom period's chart is bucketed: days up to two months, then weeks, months."""
    days = (last - first).days + 1
    return "d" if days <= 62 else "w" if days <= 26 * 7 else "m"


def bucket_of(day: date, grain: str) -> date:
    """The day, Monday or first of the month ``day`` is counted under."""
    return {"d": day, "w": week_of(day)}.get(grain, month_of(day))


def buckets_of(first: date, last: date, grain: str) -> tuple[date, ...]:
    """Every bucket key from ``first`` to ``last``, in order (partial ones included)."""
    out: list[date] = []
    day = first
    while day <= last:
        key = bucket_of(day, grain)
        if not out or out[-1] != key:
            out.append(key)
        day += timedelta(days=1)
    return tuple(out)


def rekeyed(rows: Iterable[Sequence[Any]], grain: str) -> list[tuple[Any, ...]]:
    """Daily ``series_rows`` put under their week or month (sums stay the period's own)."""
    return [(bucket_of(_day(r[0]), grain), *r[1:]) for r in rows]


def fold_report(
    data: Mapping[str, Any],
    *,
    workspace: str,
    first: date,
    last: date,
    grain: str,
    zone: str,
    filters: Sequence[tuple[str, str]],
    generated_at: str,
    spike_first: date,
) -> Report:
    """The report of the rows read for ``first``..``last`` (``totals``, ``series`` keyed by
    bucket, ``breakdowns``, ``segments``)."""
    return Report(
        workspace=workspace, first=first, last=last, grain=grain, zone=zone,
        filters=tuple(filters), generated_at=generated_at,
        board=fold_board(data["totals"]),
        buckets=tuple(series(data["series"], days=buckets_of(first, last, grain))),
        parts=breakdowns(data["breakdowns"]),
        spikes=tuple(segment_spikes(data["segments"], first=spike_first, last=last)),
    )


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(round(float(value), digits))


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


def csv_rows(report: Report) -> list[tuple[str, ...]]:
    """Every figure of the report, one per row (``CSV_HEADER`` first)."""
    head = (report.workspace or "all", report.first.isoformat(), report.last.isoformat())
    rows: list[tuple[str, ...]] = [CSV_HEADER]
    for section, measure, dimension, value, tier, amount in _figures(report):
        rows.append((*head, section, measure, dimension, value, tier,
                     _number(amount) if not isinstance(amount, str) else amount))
    return rows


Figure = tuple[str, str, str, str, str, float | str | None]


def _figures(report: Report) -> Iterable[Figure]:
    yield from _totals(report.board)
    yield from _per_tier(report.board)
    yield from _over_time(report)
    yield from _mix(report.board)
    yield from _parts(report.parts)
    for spike in report.spikes:
        yield ("tier3_spikes", "tier3_tickets", "plan_day",
               f"{spike.segment or 'no plan'} {spike.day.isoformat()}", "3", spike.count)
        yield ("tier3_spikes", "usual_tier3_tickets", "plan_day",
               f"{spike.segment or 'no plan'} {spike.day.isoformat()}", "3", spike.usual)


def _totals(board: Board) -> Iterable[Figure]:
    total = board.total
    yield ("totals", "tickets", "", "", "", total.tickets)
    yield ("totals", "escalated_tickets", "", "", "2-3", board.escalated.tickets)
    yield ("totals", "escalation_rate", "", "", "2-3", board.escalation_rate)
    yield ("totals", "sla_met", "", "", "", total["sla_met"])
    yield ("totals", "sla_breached", "", "", "", total["sla_breached"])
    yield ("totals", "sla_attainment", "", "", "", total.attainment)
    yield ("totals", "satisfaction_escalated", "", "", "2-3", board.escalated.csat)
    yield ("totals", "satisfaction_not_escalated", "", "", "1", board.not_escalated.csat)


def _per_tier(board: Board) -> Iterable[Figure]:
    for tier in TIERS:
        sums = board.tiers[tier]
        yield ("per_tier", "tickets", "", "", str(tier), sums.tickets)
        for name, measure in _TIMED:
            yield ("per_tier", measure, "", "", str(tier), _minutes(sums.mean(name)))
        yield ("per_tier", "sla_met", "", "", str(tier), sums["sla_met"])
        yield ("per_tier", "sla_breached", "", "", str(tier), sums["sla_breached"])
        yield ("per_tier", "sla_attainment", "", "", str(tier), sums.attainment)
        yield ("per_tier", "satisfaction", "", "", str(tier), sums.csat)
        yield ("per_tier", "rated_tickets", "", "", str(tier), sums["csat_n"])


def _over_time(report: Report) -> Iterable[Figure]:
    unit = _GRAIN_NAMES[report.grain]
    for bucket in report.buckets:
        for tier in TIERS:
            yield ("over_time", "tickets", unit, bucket.key, str(tier), bucket.tiers.get(tier, 0))
        yield ("over_time", "sla_breached", unit, bucket.key, "", bucket.breached)


def _mix(board: Board) -> Iterable[Figure]:
    for dimension in DIMENSIONS:
        for value, counts in sorted(board.mix.get(dimension, {}).items()):
            for tier in TIERS:
                yield ("tier_mix", "tickets", dimension, value or "unknown", str(tier),
                       counts.get(tier, 0))


def _parts(parts: Mapping[str, list[Bucket]]) -> Iterable[Figure]:
    for kind in KINDS:
        for bucket in parts.get(kind, []):
            value = bucket.key or "unknown"
            for tier in TIERS:
                yield ("breakdown", "tickets", kind, value, str(tier), bucket.tiers.get(tier, 0))
            yield ("breakdown", "sla_met", kind, value, "", bucket.met)
            yield ("breakdown", "sla_breached", kind, value, "", bucket.breached)
