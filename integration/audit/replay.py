"""Replay a history under two matrices: what a rule change would have done, ticket by ticket.

``replay(tickets, new=..., current=...)`` reads every past ticket as each matrix would have
decided it when it arrived (detection once per distinct trigger set, see ``classify``) and
returns, for each matrix: tickets per tier per day, Tier-3 alerts per day, and how Tier 3
agrees with what actually happened (the history's escalations: precision, recall); and
every ticket whose tier changes, with the rules that fired under each matrix.

Days are read in ``zone`` (the tenant's display zone by default). Memory follows the number
of days and of listed changes (``max_changes``, 1000 by default, caps the list; None lists
every one; the counts are always exact).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any

from integration.audit.classify import Classified, Reading, classify, detection_key
from integration.audit.outcomes import outcome_of, with_outcomes
from integration.audit.progress import ProgressCallback, Reporter
from integration.audit.settings import AuditSettings
from integration.matrix import Matrix
from integration.models import Ticket

__all__ = ["Agreement", "ReplayResult", "ReplaySide", "TierChange", "replay", "replay_json"]

_SUBJECT_CHARS = 120


@dataclass(slots=True)
class Agreement:
    """Tier 3 against the history's escalations, as a confusion table."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        """Count one ticket."""
        if predicted and actual:
            self.true_positives += 1
        elif predicted:
            self.false_positives += 1
        elif actual:
            self.false_negatives += 1
        else:
            self.true_negatives += 1

    @property
    def precision(self) -> float | None:
        """Share of Tier-3 tickets that were escalated; None without Tier-3 tickets."""
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """Share of escalated tickets that reached Tier 3; None without escalations."""
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else None

    def to_dict(self) -> dict[str, Any]:
        """For the JSON."""
        return {
            "true_positives": self.true_positives, "false_positives": self.false_positives,
            "false_negatives": self.false_negatives, "true_negatives": self.true_negatives,
            "precision": _round(self.precision), "recall": _round(self.recall),
        }


@dataclass(slots=True)
class ReplaySide:
    """What one matrix did over the history."""

    version: str
    tiers: Counter[int] = field(default_factory=Counter)
    by_day: dict[date, Counter[int]] = field(default_factory=dict)
    alerts_by_day: Counter[date] = field(default_factory=Counter)
    agreement: Agreement = field(default_factory=Agreement)
    rules: Counter[str] = field(default_factory=Counter)

    def add(self, day: date, reading: Reading, escalated: bool) -> None:
        """Count one ticket's reading."""
        self.tiers[reading.tier] += 1
        counts = self.by_day.get(day)
        if counts is None:
            counts = self.by_day[day] = Counter()
        counts[reading.tier] += 1
        if reading.tier == 3 and reading.alert:
            self.alerts_by_day[day] += 1
        self.agreement.add(reading.tier == 3, escalated)
        self.rules.update(reading.rules)

    def to_dict(self, days: list[date]) -> dict[str, Any]:
        """For the JSON: every day of the history, empty days included."""
        return {
            "version": self.version,
            "tiers": {str(t): self.tiers.get(t, 0) for t in (1, 2, 3)},
            "by_day": {d.isoformat(): {str(t): self.by_day.get(d, Counter()).get(t, 0)
                                       for t in (1, 2, 3)} for d in days},
            "tier3_alerts_by_day": {d.isoformat(): self.alerts_by_day.get(d, 0) for d in days},
            "tier3_alerts": sum(self.alerts_by_day.values()),
            "agreement": self.agreement.to_dict(),
            "rules": dict(self.rules.most_common()),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class TierChange:
    """A ticket whose tier differs between the matrices, and the rules behind each."""

    ticket_id: str
    subject: str
    day: date
    current_tier: int
    new_tier: int
    current_rules: tuple[str, ...]
    new_rules: tuple[str, ...]
    escalated: bool

    @property
    def responsible(self) -> tuple[str, ...]:
        """Rules that fired under one matrix only: what made the difference."""
        added = [r for r in self.new_rules if r not in self.current_rules]
        dropped = [r for r in self.current_rules if r not in self.new_rules]
        return tuple(added + dropped)

    def to_dict(self) -> dict[str, Any]:
        """For the JSON."""
        return {
            "ticket": self.ticket_id, "subject": self.subject, "date": self.day.isoformat(),
            "current_tier": self.current_tier, "new_tier": self.new_tier,
            "current_rules": list(self.current_rules), "new_rules": list(self.new_rules),
            "responsible": list(self.responsible), "escalated": self.escalated,
        }


@dataclass(slots=True)
class ReplayResult:
    """Both matrices over one history, and every ticket that changes tier."""

    new: ReplaySide
    current: ReplaySide
    tickets: int = 0
    detection_sets: int = 0
    escalations: int = 0
    changed: int = 0
    raised: int = 0
    lowered: int = 0
    changes: list[TierChange] = field(default_factory=list)
    first_day: date | None = None
    last_day: date | None = None

    def days(self) -> list[date]:
        """Every day from the first ticket's to the last's."""
        if self.first_day is None or self.last_day is None:
            return []
        span = (self.last_day - self.first_day).days
        return [date.fromordinal(self.first_day.toordinal() + n) for n in range(span + 1)]


def replay(
    tickets: Iterable[Ticket],
    *,
    new: Matrix,
    current: Matrix,
    zone: tzinfo | None = None,
    workers: int = 0,
    max_changes: int | None = 1000,
    settings: AuditSettings | None = None,
    on_progress: ProgressCallback | None = None,
) -> ReplayResult:
    """Decide every ticket of ``tickets`` under ``new`` and ``current``; compare both.

    ``settings`` says where the history records escalations (for stored tickets).
    """
    reporter = Reporter(on_progress)
    result = ReplayResult(new=ReplaySide(version=new.version),
                          current=ReplaySide(version=current.version))
    result.detection_sets = len({detection_key(new), detection_key(current)})
    day_zone = zone or current.display_zone
    reporter.stage("reading", f"{result.detection_sets} detection set(s)")
    evidence = settings or AuditSettings()
    stream = (with_outcomes(t, evidence) for t in tickets)
    for item in classify(stream, [new, current], sla=False, workers=workers):
        reporter.tick()
        _count(result, item, day_zone, max_changes)
    reporter.stage("done")
    return result


def _count(result: ReplayResult, item: Classified, zone: tzinfo, max_changes: int | None) -> None:
    ticket = item.ticket
    new, current = item.readings
    escalated = outcome_of(ticket).escalated
    day = ticket.created_at.astimezone(zone).date()
    result.tickets += 1
    result.escalations += escalated
    result.first_day = day if result.first_day is None else min(result.first_day, day)
    result.last_day = day if result.last_day is None else max(result.last_day, day)
    result.new.add(day, new, escalated)
    result.current.add(day, current, escalated)
    if new.tier == current.tier:
        return
    result.changed += 1
    result.raised += new.tier > current.tier
    result.lowered += new.tier < current.tier
    if max_changes is None or len(result.changes) < max_changes:
        result.changes.append(TierChange(
            ticket_id=ticket.id, subject=ticket.subject[:_SUBJECT_CHARS], day=day,
            current_tier=current.tier, new_tier=new.tier, current_rules=current.rules,
            new_rules=new.rules, escalated=escalated,
        ))


def replay_json(result: ReplayResult) -> dict[str, Any]:
    """The replay as a JSON-ready dict."""
    days = result.days()
    responsible: Counter[str] = Counter()
    for change in result.changes:
        responsible.update(change.responsible)
    return {
        "tickets": result.tickets,
        "escalations": result.escalations,
        "detection_sets": result.detection_sets,
        "days": [d.isoformat() for d in days],
        "new": result.new.to_dict(days),
        "current": result.current.to_dict(days),
        "changed": result.changed,
        "raised": result.raised,
        "lowered": result.lowered,
        "changes_listed": len(result.changes),
        "rules_behind_changes": dict(responsible.most_common()),
        "changes": [c.to_dict() for c in result.changes],
    }


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None

