"""Per-tenant calibration: a category only counts when the detector is sure enough of it.

``calibrated(matrix, confidence)`` is the matrix whose category conditions (those that make a
rule hold, not those under a ``not``) also need the category confidence to reach the tenant's
threshold, and the learned tier model the same confidence before it changes a tier.
``choose`` tries a few thresholds over the tenant's labeled corrections and its history and
keeps the one that agrees best with the labels without agreeing less with either the labels
or the history than the matrix as written; None when none does. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from integration.matrix import Matrix
from integration.matrix.schema import Bump, Condition, Rule

__all__ = ["CANDIDATES", "Score", "calibrated", "calibration_of", "choose"]

# Thresholds tried, lowest first (a tie goes to the smallest change).
CANDIDATES = (0.4, 0.5, 0.6, 0.7, 0.8)


def calibrated(matrix: Matrix, confidence: float, *, version: int | str = "try") -> Matrix:
    """``matrix`` with every positive category condition also needing ``confidence``."""
    rules = {tier: tuple(_rule(r, confidence) for r in found)
             for tier, found in matrix.rules.items()}
    bumps = tuple(_bump(b, confidence) for b in matrix.bumps)
    # The learned tier model reads the category too: it may change a tier only where the
    # category is as sure as the rules now need it to be.
    learned = (replace(matrix.learned_tier, min_category_confidence=confidence)
               if matrix.learned_tier is not None else None)
    return replace(matrix, rules=rules, bumps=bumps, learned_tier=learned,
                   version=f"{matrix.version}+calibration-{version}")


def calibration_of(settings: Mapping[str, Any] | None) -> tuple[int | str, float] | None:
    """The calibration a tenant's settings turn on: (version, threshold), or None."""
    found = (settings or {}).get("calibration")
    if not isinstance(found, Mapping):
        return None
    value = found.get("category_confidence")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return None
    return found.get("version", "?"), float(value)


def _rule(rule: Rule, confidence: float) -> Rule:
    return replace(rule, when=_condition(rule.when, confidence))


def _bump(bump: Bump, confidence: float) -> Bump:
    return replace(bump, when=_condition(bump.when, confidence))


def _condition(condition: Condition, confidence: float) -> Condition:
    if condition.kind == "category":
        floor = Condition(kind="confidence_at_least", value=confidence)
        return Condition(kind="all", value=(condition, floor))
    if condition.kind in ("all", "any"):
        return Condition(kind=condition.kind,
                         value=tuple(_condition(c, confidence) for c in condition.value))
    # Under a ``not`` a less certain category must still count as that category.
    return condition


@dataclass(frozen=True, kw_only=True, slots=True)
class Score:
    """How one matrix agrees with the labels (exact tier) and with the history (Tier 3 or not
    against escalated or not)."""

    labels: int
    labels_agree: int
    history: int
    history_agree: int

    @property
    def label_rate(self) -> float | None:
        """Share of labeled examples the matrix puts at the label's tier."""
        return self.labels_agree / self.labels if self.labels else None

    @property
    def history_rate(self) -> float | None:
        """Share of the history where Tier 3 matches what happened."""
        return self.history_agree / self.history if self.history else None

    def to_dict(self) -> dict[str, Any]:
        """For the JSON."""
        return {"labels": self.labels, "labels_agree": self.labels_agree,
                "label_rate": _round(self.label_rate), "history": self.history,
                "history_agree": self.history_agree, "history_rate": _round(self.history_rate)}


def choose(current: Score, candidates: Sequence[tuple[float, Score]]) -> tuple[float, Score] | None:
    """The threshold that agrees best with the labels, lowering neither agreement; or None."""
    best: tuple[float, Score] | None = None
    for threshold, score in candidates:
        if score.labels_agree <= current.labels_agree:
            continue
        if _rate(score.history_agree, score.history) < _rate(current.history_agree,
                                                             current.history):
            continue
        if best is None or score.labels_agree > best[1].labels_agree:
            best = (threshold, score)
    return best


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None
