"""Streaming sums over classified tickets: segments, SLA, trends, groups and label cells.

``Accumulator.add`` is called once per ticket and keeps only counts, sums, binned
histograms and a few examples per group, so its size follows the number of categories,
topics, labels, days and accounts, never the number of tickets.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo

from integration.audit.classify import Classified
from integration.audit.outcomes import Outcome, outcome_of
from integration.audit.settings import AuditSettings
from integration.audit.stats import Histogram, count_bin, duration_bin

__all__ = [
    "NO_LABEL",
    "WEEKDAYS",
    "Accumulator",
    "CellStats",
    "Example",
    "GroupStats",
    "Rate",
]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NO_LABEL = "(no label)"
OTHER_LABELS = "(other labels)"
_MAX_LABELS = 200
_MAX_REASONS = 500
_SUBJECT_CHARS = 120
_HOURS = tuple(str(hour) for hour in range(24))


@dataclass(slots=True)
class Rate:
    """Tickets and how many of them had the outcome (escalated, breached)."""

    tickets: int = 0
    hits: int = 0

    def add(self, hit: bool) -> None:
        """Count one ticket."""
        self.tickets += 1
        self.hits += hit

    @property
    def rate(self) -> float:
        """hits / tickets (0 when empty)."""
        return self.hits / self.tickets if self.tickets else 0.0


@dataclass(frozen=True, slots=True, order=True)
class Example:
    """A ticket shown as evidence: the sort key first (e.g. minutes to resolve)."""

    key: float
    id: str
    subject: str


@dataclass(slots=True)
class GroupStats:
    """A category or topic, for the ranking: volume, escalations, hours, CSAT, ARR at risk."""

    tickets: int = 0
    escalations: int = 0
    hours: float = 0.0
    rated: int = 0
    csat_sum: float = 0.0
    csat_loss: float = 0.0
    sla_known: int = 0
    sla_breaches: int = 0
    resolution: Histogram = field(default_factory=Histogram.durations)
    # account id -> (ARR, plan) of accounts with an escalated or badly rated ticket here
    at_risk: dict[str, tuple[float, str]] = field(default_factory=dict)
    tiers: Counter[int] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    examples: list[Example] = field(default_factory=list)

    @property
    def arr_at_risk(self) -> float:
        """Sum of the ARR of the distinct accounts at risk."""
        return sum(arr for arr, _ in self.at_risk.values())

    @property
    def csat(self) -> float | None:
        """Mean satisfaction of the rated tickets (0-1)."""
        return self.csat_sum / self.rated if self.rated else None


@dataclass(slots=True)
class CellStats:
    """Outcomes of one group of tickets for the label checks."""

    tickets: int = 0
    escalations: int = 0
    resolution: Histogram = field(default_factory=Histogram.durations)
    reassignments: Histogram = field(default_factory=Histogram.counts)
    rated: int = 0
    bad: int = 0
    reopen_known: int = 0
    reopened: int = 0
    reads: Counter[str] = field(default_factory=Counter)
    # The slowest tickets (a min-heap on minutes) and the first seen.
    slowest: list[Example] = field(default_factory=list)
    first: list[Example] = field(default_factory=list)


class Accumulator:
    """Everything the audit counts, fed one classified ticket at a time."""

    def __init__(self, settings: AuditSettings, zone: tzinfo) -> None:
        self.settings = settings
        self.zone = zone
        self.tickets = 0
        self.escalations = 0
        self.first_at: datetime | None = None
        self.last_at: datetime | None = None
        self.segments: dict[str, dict[str, Rate]] = {
            name: {} for name in ("weekday", "hour", "weekday_utc", "hour_utc", "plan",
                                  "arr_band", "channel", "group")
        }
        self.heatmap: dict[tuple[int, int], Rate] = {}
        self.sla: dict[str, dict[str, Rate]] = {name: {} for name in ("weekday", "hour", "group")}
        self.sla_total = Rate()
        self.sla_sources: Counter[str] = Counter()
        self.daily: dict[date, list[int]] = {}
        self.day_category: Counter[tuple[str, date]] = Counter()
        self.day_topic: Counter[tuple[str, date]] = Counter()
        self.hour_category: Counter[tuple[str, datetime]] = Counter()
        self.categories: dict[str, GroupStats] = {}
        self.topics: dict[str, GroupStats] = {}
        self.cells: dict[tuple[str, ...], CellStats] = {}
        self.reasons: Counter[str] = Counter()
        self.labels: Counter[str] = Counter()
        self.tiers: Counter[int] = Counter()
        self.text_tickets = 0
        # The band names once, not formatted again for every ticket.
        self._band_edges = tuple(settings.arr_bands)
        self._band_names = settings.arr_band_names()

    def add(self, item: Classified, topic: str | None) -> None:
        """Count one ticket (its first reading is the matrix audited)."""
        ticket, reading = item.ticket, item.readings[0]
        outcome = outcome_of(ticket)
        escalated = outcome.escalated
        self.tickets += 1
        self.escalations += escalated
        self.tiers[reading.tier] += 1
        created = ticket.created_at
        if self.first_at is None or created < self.first_at:
            self.first_at = created
        if self.last_at is None or created > self.last_at:
            self.last_at = created
        local = created.astimezone(self.zone)
        group = ticket.group or "(no group)"
        self._segments(item, local, group, escalated)
        breached = self._sla(outcome, reading.sla_breached, local, group)
        self._trend(local, reading.category, topic, escalated, breached, reading.tier)
        if escalated and outcome.escalation_reason:
            reason = outcome.escalation_reason.lower()
            if reason in self.reasons or len(self.reasons) < _MAX_REASONS:
                self.reasons[reason] += 1
            else:
                self.reasons["(other reasons)"] += 1
        label = self._label(outcome.agent_category)
        self.labels[label] += 1
        if ticket.messages:
            self.text_tickets += 1
        self._groups(item, outcome, escalated, breached, label, topic)

    def _segments(self, item: Classified, local: datetime, group: str, escalated: bool) -> None:
        ticket = item.ticket
        utc = ticket.created_at.astimezone(UTC)
        account = ticket.account
        plan = (account.plan if account is not None and account.plan else "unknown").lower()
        arr = account.arr if account is not None else None
        seg = self.segments
        band = (self._band_names[-1] if arr is None
                else self._band_names[bisect_right(self._band_edges, arr)])
        _rate(seg["weekday"], WEEKDAYS[local.weekday()]).add(escalated)
        _rate(seg["hour"], _HOURS[local.hour]).add(escalated)
        _rate(seg["weekday_utc"], WEEKDAYS[utc.weekday()]).add(escalated)
        _rate(seg["hour_utc"], _HOURS[utc.hour]).add(escalated)
        _rate(seg["plan"], plan).add(escalated)
        _rate(seg["arr_band"], band).add(escalated)
        _rate(seg["channel"], ticket.channel.value).add(escalated)
        _rate(seg["group"], group).add(escalated)
        cell = self.heatmap.get((local.weekday(), local.hour))
        if cell is None:
            cell = self.heatmap[(local.weekday(), local.hour)] = Rate()
        cell.add(escalated)

    def _sla(
        self, outcome: Outcome, computed: bool | None, local: datetime, group: str
    ) -> bool | None:
        # The helpdesk's own SLA verdict wins; else the one computed from the matrix.
        breached = outcome.sla_breached
        if breached is not None:
            self.sla_sources["helpdesk"] += 1
        elif computed is not None:
            breached = computed
            self.sla_sources["computed"] += 1
        if breached is not None:
            self.sla_total.add(breached)
            _rate(self.sla["weekday"], WEEKDAYS[local.weekday()]).add(breached)
            _rate(self.sla["hour"], _HOURS[local.hour]).add(breached)
            _rate(self.sla["group"], group).add(breached)
        return breached

    def _trend(
        self, local: datetime, category: str, topic: str | None, escalated: bool,
        breached: bool | None, tier: int,
    ) -> None:
        day = local.date()
        trend = self.daily.get(day)
        if trend is None:
            trend = self.daily[day] = [0, 0, 0, 0]
        trend[0] += 1
        trend[1] += escalated
        trend[2] += bool(breached)
        trend[3] += tier == 3
        self.day_category[(category, day)] += 1
        self.hour_category[(category, local.replace(minute=0, second=0, microsecond=0))] += 1
        if topic is not None:
            self.day_topic[(topic, day)] += 1

    def _groups(
        self, item: Classified, outcome: Outcome, escalated: bool, breached: bool | None,
        label: str, topic: str | None,
    ) -> None:
        ticket, category = item.ticket, item.readings[0].category
        subject = ticket.subject[:_SUBJECT_CHARS]
        # Each outcome's bin is worked out once, for the up to six tables it is counted in.
        minutes, moves = outcome.resolution_minutes, outcome.reassignments
        bins = (duration_bin(minutes) if minutes is not None else None,
                count_bin(moves) if moves is not None else None)
        groups = [_group(self.categories, category)]
        if topic is not None:
            groups.append(_group(self.topics, topic))
        for stats in groups:
            _add_group(stats, item, outcome, escalated, breached, label, subject, bins[0])
        keys: list[tuple[str, ...]] = []
        if label != NO_LABEL:
            keys += [("label", label), ("label_category", label, category)]
            if topic is not None:
                keys.append(("label_topic", label, topic))
        keys.append(("category", category))
        for key in keys:
            cell = self.cells.get(key)
            if cell is None:
                cell = self.cells[key] = CellStats()
            _add_cell(cell, outcome, escalated, ticket.csat, category, ticket.id, subject,
                      self.settings.examples, bins)

    def _label(self, label: str | None) -> str:
        if not label:
            return NO_LABEL
        if label in self.labels or len(self.labels) < _MAX_LABELS:
            return label
        return OTHER_LABELS


def _rate(table: dict[str, Rate], key: str) -> Rate:
    found = table.get(key)
    if found is None:
        found = table[key] = Rate()
    return found


def _group(table: dict[str, GroupStats], key: str) -> GroupStats:
    found = table.get(key)
    if found is None:
        found = table[key] = GroupStats()
    return found


def _add_group(
    stats: GroupStats, item: Classified, outcome: Outcome, escalated: bool,
    breached: bool | None, label: str, subject: str, resolution_bin: int | None,
) -> None:
    ticket, reading = item.ticket, item.readings[0]
    stats.tickets += 1
    stats.escalations += escalated
    if outcome.hours_spent is not None:
        stats.hours += outcome.hours_spent
    elif outcome.resolution_minutes is not None:
        stats.hours += outcome.resolution_minutes / 60.0
    if resolution_bin is not None:
        stats.resolution.add_bin(resolution_bin)
    csat = ticket.csat
    bad = False
    if csat is not None:
        stats.rated += 1
        stats.csat_sum += csat
        stats.csat_loss += 1.0 - csat
        bad = csat < 0.5
    if breached is not None:
        stats.sla_known += 1
        stats.sla_breaches += breached
    account = ticket.account
    if (escalated or bad) and account is not None and account.arr:
        stats.at_risk[account.id] = (account.arr, (account.plan or "unknown").lower())
    stats.tiers[reading.tier] += 1
    stats.rules.update(reading.rules)
    stats.labels[label] += 1
    if len(stats.examples) < 5:
        stats.examples.append(Example(key=0.0, id=ticket.id, subject=subject))


def _add_cell(
    cell: CellStats, outcome: Outcome, escalated: bool, csat: float | None, category: str,
    ticket_id: str, subject: str, keep: int, bins: tuple[int | None, int | None],
) -> None:
    cell.tickets += 1
    cell.escalations += escalated
    if csat is not None:
        cell.rated += 1
        cell.bad += csat < 0.5
    cell.reads[category] += 1
    minutes = outcome.resolution_minutes
    resolution_bin, moves_bin = bins
    # The bin is set exactly when the minutes are: both come from this outcome.
    if minutes is not None and resolution_bin is not None:
        cell.resolution.add_bin(resolution_bin)
        slowest = cell.slowest
        # Most tickets are not among the slowest: no example is made for them.
        if len(slowest) < keep:
            heapq.heappush(slowest, Example(key=minutes, id=ticket_id, subject=subject))
        elif minutes >= slowest[0].key:
            example = Example(key=minutes, id=ticket_id, subject=subject)
            if example > slowest[0]:
                heapq.heapreplace(slowest, example)
    if moves_bin is not None:
        cell.reassignments.add_bin(moves_bin)
    if outcome.reopens is not None:
        cell.reopen_known += 1
        cell.reopened += outcome.reopens > 0
    if len(cell.first) < keep:
        cell.first.append(Example(key=minutes or 0.0, id=ticket_id, subject=subject))

