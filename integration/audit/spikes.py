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
   every series tested (days under the minimum count cannot be flagged and are not tests).

Hours are tested the same way (``hourly=True``), each against the same hour of the days before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from integration.audit.settings import AuditSettings
from integration.audit.stats import benjamini_hochberg, poisson_upper

__all__ = ["SPIKE_TEST", "Spike", "find_spikes"]

_BASELINE_FLOOR = 0.5

SPIKE_TEST = (
    "a day is a spike when its count is at least {min_count} and {min_ratio:g}x the mean of "
    "the {days} days before it, and a Poisson upper-tail test against that mean survives the "
    "Benjamini-Hochberg procedure at a false-discovery rate of {fdr:g} across every day and "
    "series tested; an hour is tested the same way against the same hour of those days"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Spike:
    """A day far above its series' baseline."""

    day: date | datetime
    series: str
    kind: str
    tickets: int
    baseline: float
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        """For the JSON: ``category`` (or ``topic``) names the series."""
        return {
            "date": self.day.isoformat(), self.kind: self.series, "kind": self.kind,
            "granularity": "hour" if isinstance(self.day, datetime) else "day",
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
    counts: Mapping[tuple[str, Any], int],
    settings: AuditSettings,
    *,
    kind: str = "category",
    first: date | datetime | None = None,
    last: date | datetime | None = None,
    hourly: bool = False,
) -> list[Spike]:
    """Spikes in ``counts`` keyed by (series, day), or (series, hour) when ``hourly``.

    An hour's baseline is the same hour on the days before it, so office hours are not
    spikes against the night.
    """
    series: dict[str, dict[Any, int]] = defaultdict(dict)
    for (name, when), n in counts.items():
        series[name][when] = n
    if not series:
        return []
    moments = [w for by_time in series.values() for w in by_time]
    start, end = first or min(moments), last or max(moments)
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    candidates: list[Spike] = []
    for name, by_time in sorted(series.items()):
        candidates.extend(_candidates(name, by_time, start, end, step, kind, settings))
    rejected = benjamini_hochberg([c.p_value for c in candidates], settings.spike_fdr)
    found = [
        c for c, significant in zip(candidates, rejected, strict=True)
        if significant and c.tickets >= settings.spike_min_count
        and c.tickets >= settings.spike_min_ratio * c.baseline
    ]
    return sorted(found, key=lambda s: (s.day, -s.tickets, s.series))


def _candidates(
    name: str, by_time: Mapping[Any, int], start: Any, end: Any, step: timedelta, kind: str,
    settings: AuditSettings,
) -> list[Spike]:
    # Every testable day (or hour) of one series with its p-value: the procedure needs them all.
    day = timedelta(days=1)
    out = []
    when = start + settings.spike_min_history_days * day
    while when <= end:
        earlier = [by_time.get(when - k * day, 0)
                   for k in range(1, settings.spike_baseline_days + 1)
                   if when - k * day >= start]
        baseline = sum(earlier) / len(earlier)
        count = by_time.get(when, 0)
        if count >= settings.spike_min_count:
            # A smaller count can never be flagged, so it is not a test (Tarone's refinement:
            # the false-discovery rate holds over the tests that could be significant).
            out.append(Spike(day=when, series=name, kind=kind, tickets=count,
                             baseline=baseline,
                             p_value=poisson_upper(count, max(baseline, _BASELINE_FLOOR))))
        when += step
    return out
