"""Train the learned tier model (``integration/detect/model/tiers.npz``) and measure it.

    .venv/bin/python -m integration.detect.training.tiers            # about 15 s on 2 cores

Every labeled development ticket (``tests/fixtures/eval``, never the held-out set) is decided
by the default matrix with the learned tier turned off; its features (``tiers.features``) and
the rules' tier are the input, the expected tier the label. A multinomial logistic regression
(L2, numpy, deterministic) is fitted on all of them and written with the trigger vocabulary it
read. Before that, each development set is left out in turn, the model fitted on the others
and the matrix's threshold applied to the left-out set: those figures, and the rules' alone on
the same tickets, go into ``tiers.json`` beside the weights. They measure how the model
carries to a set written by someone else about other businesses; they still flatter it a
little, since the category model the rules use learned from these tickets too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy

from integration.decide import decide
from integration.detect import Detector
from integration.detect.embedding import default_embedding_model
from integration.detect.tiers import TIERS_FILE, TierModel, features, head_size
from integration.detect.training.embed import fit_softmax
from integration.detect.training.evaluation import tier_figures
from integration.detect.training.report import read_labeled
from integration.detect.training.tickets import development_ticket_files
from integration.errors import ConfigurationError
from integration.matrix import Matrix, default_matrix
from integration.matrix.schema import LearnedTier
from integration.models import Category, Signals, Ticket, TierReading
from integration.triage import HistoryIndex

__all__ = ["Example", "examples", "known_rules", "leave_one_set_out", "main", "train"]

L2 = 0.03
# Decisions are compared with labels only; the SLA clock's "now" changes nothing here.
NOW = datetime(2026, 12, 7, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Example:
    """One labeled ticket: its features, the rules' tier, the expected tier and its set."""

    x: numpy.ndarray
    rules_tier: int
    expected: int
    group: str
    b2b: bool
    # Whether the model is asked at run time (an English text, no page rule, no answer
    # declined); the others keep the rules' tier and are not trained on.
    applies: bool = True
    # Whether a trigger was read as live (changing a tier 3 then needs more).
    triggered: bool = False


class _Capture(TierModel):
    """Stands in for the tier model while training it: keeps the embedding it was given."""

    def __init__(self) -> None:  # noqa: D107 - nothing to load
        self.vector: numpy.ndarray | None = None

    def read(self, ticket: Ticket, signals: Signals, vector: numpy.ndarray | None) -> TierReading:
        """Keep ``vector``; the reading itself is not used."""
        self.vector = vector
        return TierReading(given=((1 / 3, 1 / 3, 1 / 3),) * 3)


def known_rules(matrix: Matrix) -> set[str]:
    """The ids a decision by ``matrix`` can cite from its rules and bumps (and the default)."""
    ids = {rule.id for rules in matrix.rules.values() for rule in rules}
    return ids | {bump.id for bump in matrix.bumps} | {"default_tier"}


def _set_of(path: Path) -> str:
    found = re.search(r"_([a-z])\.jsonl$", path.name)
    return found.group(1) if found else "a"


def examples(paths: Sequence[Path], matrix: Matrix) -> tuple[list[Example], tuple[str, ...]]:
    """Every ticket of ``paths`` decided by ``matrix`` without the model, as an example."""
    rules_only = replace(matrix, learned_tier=None)
    # The same detector as at run time, its tier model replaced by one that keeps the
    # embedding it is given (the model is what is being trained).
    capture = _Capture()
    detector = Detector(triggers=matrix.triggers, pages=matrix.pages,
                        repeat_window_days=matrix.repeat_window_days, tier_model=capture)
    triggers = tuple(sorted(detector.trigger_ids))
    dim = default_embedding_model().embedder.dim
    out: list[Example] = []
    for path in paths:
        labeled, errors = read_labeled(path.read_text(encoding="utf-8").splitlines(),
                                       source=str(path))
        if errors:
            raise ConfigurationError(str(errors[0]))
        history = HistoryIndex()
        order = sorted(range(len(labeled.tickets)), key=lambda i: labeled.tickets[i].created_at)
        for i in order:
            ticket = labeled.tickets[i]
            capture.vector = None
            reading = detector.read(ticket)
            decided = decide(ticket, history.related(ticket), matrix=rules_only,
                             detector=detector, now=NOW, with_actions=False, reading=reading)
            history.add(ticket)
            vector = capture.vector
            expected = labeled.expected[i].tier
            if expected is None:
                continue
            signals = decided.signals
            out.append(Example(
                x=features(decided.ticket, signals, vector, triggers=triggers, dim=dim),
                rules_tier=int(decided.decision.tier), expected=int(expected),
                group=_set_of(path), b2b=path.name.startswith("b2b"),
                applies=vector is not None and signals.page_rule is None
                and not signals.answer_declined, triggered=bool(signals.triggers)))
    return out, triggers


def _design(rows: Sequence[Example]) -> numpy.ndarray:
    """Features, the rules' tier, and the rules' tier within each category (category-major)."""
    onehot = numpy.zeros((len(rows), 3))
    onehot[numpy.arange(len(rows)), [r.rules_tier - 1 for r in rows]] = 1.0
    x = numpy.vstack([r.x for r in rows])
    pairs = numpy.einsum("ni,nj->nij", x[:, :len(Category)], onehot).reshape(len(rows), -1)
    return numpy.hstack([x, onehot, pairs])


def train(rows: Sequence[Example], *, l2: float = L2) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Weights (features, the rules' tier and the rules' tier per category; 3 columns) and
    bias, fitted on the ``rows`` the model applies to."""
    used = [r for r in rows if r.applies]
    return fit_softmax(_design(used), numpy.array([r.expected - 1 for r in used]), 3, l2=l2)


def _decided(rows: Sequence[Example], weights: numpy.ndarray, bias: numpy.ndarray,
             learned: LearnedTier) -> list[int]:
    logits = _design(rows) @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    probs = numpy.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    out = []
    for row, p in zip(rows, probs, strict=True):
        best = int(p.argmax())
        needed = learned.needed(row.rules_tier, triggered=row.triggered)
        out.append(best + 1 if p[best] >= needed and row.applies else row.rules_tier)
    return out


def leave_one_set_out(rows: Sequence[Example], *, learned: LearnedTier,
                      l2: float = L2) -> dict[str, Any]:
    """Rules alone and rules with the model, each set scored by a model fitted without it."""
    groups = sorted({r.group for r in rows})
    model_tiers: list[int] = [0] * len(rows)
    for group in groups:
        inside = [i for i, r in enumerate(rows) if r.group == group]
        weights, bias = train([r for r in rows if r.group != group], l2=l2)
        for i, tier in zip(inside, _decided([rows[i] for i in inside], weights, bias, learned),
                           strict=True):
            model_tiers[i] = tier

    def scored(keep: Callable[[Example], bool]) -> dict[str, Any]:
        idx = [i for i, r in enumerate(rows) if keep(r)]
        return {"rules": tier_figures([(rows[i].expected, rows[i].rules_tier) for i in idx]),
                "with_model": tier_figures([(rows[i].expected, model_tiers[i]) for i in idx])}

    def in_set(group: str) -> Callable[[Example], bool]:
        return lambda r: r.group == group

    return {"all": scored(lambda r: True), "b2b": scored(lambda r: r.b2b),
            "other industries": scored(lambda r: not r.b2b),
            "by_set": {g: scored(in_set(g)) for g in groups}}


def main(argv: Sequence[str] | None = None) -> int:
    """Build the examples, measure leave-one-set-out, fit on all and write the model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=TIERS_FILE)
    parser.add_argument("--l2", type=float, default=L2)
    args = parser.parse_args(argv)
    matrix = default_matrix()
    learned = matrix.learned_tier or LearnedTier()
    paths = development_ticket_files()
    rows, triggers = examples(paths, matrix)
    report = leave_one_set_out(rows, learned=learned, l2=args.l2)
    weights, bias = train(rows, l2=args.l2)
    dim = len(rows[0].x) - head_size(triggers)
    head, pairs = len(rows[0].x), 3 * len(Category)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("wb") as handle:
        numpy.savez(handle, weights=weights[:head], by_rules_tier=weights[head:head + 3],
                    by_category_and_rules_tier=weights[head + 3:head + 3 + pairs], bias=bias,
                    triggers=numpy.array(triggers), dim=numpy.array(dim),
                    rules=numpy.array(sorted(known_rules(matrix))))
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    meta = {"l2": args.l2, "examples": len(rows),
            "thresholds": {"change": learned.at, "out_of_3": learned.out_of_3_at,
                           "against_a_trigger": learned.against_a_trigger_at},
            "sets": [p.name for p in paths], "data_sha256": digest.hexdigest(),
            "leave_one_set_out": report}
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n",
                                             encoding="utf-8")
    json.dump({k: report[k] for k in ("all", "b2b", "other industries")}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
