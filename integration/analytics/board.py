"""The dashboard's numbers, folded from rollup rows: per tier, per segment, per day, per breakdown.

Pure: the rows come from ``integration.store.dashboard`` (``total_rows``, ``series_rows``,
``breakdown_rows``, ``segment_days``); what comes out is what the page shows, in plain
dataclasses. Averages are sums over counts, so they are exact whatever the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from integration.analytics.facts import DIMENSIONS, ESCALATED_FROM, MEASURES, Spike, spikes

__all__ = [
    "TIERS",
    "Board",
    "Sums",
    "breakdowns",
    "fold_board",
    "segment_spikes",
    "series",
]

TIERS = (1, 2, 3)
_INDEX = {name: i for i, name in enumerate(MEASURES)}


@dataclass(slots=True)
class Sums:
    """Sums of the rollup measures over some rows."""

    values: list[float] = field(default_factory=lambda: [0.0] * len(MEASURES))

    def add(self, measures: Sequence[Any]) -> None:
        """Add one row's measures (``MEASURES`` order)."""
        for i, value in enumerate(measures):
            self.values[i] += float(value or 0)

    def __getitem__(self, name: str) -> float:
        return self.values[_INDEX[name]]

    @property
    def tickets(self) -> int:
        """How many tickets."""
        return int(self["tickets"])

    def mean(self, name: str) -> float | None:
        """The mean of a timed measure ("escalated", "first", "resolved"), seconds; or None."""
        count = self[f"{name}_n"]
        return self[f"{name}_s"] / count if count else None

    @property
    def csat(self) -> float | None:
        """Mean satisfaction (0 to 1) of the rated tickets, or None."""
        return self["csat_sum"] / self["csat_n"] if self["csat_n"] else None

    @property
    def attainment(self) -> float | None:
        """Share of finished SLA clocks that were met, or None."""
        finished = self["sla_met"] + self["sla_breached"]
        return self["sla_met"] / finished if finished else None


@dataclass(frozen=True, kw_only=True, slots=True)
class Board:
    """The totals of a period: overall, per tier, escalated or not, per dimension and tier."""

    total: Sums
    tiers: Mapping[int, Sums]
    escalated: Sums
    not_escalated: Sums
    # dimension -> value -> tier -> tickets
    mix: Mapping[str, Mapping[str, Mapping[int, int]]]

    @property
    def escalation_rate(self) -> float | None:
        """Share of tickets at Tier 2 or above."""
        return self.escalated.tickets / self.total.tickets if self.total.tickets else None


def fold_board(rows: Iterable[Sequence[Any]]) -> Board:
    """Fold ``total_rows`` (tier, helpdesk, plan, arr_band, channel, category, *measures)."""
    total, escalated, not_escalated = Sums(), Sums(), Sums()
    tiers: dict[int, Sums] = {t: Sums() for t in TIERS}
    mix: dict[str, dict[str, dict[int, int]]] = {d: defaultdict(dict) for d in DIMENSIONS}
    for row in rows:
        tier, dims, measures = int(row[0]), row[1:1 + len(DIMENSIONS)], row[1 + len(DIMENSIONS):]
        total.add(measures)
        tiers.setdefault(tier, Sums()).add(measures)
        (escalated if tier >= ESCALATED_FROM else not_escalated).add(measures)
        tickets = int(measures[0] or 0)
        for name, value in zip(DIMENSIONS, dims, strict=True):
            counts = mix[name][str(value)]
            counts[tier] = counts.get(tier, 0) + tickets
    return Board(total=total, tiers=tiers, escalated=escalated, not_escalated=not_escalated,
                 mix={d: {v: dict(c) for v, c in sorted(m.items()) if sum(c.values())}
                      for d, m in mix.items()})


@dataclass(frozen=True, kw_only=True, slots=True)
class Bucket:
    """One day (or month) or one breakdown value: tickets per tier and SLA outcomes."""

    key: str
    tiers: Mapping[int, int]
    met: int
    breached: int

    @property
    def tickets(self) -> int:
        """Every ticket of the bucket."""
        return sum(self.tiers.values())

    def rate(self, tier: int) -> float | None:
        """Share of the bucket's tickets at ``tier``."""
        return self.tiers.get(tier, 0) / self.tickets if self.tickets else None


def _buckets(rows: Iterable[tuple[str, int, Any, Any, Any]]) -> list[Bucket]:
    tiers: dict[str, dict[int, int]] = defaultdict(dict)
    sla: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, tier, tickets, met, breached in rows:
        tiers[key][int(tier)] = tiers[key].get(int(tier), 0) + int(tickets or 0)
        sla[key][0] += int(met or 0)
        sla[key][1] += int(breached or 0)
    return [Bucket(key=k, tiers=tiers[k], met=sla[k][0], breached=sla[k][1]) for k in tiers]


def series(rows: Iterable[Sequence[Any]], *, days: Sequence[date]) -> list[Bucket]:
    """``series_rows`` as one bucket per day of ``days`` (empty days included), in order."""
    found = {b.key: b for b in _buckets(
        (_day(r[0]).isoformat(), int(r[1]), r[2], r[3], r[4]) for r in rows)}
    return [found.get(d.isoformat(), Bucket(key=d.isoformat(), tiers={}, met=0, breached=0))
            for d in days]


def breakdowns(rows: Iterable[Sequence[Any]]) -> dict[str, list[Bucket]]:
    """``breakdown_rows`` per kind, each kind's buckets by tickets, most first."""
    per_kind: dict[str, list[tuple[str, int, Any, Any, Any]]] = defaultdict(list)
    for kind, value, tier, tickets, met, breached in rows:
        per_kind[str(kind)].append((str(value), int(tier), tickets, met, breached))
    return {kind: sorted(_buckets(items), key=lambda b: (-b.tickets, b.key))
            for kind, items in per_kind.items()}


def segment_spikes(rows: Iterable[Sequence[Any]], *, first: date, last: date) -> list[Spike]:
    """Spikes of Tier 3 tickets per plan (``segment_days`` rows) on the period's days."""
    daily: dict[str, dict[date, int]] = defaultdict(dict)
    for plan, day, tickets in rows:
        daily[str(plan)][_day(day)] = int(tickets or 0)
    return spikes(daily, first=first, last=last)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
