"""Spikes: days whose volume of a category (or topic) is far above its own recent baseline.

The test, stated in the report: for each series (a category or a topic) and each day that has
at least ``spike_min_history_days`` earlier days in the history, the baseline is the mean
daily count over the ``spike_baseline_days`` days before it (days without tickets count as
zero). A day is a spike when

1. its count is at least ``spike_min_count`` and at least ``spike_min_ratio`` times the
   baseline (so a quiet series going from 0 to 2 is not news), and
2. the count is improbable under a Poisson distribution with the baseline as its mean
   (exact upper tail, the baseline floored at half a ticket a day), after the
   Benjamini-Hochberg procedure at false-discovery rate ``spike_fdr`` across every day of
   every series tested.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from integration.audit.settings import AuditSettings
from integration.audit.stats import benjamini_hochberg, poisson_upper

__all__ = ["SPIKE_TEST", "Spike", "find_spikes"]

_BASELINE_FLOOR = 0.5

SPIKE_TEST = (
    "a day is a spike when its count is at least {min_count} and {min_ratio:g}x the mean of "
    "the {days} days before it, and a Poisson upper-tail test against that mean survives the "
    "Benjamini-Hochberg procedure at a false-discovery rate of {fdr:g} across every day and "
    "series tested"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Spike:
    """A day far above its series' baseline."""

    day: date
    series: str
    kind: str
    tickets: int
    baseline: float
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        """For the JSON: ``category`` (or ``topic``) names the series."""
        return {
            "date": self.day.isoformat(), self.kind: self.series, "kind": self.kind,
            "tickets": self.tickets, "baseline": round(self.baseline, 2),
            "ratio": round(self.tickets / max(self.baseline, _BASELINE_FLOOR), 1),
            "p_value": self.p_value,
        }


def describe_test(settings: AuditSettings) -> str:
    """The spike test in words, with this audit's thresholds."""
    return SPIKE_TEST.format(min_count=settings.spike_min_count,
                             min_ratio=settings.spike_min_ratio,
                             days=settings.spike_baseline_days, fdr=settings.spike_fdr)


def find_spikes(
    counts: Mapping[tuple[str, date], int],
    settings: AuditSettings,
    *,
    kind: str = "category",
    first: date | None = None,
    last: date | None = None,
) -> list[Spike]:
    """Spikes in per-day ``counts`` keyed by (series, day); earliest first."""
    series: dict[str, dict[date, int]] = defaultdict(dict)
    for (name, day), n in counts.items():
        series[name][day] = n
    if not series:
        return []
    days = [d for by_day in series.values() for d in by_day]
    start, end = first or min(days), last or max(days)
    candidates: list[Spike] = []
    for name, by_day in sorted(series.items()):
        candidates.extend(_candidates(name, by_day, start, end, kind, settings))
    rejected = benjamini_hochberg([c.p_value for c in candidates], settings.spike_fdr)
    found = [
        c for c, significant in zip(candidates, rejected, strict=True)
        if significant and c.tickets >= settings.spike_min_count
        and c.tickets >= settings.spike_min_ratio * c.baseline
    ]
    return sorted(found, key=lambda s: (s.day, -s.tickets, s.series))


def _candidates(
    name: str, by_day: Mapping[date, int], start: date, end: date, kind: str,
    settings: AuditSettings,
) -> list[Spike]:
    # Every testable day of one series, each with its p-value (the procedure needs them all).
    window = settings.spike_baseline_days
    out = []
    day = start + timedelta(days=settings.spike_min_history_days)
    while day <= end:
        earlier = [by_day.get(day - timedelta(days=k), 0) for k in range(1, window + 1)
                   if day - timedelta(days=k) >= start]
        baseline = sum(earlier) / len(earlier)
        count = by_day.get(day, 0)
        p_value = poisson_upper(count, max(baseline, _BASELINE_FLOOR))
        out.append(Spike(day=day, series=name, kind=kind, tickets=count, baseline=baseline,
                         p_value=p_value))
        day += timedelta(days=1)
    return out
