"""``escalade eval``: score decisions against a labeled JSONL file.

Each line is a normalized ticket plus ``expected`` = {category, tier, complaint} (any may be
absent). Categories get per-class precision / recall / F1 and a confusion matrix; tiers get
accuracy and Tier-3 precision / recall; complaints are scored as ``sentiment < 0``, the way
the held-out complaint sets are judged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integration.models import Category, Decision

__all__ = ["Expected", "evaluate_decisions", "format_report", "prf"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Expected:
    """The labels of one ticket; None where the file gives none."""

    category: str | None = None
    tier: int | None = None
    complaint: bool | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Expected:
        """Read an ``expected`` object (unknown keys ignored)."""
        data = data or {}
        tier = data.get("tier")
        complaint = data.get("complaint")
        return cls(
            category=data.get("category"),
            tier=int(tier) if tier is not None else None,
            complaint=bool(complaint) if complaint is not None else None,
        )


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 (0 where undefined)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _categories(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    labels = [c.value for c in Category]
    confusion = {gold: dict.fromkeys(labels, 0) for gold in labels}
    for gold, got in pairs:
        confusion.setdefault(gold, dict.fromkeys(labels, 0))
        confusion[gold][got] = confusion[gold].get(got, 0) + 1
    per_class: dict[str, dict[str, float]] = {}
    present = sorted({gold for gold, _ in pairs})
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        per_class[label] = {**prf(tp, fp, fn), "support": tp + fn}
    macro = sum(per_class[c]["f1"] for c in present) / len(present) if present else 0.0
    accuracy = sum(1 for g, p in pairs if g == p) / len(pairs) if pairs else 0.0
    return {
        "n": len(pairs),
        "accuracy": round(accuracy, 4),
        "macro_f1": round(macro, 4),
        "per_class": per_class,
        "confusion": {g: {p: n for p, n in row.items() if n} for g, row in confusion.items()},
    }


def _tiers(pairs: Sequence[tuple[int, int]]) -> dict[str, Any]:
    accuracy = sum(1 for g, p in pairs if g == p) / len(pairs) if pairs else 0.0
    tp = sum(1 for g, p in pairs if g == 3 and p == 3)
    fp = sum(1 for g, p in pairs if g != 3 and p == 3)
    fn = sum(1 for g, p in pairs if g == 3 and p != 3)
    confusion = Counter(f"{g}->{p}" for g, p in pairs)
    return {"n": len(pairs), "accuracy": round(accuracy, 4), "tier3": prf(tp, fp, fn),
            "confusion": dict(sorted(confusion.items()))}


def _complaints(pairs: Sequence[tuple[bool, bool]]) -> dict[str, Any]:
    tp = sum(1 for g, p in pairs if g and p)
    fp = sum(1 for g, p in pairs if not g and p)
    fn = sum(1 for g, p in pairs if g and not p)
    return {"n": len(pairs), **prf(tp, fp, fn)}


def evaluate_decisions(
    rows: Iterable[tuple[Expected, Decision]],
) -> dict[str, Any]:
    """Score decisions against expectations; categories, tiers and complaints separately."""
    categories: list[tuple[str, str]] = []
    tiers: list[tuple[int, int]] = []
    complaints: list[tuple[bool, bool]] = []
    misses: list[dict[str, Any]] = []
    for expected, decision in rows:
        miss: dict[str, Any] = {}
        if expected.category is not None:
            categories.append((expected.category, decision.category.value))
            if expected.category != decision.category.value:
                miss["category"] = [expected.category, decision.category.value]
        if expected.tier is not None:
            tiers.append((expected.tier, int(decision.tier)))
            if expected.tier != int(decision.tier):
                miss["tier"] = [expected.tier, int(decision.tier)]
        if expected.complaint is not None:
            got = decision.sentiment < 0
            complaints.append((expected.complaint, got))
            if expected.complaint != got:
                miss["complaint"] = [expected.complaint, got]
        if miss:
            misses.append({"id": decision.ticket_id, **miss})
    return {
        "category": _categories(categories),
        "tier": _tiers(tiers),
        "complaint": _complaints(complaints),
        "misses": misses,
    }


def format_report(report: Mapping[str, Any]) -> str:
    """A human-readable table of the report (the JSON stays the source of truth)."""
    lines = []
    cat = report["category"]
    lines.append(f"category: n={cat['n']} accuracy={cat['accuracy']:.3f} "
                 f"macro-F1={cat['macro_f1']:.3f}")
    lines.append(f"  {'class':<16}{'P':>7}{'R':>7}{'F1':>7}{'n':>6}")
    for label, m in cat["per_class"].items():
        if m["support"] or m["precision"]:
            lines.append(f"  {label:<16}{m['precision']:>7.3f}{m['recall']:>7.3f}"
                         f"{m['f1']:>7.3f}{m['support']:>6}")
    labels = [c.value for c in Category]
    short = {label: label[:5] for label in labels}
    lines.append("  confusion (rows: expected, columns: decided)")
    lines.append("  " + " " * 16 + "".join(f"{short[c]:>6}" for c in labels))
    for gold in labels:
        row = cat["confusion"].get(gold, {})
        if row:
            lines.append(f"  {gold:<16}" + "".join(f"{row.get(c, 0) or '.':>6}" for c in labels))
    tier = report["tier"]
    t3 = tier["tier3"]
    lines.append(f"tier: n={tier['n']} accuracy={tier['accuracy']:.3f} "
                 f"tier-3 P={t3['precision']:.3f} R={t3['recall']:.3f} F1={t3['f1']:.3f}")
    comp = report["complaint"]
    lines.append(f"complaint (sentiment < 0): n={comp['n']} P={comp['precision']:.3f} "
                 f"R={comp['recall']:.3f} F1={comp['f1']:.3f}")
    return "\n".join(lines)
