"""Train the answer confidence model on development data: ``python -m integration.answer.training``.

Reads ``tests/fixtures/answers_dev/<product>/{kb,tickets}.jsonl`` (development data only; the
held-out sets are never read here), gathers the features of every candidate the index finds
for every ticket, and fits a logistic regression (candidate = the expected document, or not).
Each product is then predicted by a model trained on the others (leave one product out): the
threshold is the lowest confidence at which those honest predictions keep the precision of the
answers given at the target, and the reliability bins are read from them. ``--write`` ships
the model trained on every product, with that threshold, as ``weights.json``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy

from integration.answer.answerer import Answerer
from integration.answer.batch import gate_reasons
from integration.answer.confidence import FEATURES, WEIGHTS_FILE, ConfidenceModel
from integration.answer.evaluation import Expected, read_expected
from integration.answer.index import KnowledgeIndex
from integration.answer.types import KnowledgeDoc
from integration.decide import build_detector
from integration.matrix import default_matrix
from integration.models import Ticket

__all__ = ["Row", "fit", "gather", "main", "pick_threshold"]

DEV_DIR = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "answers_dev"
_MISSING = FEATURES.index("specific_missing")
_FLAT = ConfidenceModel(weights=(0.0,) * len(FEATURES), bias=0.0, mean=(0.0,) * len(FEATURES),
                        scale=(1.0,) * len(FEATURES), threshold=1.0)


@dataclass(frozen=True, kw_only=True, slots=True)
class Row:
    """One ticket read for training: its candidates' features and which one is right."""

    product: str
    id: str
    expected: Expected
    gated: bool
    docs: tuple[str, ...]
    features: numpy.ndarray  # (candidates, features)

    def labels(self) -> numpy.ndarray:
        """1 for the candidate that is the expected answer, else 0."""
        right = self.expected.answer if self.expected.answerable else None
        return numpy.array([float(d == right) for d in self.docs])


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def gather(folder: Path) -> list[Row]:
    """Every ticket of one product folder with its candidates' features."""
    docs = [KnowledgeDoc.from_dict(d) for d in _read(folder / "kb.jsonl")]
    raw = _read(folder / "tickets.jsonl")
    tickets = [Ticket.from_dict(d) for d in raw]
    matrix = default_matrix()
    reasons = gate_reasons(tickets, matrix=matrix, detector=build_detector(matrix),
                           now=datetime.now(UTC))
    answerer = Answerer(KnowledgeIndex.build(docs), _FLAT)
    rows = []
    for data, ticket, reason in zip(raw, tickets, reasons, strict=True):
        found = answerer.candidates(ticket)
        rows.append(Row(product=folder.name, id=ticket.id, expected=read_expected(data),
                        gated=reason is not None,
                        docs=tuple(docs[c.doc].id for c in found),
                        features=numpy.array([c.features for c in found], dtype="float64")))
    return rows


def fit(rows: Sequence[Row], *, l2: float = 1.0, steps: int = 60) -> ConfidenceModel:
    """A logistic regression over every candidate of the rows (Newton steps, L2 penalty)."""
    x = numpy.concatenate([r.features for r in rows])
    y = numpy.concatenate([r.labels() for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = numpy.hstack([(x - mean) / scale, numpy.ones((len(x), 1))])
    w = numpy.zeros(z.shape[1])
    penalty = numpy.eye(z.shape[1]) * l2
    penalty[-1, -1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + numpy.exp(-numpy.clip(z @ w, -30, 30)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = (z.T * (p * (1 - p))) @ z + penalty
        w -= numpy.linalg.solve(hessian, gradient)
    return ConfidenceModel(weights=tuple(w[:-1].tolist()), bias=float(w[-1]),
                           mean=tuple(mean.tolist()), scale=tuple(scale.tolist()), threshold=0.5)


def _best(row: Row, model: ConfidenceModel) -> tuple[float, bool, bool]:
    """The most confident candidate's log-odds, whether sending it is right, and whether the
    answerer would refuse it anyway (it leaves out the named case asked about)."""
    if not row.docs:
        return -30.0, False, True
    scores = [model.score(f) for f in row.features]
    n = int(numpy.argmax(scores))
    right = row.expected.should_answer and row.docs[n] == row.expected.answer
    return scores[n], right, bool(row.features[n][_MISSING] > 0)


def platt(scored: Sequence[tuple[float, bool, bool]]) -> tuple[float, float]:
    """Slope and offset mapping log-odds to the share of answers that are right."""
    x = numpy.array([s for s, _, _ in scored])
    y = numpy.array([float(ok) for _, ok, _ in scored])
    w = numpy.array([1.0, 0.0])
    for _ in range(30):
        z = numpy.clip(w[0] * x + w[1], -30, 30)
        p = 1.0 / (1.0 + numpy.exp(-z))
        design = numpy.stack([x, numpy.ones_like(x)], axis=1)
        hessian = (design.T * (p * (1 - p))) @ design + numpy.eye(2) * 1e-3
        w -= numpy.linalg.solve(hessian, design.T @ (p - y))
    return float(w[0]), float(w[1])


def _scored(rows: Sequence[Row], by: dict[str, ConfidenceModel]) -> list[tuple[float, bool, bool]]:
    return [_best(r, by[r.product]) for r in rows if not r.gated]


def _predictions(scored: Sequence[tuple[float, bool, bool]],
                 slope: float, offset: float) -> list[tuple[float, bool]]:
    """Calibrated confidence and rightness; a refused candidate is never sent (confidence 0)."""
    out = []
    for score, right, refused in scored:
        value = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, slope * score + offset))))
        out.append((0.0 if refused else value, right))
    return out


def pick_threshold(predicted: Sequence[tuple[float, bool]], *, target: float) -> float:
    """The lowest confidence at or above which the answers sent are right at ``target``."""
    ranked = sorted(predicted, key=lambda p: -p[0])
    best, right = 0.999, 0
    for n, (confidence, ok) in enumerate(ranked, start=1):
        right += ok
        if right / n >= target and ok:
            best = confidence
    return best


def reliability(predicted: Sequence[tuple[float, bool]], bins: int = 5) -> list[dict[str, float]]:
    """Mean confidence against the share right, per confidence bin."""
    out = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [p for p in predicted if low <= p[0] < high or (b == bins - 1 and p[0] == 1.0)]
        if inside:
            out.append({"from": low, "to": high, "tickets": len(inside),
                        "confidence": round(sum(p[0] for p in inside) / len(inside), 3),
                        "right": round(sum(p[1] for p in inside) / len(inside), 3)})
    return out


def _summary(predicted: Sequence[tuple[float, bool]], rows: Sequence[Row],
             threshold: float) -> dict[str, Any]:
    sent = [p for p in predicted if p[0] >= threshold]
    answerable = sum(1 for r in rows if r.expected.should_answer)
    right = sum(1 for p in sent if p[1])
    return {"answered": len(sent), "right": right,
            "precision": round(right / len(sent), 3) if sent else None,
            "answer_rate": round(right / answerable, 3) if answerable else None}


def main(argv: Sequence[str] | None = None) -> None:
    """Train, report leave-one-product-out figures, and with --write ship the weights."""
    parser = argparse.ArgumentParser(prog="python -m integration.answer.training")
    parser.add_argument("--data", type=Path, default=DEV_DIR)
    parser.add_argument("--target", type=float, default=0.95,
                        help="precision the threshold keeps on held-out products")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--write", action="store_true", help="write weights.json")
    args = parser.parse_args(argv)
    rows = [row for folder in sorted(p for p in args.data.iterdir() if p.is_dir())
            for row in gather(folder)]
    products = sorted({r.product for r in rows})
    honest = {p: fit([r for r in rows if r.product != p] or rows, l2=args.l2) for p in products}
    slope, offset = platt(_scored(rows, honest))
    predicted = _predictions(_scored(rows, honest), slope, offset)
    threshold = pick_threshold(predicted, target=args.target)
    report: dict[str, Any] = {"threshold": round(threshold, 3), "slope": round(slope, 3),
                              "offset": round(offset, 3), "products": {}}
    for product in products:
        mine = [r for r in rows if r.product == product]
        report["products"][product] = _summary(
            _predictions(_scored(mine, honest), slope, offset), mine, threshold)
    # Reliability of the confidence itself: the candidates refused for an unnamed case are
    # left out (their confidence is not what silenced them).
    report["reliability"] = reliability(
        [p for p, s in zip(predicted, _scored(rows, honest), strict=True) if not s[2]])
    model = fit(rows, l2=args.l2)
    report["weights"] = dict(zip(FEATURES, (round(w, 3) for w in model.weights), strict=True))
    print(json.dumps(report, indent=1))
    if args.write:
        shipped = ConfidenceModel(weights=model.weights, bias=model.bias, mean=model.mean,
                                  scale=model.scale, threshold=round(threshold, 3),
                                  slope=slope, offset=offset,
                                  calibration=tuple(report["reliability"]))
        WEIGHTS_FILE.write_text(json.dumps(shipped.to_dict(), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
