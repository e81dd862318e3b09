"""Train the post model (``integration/detect/model/posts.npz``) and measure it.

    .venv/bin/python -m integration.detect.training.posts            # a few seconds

Every labeled development post (``tests/fixtures/eval/complaint_*``, never the held-out set) is
read by the detector as at run time without the post model, keeping what the model reads (the
post's embedding, its tone, its category). A logistic regression (L2, numpy,
deterministic) on those inputs, labeled complaint or not, is fitted on all of them. Before
that, each development set of posts is left out in turn and scored by a model fitted on the
others, beside the detection without the model; the figures go into ``posts.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from integration.detect import Detector
from integration.detect.embedding import default_embedding_model
from integration.detect.posts import POSTS_FILE, post_features
from integration.detect.training.embed import fit_softmax
from integration.detect.training.evaluation import prf
from integration.detect.training.report import DATA, GROUPS, read_labeled
from integration.detect.training.tiers import _Capture, _set_of
from integration.errors import ConfigurationError
from integration.matrix import default_matrix
from integration.models import Category, Channel

__all__ = ["Example", "examples", "leave_one_set_out", "main", "train"]

L2 = 0.1
AT = 0.5


@dataclass(frozen=True, slots=True)
class Example:
    """One labeled post: its features, whether it complains, its set, and the tone without
    the model (negative means a complaint)."""

    x: numpy.ndarray
    complaint: bool
    group: str
    sentiment: float


def development_post_files() -> list[Path]:
    """The labeled development posts (never the held-out set)."""
    return [DATA / name for group in GROUPS if group.posts for name in group.dev]


def examples(paths: Sequence[Path]) -> list[Example]:
    """Every post of ``paths`` read as at run time, as an example.

    The detector runs without a post model (the tone it hands the model is the tone without
    it); the tier model's stand-in keeps the embedding of the post, the one the post model
    reads for a post of one message.
    """
    matrix = default_matrix()
    capture = _Capture()
    detector = Detector(triggers=matrix.triggers, pages=matrix.pages,
                        repeat_window_days=matrix.repeat_window_days, tier_model=capture,
                        post_reader=False)
    dim = default_embedding_model().embedder.dim
    out = []
    for path in paths:
        labeled, errors = read_labeled(path.read_text(encoding="utf-8").splitlines(),
                                       source=str(path))
        if errors:
            raise ConfigurationError(str(errors[0]))
        group = _set_of(path)
        for ticket, expected in zip(labeled.tickets, labeled.expected, strict=True):
            if expected.complaint is None or ticket.channel is not Channel.SOCIAL:
                continue
            capture.vector = None
            signals = detector.read(ticket).signals
            out.append(Example(
                x=post_features(capture.vector, signals.sentiment, signals.category, dim=dim),
                complaint=expected.complaint, group=group, sentiment=signals.sentiment))
    return out


def train(rows: Sequence[Example], *, l2: float = L2) -> tuple[numpy.ndarray, float]:
    """Weights and bias of the complaint logit, fitted on ``rows``."""
    x = numpy.vstack([r.x for r in rows])
    y = numpy.array([int(r.complaint) for r in rows])
    weights, bias = fit_softmax(x, y, 2, l2=l2)
    # Two classes: the difference of their logits is the one logit of a logistic model.
    return weights[:, 1] - weights[:, 0], float(bias[1] - bias[0])


def _f1(pairs: Sequence[tuple[bool, bool]]) -> dict[str, float]:
    """Precision, recall and F1 of (expected, decided) complaint pairs."""
    return prf(sum(1 for y, p in pairs if y and p), sum(1 for y, p in pairs if p and not y),
               sum(1 for y, p in pairs if y and not p))


def leave_one_set_out(rows: Sequence[Example], *, l2: float = L2,
                      at: float = AT) -> dict[str, Any]:
    """Complaint figures without the model and with it, each set scored by a model fitted
    without it."""
    decided = [False] * len(rows)
    for group in sorted({r.group for r in rows}):
        inside = [i for i, r in enumerate(rows) if r.group == group]
        weights, bias = train([r for r in rows if r.group != group], l2=l2)
        for i in inside:
            z = float(rows[i].x @ weights) + bias
            decided[i] = 1.0 / (1.0 + numpy.exp(-z)) >= at

    def scored(keep: Sequence[int]) -> dict[str, Any]:
        return {"posts": len(keep),
                "without": _f1([(rows[i].complaint, rows[i].sentiment < 0) for i in keep]),
                "with_model": _f1([(rows[i].complaint, decided[i]) for i in keep])}

    groups = sorted({r.group for r in rows})
    return {"all": scored(range(len(rows))),
            "by_set": {g: scored([i for i, r in enumerate(rows) if r.group == g])
                       for g in groups}}


def main(argv: Sequence[str] | None = None) -> int:
    """Build the examples, measure leave-one-set-out, fit on all and write the model."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=POSTS_FILE)
    parser.add_argument("--l2", type=float, default=L2)
    args = parser.parse_args(argv)
    paths = development_post_files()
    rows = examples(paths)
    report = leave_one_set_out(rows, l2=args.l2)
    weights, bias = train(rows, l2=args.l2)
    dim = len(rows[0].x) - 2 - len(Category)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("wb") as handle:
        numpy.savez(handle, weights=weights, bias=numpy.array(bias), dim=numpy.array(dim),
                    at=numpy.array(AT))
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    meta = {"l2": args.l2, "at": AT, "examples": len(rows), "sets": [p.name for p in paths],
            "data_sha256": digest.hexdigest(), "leave_one_set_out": report}
    args.out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n",
                                             encoding="utf-8")
    json.dump(report["all"], sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
