"""Is a group of tickets spiking? This hour against the same hour in past weeks.

Support volume has a weekly rhythm: Monday 09:00 is busy every week. The baseline for an
hour is the mean of the same hour of the week over the past ``weeks`` weeks, floored by the
group's overall hourly mean so a quiet slot does not make two tickets look like an incident.
Counts are Poisson-ish, so "significantly above" is a one-sided test: the count must exceed
``baseline + z * sqrt(baseline)`` and be at least ``min_count``. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Spike", "SpikeSettings", "detect_spike", "hour_of", "hourly_counts"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SpikeSettings:
    """How sure before crying wolf."""

    weeks: int = 4
    z: float = 3.0
    min_count: int = 5


@dataclass(frozen=True, kw_only=True, slots=True)
class Spike:
    """A flagged hour: its count, the baseline, and a sentence saying why."""

    hour: datetime
    count: int
    baseline: float
    threshold: float
    reason: str


def hour_of(at: datetime) -> datetime:
    """The start of the hour ``at`` falls in."""
    return at.replace(minute=0, second=0, microsecond=0)


def hourly_counts(times: Iterable[datetime]) -> dict[datetime, int]:
    """Tickets per hour."""
    counts: dict[datetime, int] = {}
    for at in times:
        key = hour_of(at)
        counts[key] = counts.get(key, 0) + 1
    return counts


def detect_spike(
    counts: Mapping[datetime, int], hour: datetime, settings: SpikeSettings = SpikeSettings()
) -> Spike | None:
    """The spike at ``hour`` (start of an hour), or None when the count is ordinary."""
    hour = hour_of(hour)
    count = counts.get(hour, 0)
    if count < settings.min_count:
        return None
    same_slot = [counts.get(hour - timedelta(weeks=w), 0) for w in range(1, settings.weeks + 1)]
    window_start = hour - timedelta(weeks=settings.weeks)
    history = sum(n for at, n in counts.items() if window_start <= at < hour)
    overall = history / (settings.weeks * 7 * 24)
    baseline = max(sum(same_slot) / len(same_slot), overall)
    threshold = baseline + settings.z * math.sqrt(max(baseline, 1.0))
    if count <= threshold:
        return None
    reason = (
        f"{count} tickets in the hour from {hour:%Y-%m-%d %H:00} UTC against a baseline of "
        f"{baseline:.1f} (same hour over the past {settings.weeks} weeks: "
        f"{', '.join(str(n) for n in same_slot)}); threshold {threshold:.1f}"
    )
    return Spike(hour=hour, count=count, baseline=baseline, threshold=threshold, reason=reason)
