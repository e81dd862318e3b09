"""Scoring a grouping against known duplicate pairs (``escalade bugs eval``).

Pairwise precision and recall of "same group". Gold pairs are closed transitively (A=B and
B=C make A=C one problem); predicted pairs are all pairs within each predicted group; both
are restricted to ids present in the reports. Pairs are counted, never listed, so a large
group costs nothing extra.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integration.bugs.grouping import BugGrouper, GroupingSettings
from integration.errors import ValidationError
from integration.models import Ticket

__all__ = [
    "PairScore",
    "closure",
    "group_tickets",
    "parse_pairs",
    "score_groups",
    "summary_line",
]

_HEADER = re.compile(r"^[A-Za-z _]*\b[Ii][Dd]\b[A-Za-z _]*$|^[A-Za-z ]*_[Ii][Dd]$|^id_[ab12]$")


@dataclass(frozen=True, kw_only=True, slots=True)
class PairScore:
    """Pairwise figures of a grouping against gold duplicate pairs."""

    precision: float
    recall: float
    f1: float
    reports: int
    groups: int
    gold_pairs: int
    predicted_pairs: int
    true_pairs: int
    # Precision over predicted pairs whose two reports both appear in some gold pair: the
    # plain figure counts every unlabeled duplicate in the data as a false positive.
    labeled_precision: float
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The figures as printed by ``escalade bugs eval``."""
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "labeled_precision": round(self.labeled_precision, 4),
            "reports": self.reports,
            "groups": self.groups,
            "gold_pairs": self.gold_pairs,
            "predicted_pairs": self.predicted_pairs,
            "true_pairs": self.true_pairs,
            "seconds": round(self.seconds, 3),
        }


def parse_pairs(lines: Iterable[str], *, source: str) -> list[tuple[str, str]]:
    """``id_a,id_b`` per line (a header line is skipped); raises naming file and line."""
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        cells = [c.strip().strip('"') for c in text.split(",")]
        if len(cells) != 2 or not all(cells):
            raise ValidationError(f"{source}:{number}", f"expected id_a,id_b, got {text!r}")
        if not pairs and all(_HEADER.match(c) for c in cells):
            continue  # a header such as "id_a,id_b" or "Issue id,Duplicate id"
        pairs.append((cells[0], cells[1]))
    return pairs


def closure(pairs: Iterable[tuple[str, str]], ids: Iterable[str]) -> dict[str, str]:
    """Union-find over gold pairs within ``ids``: each linked id mapped to its cluster root."""
    present = set(ids)
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in pairs:
        if a == b or a not in present or b not in present:
            continue
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


def _pairs_in(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def score_groups(
    groups: Mapping[str, str], pairs: Iterable[tuple[str, str]], *, seconds: float = 0.0
) -> PairScore:
    """Score ``groups`` (report id -> group id) against gold ``pairs``, closed transitively."""
    gold = closure(pairs, groups)
    clusters: dict[str, list[str]] = {}
    for rid, root in gold.items():
        clusters.setdefault(root, []).append(rid)
    gold_count = _pairs_in(len(c) for c in clusters.values())
    group_sizes: dict[str, int] = {}
    labeled_sizes: dict[str, int] = {}
    for rid, gid in groups.items():
        group_sizes[gid] = group_sizes.get(gid, 0) + 1
        if rid in gold:
            labeled_sizes[gid] = labeled_sizes.get(gid, 0) + 1
    predicted = _pairs_in(group_sizes.values())
    labeled = _pairs_in(labeled_sizes.values())
    # A true pair is gold and same-group: count, per gold cluster, pairs within each group.
    true = 0
    for members in clusters.values():
        by_group: dict[str, int] = {}
        for rid in members:
            by_group[groups[rid]] = by_group.get(groups[rid], 0) + 1
        true += _pairs_in(by_group.values())
    precision = true / predicted if predicted else 0.0
    recall = true / gold_count if gold_count else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScore(
        precision=precision,
        recall=recall,
        f1=f1,
        reports=len(groups),
        groups=len(group_sizes),
        gold_pairs=gold_count,
        predicted_pairs=predicted,
        true_pairs=true,
        labeled_precision=true / labeled if labeled else 0.0,
        seconds=seconds,
    )


def group_tickets(
    tickets: Sequence[Ticket], settings: GroupingSettings | None = None
) -> tuple[dict[str, str], float]:
    """Feed tickets to a fresh grouper in ``created_at`` order: (id -> group id, seconds)."""
    seen: dict[str, int] = {}
    for n, ticket in enumerate(tickets, start=1):
        if ticket.id in seen:
            raise ValidationError("id", f"report id {ticket.id!r} appears twice "
                                        f"(reports {seen[ticket.id]} and {n})")
        seen[ticket.id] = n
    grouper = BugGrouper(settings)
    out: dict[str, str] = {}
    start = time.perf_counter()
    # Stable: reports created in the same minute keep their file order.
    for ticket in sorted(tickets, key=lambda t: t.created_at):
        out[ticket.id] = grouper.add(ticket).group_id
    return out, time.perf_counter() - start


def summary_line(score: PairScore) -> str:
    """The one-line human summary printed last."""
    return (
        f"{score.reports} reports in {score.groups} groups: precision {score.precision:.1%}, "
        f"recall {score.recall:.1%} ({score.true_pairs} of {score.gold_pairs} known duplicate "
        f"pairs grouped, {score.predicted_pairs} predicted pairs) in {score.seconds:.1f}s"
    )
