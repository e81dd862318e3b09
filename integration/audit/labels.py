"""Label against outcome: which agent labels (or topics inside them) behave unlike the label.

Two comparisons, each on resolution time, bad ratings, reopens and reassignments:

- a label as a whole against the norm of the category it names: tickets labeled ``how-to``
  against every other ticket Escalade reads as a how-to question (labels the map does not
  know are not compared as a whole);
- a topic inside a label against the rest of that label: "how-to about exports" against the
  other how-to tickets.

Only "worse than the norm" contradicts a label (longer, rated badly more often, reopened or
passed around more): a label that hides harder work. A finding needs all three:

1. size: at least ``min_group`` tickets with the outcome on both sides (ratings: half that,
   at least 10, since few customers answer the survey);
2. effect: resolution ``min_ratio`` times the norm's median and Cliff's delta at least
   ``min_delta``; a rate at least ``min_rate_gap`` above the norm's; reassignments with Cliff's
   delta at least ``min_delta``;
3. significance: one-sided Mann-Whitney U (times, reassignments) or two-proportion z-test
   (ratings, reopens), with the Benjamini-Hochberg procedure holding the false-discovery
   rate at ``fdr`` across every test of the audit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from integration.audit.aggregate import CellStats, Example
from integration.audit.settings import AuditSettings
from integration.audit.stats import (
    benjamini_hochberg,
    mann_whitney_greater,
    proportion_greater,
)
from integration.audit.topics import TopicInfo

__all__ = ["LabelCheck", "OutcomeTest", "label_checks"]

_MIN_RATINGS = 10


@dataclass(kw_only=True, slots=True)
class OutcomeTest:
    """One outcome compared: the group's value, the norm's, the effect and the p-value."""

    outcome: str
    group: float
    norm: float
    group_n: int
    norm_n: int
    effect: float
    p_value: float
    meets_effect: bool
    significant: bool = False

    def to_dict(self) -> dict[str, Any]:
        """For the report's JSON."""
        return {
            "outcome": self.outcome, "group": round(self.group, 4), "norm": round(self.norm, 4),
            "group_n": self.group_n, "norm_n": self.norm_n, "effect": round(self.effect, 4),
            "p_value": self.p_value, "meets_effect": self.meets_effect,
            "significant": self.significant,
        }


@dataclass(kw_only=True, slots=True)
class LabelCheck:
    """One label (``topic`` None) or one topic inside a label, checked against its norm."""

    label: str
    topic: str | None
    topic_name: str | None
    tickets: int
    norm: str
    tests: list[OutcomeTest] = field(default_factory=list)
    reads: dict[str, float] = field(default_factory=dict)
    behaves_like: str | None = None
    examples: list[Example] = field(default_factory=list)
    contradicted: bool = False
    evidence: str = ""

    def to_dict(self) -> dict[str, Any]:
        """For the report's JSON."""
        return {
            "label": self.label,
            "topic": self.topic,
            "topic_name": self.topic_name,
            "tickets": self.tickets,
            "contradicted": self.contradicted,
            "evidence": self.evidence,
            "norm": self.norm,
            "tests": [t.to_dict() for t in self.tests],
            "escalade_reads": {k: round(v, 3) for k, v in self.reads.items()},
            "behaves_like": self.behaves_like,
            "examples": [{"id": e.id, "subject": e.subject,
                          "resolution_minutes": round(e.key, 1)} for e in self.examples],
        }


def label_checks(
    cells: Mapping[tuple[str, ...], CellStats],
    settings: AuditSettings,
    topics: Mapping[str, TopicInfo],
) -> list[LabelCheck]:
    """Every label and every large enough topic inside a label, tested; contradictions first."""
    checks: list[LabelCheck] = []
    profiles = _category_profiles(cells, settings)
    for key, cell in sorted(cells.items()):
        if key[0] == "label":
            label = key[1]
            mapped = settings.label_category(label)
            norm_cell = None
            if mapped is not None and ("category", mapped.value) in cells:
                norm_cell = _without(cells[("category", mapped.value)],
                                     cells.get(("label_category", label, mapped.value)))
            check = LabelCheck(
                label=label, topic=None, topic_name=None, tickets=cell.tickets,
                norm=(f"tickets Escalade reads as {mapped.value}, other labels"
                      if norm_cell is not None and mapped is not None
                      else "no norm: the label names no category"),
            )
            if norm_cell is not None:
                check.tests = _tests(cell, norm_cell, settings)
            _describe_reads(check, cell, profiles)
            checks.append(check)
        elif key[0] == "label_topic" and cell.tickets >= settings.min_group:
            label, topic = key[1], key[2]
            whole = cells[("label", label)]
            rest = _without(whole, cell)
            info = topics.get(topic)
            check = LabelCheck(
                label=label, topic=topic, topic_name=info.name if info else None,
                tickets=cell.tickets, norm=f"the other tickets labeled {label}",
                tests=_tests(cell, rest, settings),
            )
            _describe_reads(check, cell, profiles)
            checks.append(check)
    every = [t for c in checks for t in c.tests]
    rejected = benjamini_hochberg([t.p_value for t in every], settings.fdr)
    for test, significant in zip(every, rejected, strict=True):
        test.significant = significant
    for check in checks:
        check.contradicted = any(t.significant and t.meets_effect for t in check.tests)
        check.evidence = _evidence(check)
    checks.sort(key=lambda c: (not c.contradicted, -c.tickets, c.label, c.topic or ""))
    return checks


def _without(whole: CellStats, part: CellStats | None) -> CellStats:
    if part is None:
        return whole
    return CellStats(
        tickets=whole.tickets - part.tickets,
        escalations=whole.escalations - part.escalations,
        resolution=whole.resolution.minus(part.resolution),
        reassignments=whole.reassignments.minus(part.reassignments),
        rated=whole.rated - part.rated,
        bad=whole.bad - part.bad,
        reopen_known=whole.reopen_known - part.reopen_known,
        reopened=whole.reopened - part.reopened,
    )


def _tests(group: CellStats, norm: CellStats, settings: AuditSettings) -> list[OutcomeTest]:
    out: list[OutcomeTest] = []
    size = settings.min_group
    if group.resolution.total >= size and norm.resolution.total >= size:
        result = mann_whitney_greater(group.resolution, norm.resolution)
        mine = group.resolution.median() or 0.0
        theirs = norm.resolution.median() or 0.0
        ratio = mine / theirs if theirs > 0 else math.inf
        out.append(OutcomeTest(
            outcome="resolution_minutes", group=mine, norm=theirs,
            group_n=group.resolution.total, norm_n=norm.resolution.total, effect=result.effect,
            p_value=result.p_value,
            meets_effect=ratio >= settings.min_ratio and result.effect >= settings.min_delta,
        ))
    ratings = max(_MIN_RATINGS, size // 2)
    if group.rated >= ratings and norm.rated >= ratings:
        result = proportion_greater(group.bad, group.rated, norm.bad, norm.rated)
        out.append(OutcomeTest(
            outcome="bad_rating_rate", group=group.bad / group.rated, norm=norm.bad / norm.rated,
            group_n=group.rated, norm_n=norm.rated, effect=result.effect,
            p_value=result.p_value, meets_effect=result.effect >= settings.min_rate_gap,
        ))
    if group.reopen_known >= size and norm.reopen_known >= size:
        result = proportion_greater(group.reopened, group.reopen_known, norm.reopened,
                                    norm.reopen_known)
        out.append(OutcomeTest(
            outcome="reopen_rate", group=group.reopened / group.reopen_known,
            norm=norm.reopened / norm.reopen_known, group_n=group.reopen_known,
            norm_n=norm.reopen_known, effect=result.effect, p_value=result.p_value,
            meets_effect=result.effect >= settings.min_rate_gap,
        ))
    if group.reassignments.total >= size and norm.reassignments.total >= size:
        result = mann_whitney_greater(group.reassignments, norm.reassignments)
        out.append(OutcomeTest(
            outcome="reassignments", group=group.reassignments.mean() or 0.0,
            norm=norm.reassignments.mean() or 0.0, group_n=group.reassignments.total,
            norm_n=norm.reassignments.total, effect=result.effect, p_value=result.p_value,
            meets_effect=result.effect >= settings.min_delta,
        ))
    return out


def _category_profiles(
    cells: Mapping[tuple[str, ...], CellStats], settings: AuditSettings
) -> dict[str, tuple[float, float]]:
    # Each category Escalade reads, as (log median resolution, bad-rating rate).
    out: dict[str, tuple[float, float]] = {}
    for key, cell in cells.items():
        if key[0] != "category" or cell.resolution.total < settings.min_group:
            continue
        median = cell.resolution.median() or 1.0
        bad = cell.bad / cell.rated if cell.rated >= _MIN_RATINGS else math.nan
        out[key[1]] = (math.log(max(median, 1.0)), bad)
    return out


def _describe_reads(
    check: LabelCheck, cell: CellStats, profiles: Mapping[str, tuple[float, float]]
) -> None:
    total = sum(cell.reads.values())
    check.reads = {k: n / total for k, n in cell.reads.most_common(3)} if total else {}
    check.examples = sorted(cell.slowest, reverse=True) or list(cell.first)
    if not profiles or cell.resolution.total == 0:
        return
    mine = (math.log(max(cell.resolution.median() or 1.0, 1.0)),
            cell.bad / cell.rated if cell.rated >= _MIN_RATINGS else math.nan)
    best, best_distance = None, math.inf
    for category, (log_median, bad) in sorted(profiles.items()):
        distance = abs(mine[0] - log_median)
        if not math.isnan(mine[1]) and not math.isnan(bad):
            distance += 3.0 * abs(mine[1] - bad)
        if distance < best_distance:
            best, best_distance = category, distance
    check.behaves_like = best


def _hours(minutes: float) -> str:
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def _evidence(check: LabelCheck) -> str:
    subject = f"tickets labeled {check.label}"
    if check.topic_name:
        subject += f" about '{check.topic_name}'"
    if not check.tests:
        reason = ("too few tickets with known outcomes to compare" if "no norm" not in check.norm
                  else check.norm)
        return f"{check.tickets} {subject}: not tested ({reason})."
    parts = []
    for test in check.tests:
        if not (test.significant and test.meets_effect):
            continue
        if test.outcome == "resolution_minutes":
            times = test.group / test.norm if test.norm else math.inf
            parts.append(f"take {times:.1f}× longer to resolve ({_hours(test.group)} median "
                         f"against {_hours(test.norm)})")
        elif test.outcome == "bad_rating_rate":
            parts.append(f"are rated badly {test.group:.0%} of the time against "
                         f"{test.norm:.0%}")
        elif test.outcome == "reopen_rate":
            parts.append(f"are reopened {test.group:.0%} of the time against {test.norm:.0%}")
        else:
            parts.append(f"are reassigned {test.group:.1f} times on average against "
                         f"{test.norm:.1f}")
    reads = ", ".join(f"{k} {v:.0%}" for k, v in check.reads.items())
    if not parts:
        tested = ", ".join(t.outcome.replace("_", " ") for t in check.tests)
        return (f"{check.tickets} {subject} behave like their norm ({check.norm}) on "
                f"{tested}; Escalade reads {reads}.")
    like = f": they behave like {check.behaves_like}" if check.behaves_like else ""
    return (f"{check.tickets} {subject} " + " and ".join(parts) + f", compared with "
            f"{check.norm}{like} (Escalade reads {reads}).")

