"""``escalade eval``: score decisions against labeled JSONL files.

Each line is a normalized ticket plus ``expected`` = {category, tier, complaint} (any may be
absent) and, optionally, ``kind``: the difficulty the ticket was written to test (``negated``,
``calm_churn``, ``plain`` for none). Categories get per-class precision / recall / F1 and a
confusion matrix; tiers get accuracy and Tier-3 precision / recall; complaints are scored as
``sentiment < 0``, the way the complaint sets are judged; each kind gets its tier accuracy and
how many of its tickets were decided a tier too high (over) or too low (under). Several
labeled sets (development, held out) are printed side by side by ``format_side_by_side``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integration.errors import ValidationError
from integration.models import Category, Decision

__all__ = [
    "OVER_TRAPS",
    "UNDER_TRAPS",
    "Expected",
    "evaluate_decisions",
    "format_report",
    "format_side_by_side",
    "kind_order",
    "prf",
    "summary_figures",
    "trap_of",
]

# Kinds that tempt a reader to escalate too much (a trigger word that does not count) and
# kinds that tempt it to escalate too little (a severe matter without the usual words).
# Other kinds (account_context, repeat_contact, tone_only, page_context, machine_alert, ...)
# cut both ways.
OVER_TRAPS = frozenset({
    "past_event", "retracted", "keyword_as_name", "joke", "someone_elses", "hypothetical",
    "negated", "pre_purchase_policy", "lockout_question", "gdpr_from_their_user",
    "quoted_history", "agent_words", "routine_legal_word", "test_ticket",
    "scheduled_maintenance",
})
UNDER_TRAPS = frozenset({
    "calm_churn", "exec_relationship", "security_without_word", "data_loss_migration",
    "platform_wide", "buried_ask", "downplayed_severity", "ultimatum", "mixed_intents",
})
_KIND = re.compile(r"[a-z][a-z0-9_]*")
_CATEGORIES = frozenset(c.value for c in Category)


@dataclass(frozen=True, kw_only=True, slots=True)
class Expected:
    """The labels of one ticket; None where the file gives none."""

    category: str | None = None
    tier: int | None = None
    complaint: bool | None = None
    kind: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, *, kind: Any = None) -> Expected:
        """Read an ``expected`` object (unknown keys ignored) and the line's ``kind``.

        Raises ``ValidationError`` naming the field (``expected.tier``, ``kind``, ...).
        """
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ValidationError("expected", "must be an object")
        return cls(
            category=_category(data.get("category")),
            tier=_tier(data.get("tier")),
            complaint=_complaint(data.get("complaint")),
            kind=_kind(kind),
        )


def _category(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in _CATEGORIES:
        return value
    raise ValidationError("expected.category",
                          f"unknown category {value!r}; one of {', '.join(sorted(_CATEGORIES))}")


def _tier(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or value not in (1, 2, 3):
        raise ValidationError("expected.tier", f"must be 1, 2 or 3, not {value!r}")
    return int(value)


def _complaint(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValidationError("expected.complaint", f"must be true or false, not {value!r}")


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _KIND.fullmatch(value):
        raise ValidationError("kind", f"must be a lowercase word like 'negated', not {value!r}")
    return value


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


def tier_figures(pairs: Sequence[tuple[int, int]]) -> dict[str, Any]:
    """Tier accuracy, Tier-3 precision / recall and the confusion of (expected, decided)."""
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


def _kinds(rows: Sequence[tuple[Expected, Decision]]) -> dict[str, dict[str, Any]]:
    """Per kind: tickets, tier accuracy, decided too high / too low, complaint accuracy."""
    grouped: dict[str, list[tuple[Expected, Decision]]] = defaultdict(list)
    for expected, decision in rows:
        if expected.kind is not None:
            grouped[expected.kind].append((expected, decision))
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in sorted(grouped):
        tiers = [(e.tier, int(d.tier)) for e, d in grouped[kind] if e.tier is not None]
        complaints = [(e.complaint, d.sentiment < 0) for e, d in grouped[kind]
                      if e.complaint is not None]
        by_kind[kind] = {
            "tickets": len(grouped[kind]),
            "trap": trap_of(kind),
            "tier_accuracy": _share(sum(1 for g, p in tiers if g == p), len(tiers)),
            "over": sum(1 for g, p in tiers if p > g),
            "under": sum(1 for g, p in tiers if p < g),
            "complaint_accuracy": _share(sum(1 for g, p in complaints if g == p),
                                         len(complaints)),
        }
    return by_kind


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _miss(expected: Expected, decision: Decision) -> dict[str, Any]:
    miss: dict[str, Any] = {}
    if expected.category is not None and expected.category != decision.category.value:
        miss["category"] = [expected.category, decision.category.value]
    if expected.tier is not None and expected.tier != int(decision.tier):
        miss["tier"] = [expected.tier, int(decision.tier)]
    if expected.complaint is not None and expected.complaint != (decision.sentiment < 0):
        miss["complaint"] = [expected.complaint, decision.sentiment < 0]
    if miss and expected.kind is not None:
        miss["kind"] = expected.kind
    return miss


def evaluate_decisions(
    rows: Iterable[tuple[Expected, Decision]],
) -> dict[str, Any]:
    """Score decisions against expectations: categories, tiers, complaints and kinds."""
    rows = list(rows)
    categories = [(e.category, d.category.value) for e, d in rows if e.category is not None]
    tiers = [(e.tier, int(d.tier)) for e, d in rows if e.tier is not None]
    complaints = [(e.complaint, d.sentiment < 0) for e, d in rows if e.complaint is not None]
    misses = []
    for expected, decision in rows:
        miss = _miss(expected, decision)
        if miss:
            misses.append({"id": decision.ticket_id, **miss})
    return {
        "tickets": len(rows),
        "category": _categories(categories),
        "tier": tier_figures(tiers),
        "complaint": _complaints(complaints),
        "by_kind": _kinds(rows),
        "misses": misses,
    }


def format_report(report: Mapping[str, Any]) -> str:
    """A human-readable table of the report (the JSON stays the source of truth).

    A set labeled for complaint only (posts) shows no category or tier section.
    """
    lines = _category_lines(report["category"]) if report["category"]["n"] else []
    tier = report["tier"]
    t3 = tier["tier3"]
    if tier["n"]:
        lines.append(f"tier: n={tier['n']} accuracy={tier['accuracy']:.3f} "
                     f"tier-3 P={t3['precision']:.3f} R={t3['recall']:.3f} F1={t3['f1']:.3f}")
    comp = report["complaint"]
    lines.append(f"complaint (sentiment < 0): n={comp['n']} P={comp['precision']:.3f} "
                 f"R={comp['recall']:.3f} F1={comp['f1']:.3f}")
    lines += _kind_lines(report.get("by_kind") or {})
    return "\n".join(lines)


def _category_lines(cat: Mapping[str, Any]) -> list[str]:
    lines = [f"category: n={cat['n']} accuracy={cat['accuracy']:.3f} "
             f"macro-F1={cat['macro_f1']:.3f}",
             f"  {'class':<16}{'P':>7}{'R':>7}{'F1':>7}{'n':>6}"]
    for label, m in cat["per_class"].items():
        if m["support"] or m["precision"]:
            lines.append(f"  {label:<16}{m['precision']:>7.3f}{m['recall']:>7.3f}"
                         f"{m['f1']:>7.3f}{m['support']:>6}")
    labels = [c.value for c in Category]
    lines.append("  confusion (rows: expected, columns: decided)")
    lines.append("  " + " " * 16 + "".join(f"{c[:5]:>6}" for c in labels))
    for gold in labels:
        row = cat["confusion"].get(gold, {})
        if row:
            lines.append(f"  {gold:<16}" + "".join(f"{row.get(c, 0) or '.':>6}" for c in labels))
    return lines


def kind_order(kinds: Iterable[str]) -> list[str]:
    """Over-escalation traps, then under-escalation traps, then the rest; ``plain`` last."""
    def key(kind: str) -> tuple[int, str]:
        group = 0 if kind in OVER_TRAPS else 1 if kind in UNDER_TRAPS else 2
        return (3 if kind == "plain" else group, kind)
    return sorted(kinds, key=key)


def trap_of(kind: str) -> str | None:
    """Which way a kind tempts a reader: ``over``, ``under`` or None (both, or neither)."""
    return "over" if kind in OVER_TRAPS else "under" if kind in UNDER_TRAPS else None


def _kind_label(kind: str) -> str:
    trap = trap_of(kind)
    return f"{kind} ({trap})" if trap else kind


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _kind_lines(by_kind: Mapping[str, Mapping[str, Any]]) -> list[str]:
    if not by_kind:
        return []
    lines = ["by kind (trap: which way it tempts; over/under: decided a tier too high/low)",
             f"  {'kind':<32}{'n':>5}{'tier':>8}{'over':>6}{'under':>6}{'compl':>8}"]
    for kind in kind_order(by_kind):
        m = by_kind[kind]
        tiers = m["tier_accuracy"] is not None
        over, under = (m["over"], m["under"]) if tiers else ("—", "—")
        lines.append(f"  {_kind_label(kind):<32}{m['tickets']:>5}"
                     f"{_number(m['tier_accuracy']):>8}{over:>6}{under:>6}"
                     f"{_number(m['complaint_accuracy']):>8}")
    return lines


_LABEL = 34
_CELL = 18


def summary_figures(report: Mapping[str, Any]) -> dict[str, float | None]:
    """The five headline figures of one report; None where the set has no such labels."""
    tier, cat, comp = report["tier"], report["category"], report["complaint"]
    return {
        "tier accuracy": tier["accuracy"] if tier["n"] else None,
        "Tier-3 precision": tier["tier3"]["precision"] if tier["n"] else None,
        "Tier-3 recall": tier["tier3"]["recall"] if tier["n"] else None,
        "category macro-F1": cat["macro_f1"] if cat["n"] else None,
        "complaint F1": comp["f1"] if comp["n"] else None,
    }


def _row(label: str, cells: Iterable[str]) -> str:
    return f"{label:<{_LABEL}}" + "".join(f"{cell:>{_CELL}}" for cell in cells)


def _kind_cell(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "—"
    if entry["tier_accuracy"] is None:  # labeled for complaint only
        return f"{_number(entry['complaint_accuracy'])}c{entry['tickets']:>4}{'':>6}"
    over_under = f"{entry['over']}/{entry['under']}"
    return f"{entry['tier_accuracy']:.3f} {entry['tickets']:>4} {over_under:>5}"


def format_side_by_side(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """Several labeled sets' figures in one table, one column per set (dev | held-out)."""
    names = list(reports)
    lines = [_row("", names), _row("tickets", (str(reports[n]["tickets"]) for n in names))]
    figures = {n: summary_figures(reports[n]) for n in names}
    for figure in figures[names[0]]:
        lines.append(_row(figure, (_number(figures[n][figure]) for n in names)))
    lines.append("category F1 (tickets)")
    for label in (c.value for c in Category):
        cells = [reports[n]["category"]["per_class"].get(label) for n in names]
        if any(cell and cell["support"] for cell in cells):
            lines.append(_row(f"  {label}", (
                f"{cell['f1']:.3f} ({cell['support']})" if cell and cell["support"] else "—"
                for cell in cells)))
    kinds = kind_order({k for n in names for k in reports[n].get("by_kind", {})})
    if kinds:
        lines.append("by kind: tier accuracy, tickets, over/under (c: complaint accuracy)")
        for kind in kinds:
            lines.append(_row(f"  {_kind_label(kind)}",
                              (_kind_cell(reports[n].get("by_kind", {}).get(kind))
                               for n in names)))
    return "\n".join(lines)
