"""Train the learned reader (hit kinds and keyword-less intents) and write ``model/reader.npz``.

    python -m integration.detect.training.reader [--data FILE] [--out FILE] [--regenerate]

Reads ``data/reader_examples.jsonl`` (written by ``training.reader_data``; ``--regenerate``
writes it first), finds every trigger match in each example with the default matrix's
triggers, and fits two multinomial logistic regressions on hashed features in plain numpy:
one over match kinds, one over sentence intents. Ordinary sentences from our own training
examples and a Bitext sample are added as "no intent". The
thresholds are chosen on the examples whose templates training never saw (``split: valid``):
keep at least 97% of live matches, and find intents with at least 95% precision. Prints one
JSON object with the validation figures. The same data gives the same weights.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from integration.detect.embedding import default_embedding_model
from integration.detect.reader import (
    BUCKETS,
    INTENT_TRIGGERS,
    KIND_WORDS,
    READER_FILE,
    hit_features,
    hit_text,
    later_words,
    match_key,
    sentence_features,
)
from integration.detect.text import Parsed, clean_body, reader
from integration.detect.training.measure import default_path
from integration.detect.training.reader_data import DATA_PATH, generate
from integration.detect.triggers import TriggerMatcher
from integration.matrix import default_matrix

__all__ = ["FAMILIES", "Sparse", "fit_softmax", "main", "train"]

# The matrix triggers an example's trigger word can fire.
FAMILIES: dict[str, frozenset[str]] = {
    "refund": frozenset({"refund"}),
    "churn": frozenset({"churn"}),
    "legal": frozenset({"legal"}),
    "chargeback": frozenset({"legal", "refund"}),
    "dispute": frozenset({"contract_dispute"}),
    "outage": frozenset({"outage"}),
    "security": frozenset({"security"}),
    "compliance": frozenset({"compliance", "legal"}),
}
KINDS = tuple(KIND_WORDS)
INTENTS = ("none", *INTENT_TRIGGERS)
_OWN_EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "train_examples.jsonl"
# Our own calm examples of these categories state none of the intents.
_CALM_CATEGORIES = frozenset({"how_to", "feature_request", "billing", "onboarding", "other"})
_BITEXT_SKIP = frozenset({"delete_account", "complaint"})
_BITEXT_ROWS = 1500
_LIVE_RECALL = 0.97
# Templates share most of their words: a stronger penalty keeps the hit reader from leaning on
# any single one of them.
_HIT_L2 = 1e-3
_KNOWN_PHRASE = 5
# The sentence vectors are few, shared by every example and carry meaning, not one template's
# words: a lighter penalty lets them weigh.
_DENSE_L2 = 1e-5
_INTENT_PRECISION = 0.95


@dataclass(frozen=True, kw_only=True, slots=True)
class Sparse:
    """Hashed count features in compressed rows: ``indptr``, bucket ``cols``, ``vals``."""

    indptr: numpy.ndarray
    cols: numpy.ndarray
    vals: numpy.ndarray

    @property
    def rows(self) -> int:
        """How many rows."""
        return len(self.indptr) - 1

    def take(self, picked: Sequence[int]) -> Sparse:
        """The rows ``picked``, in that order."""
        parts = [(self.indptr[n], self.indptr[n + 1]) for n in picked]
        cols = [self.cols[a:b] for a, b in parts]
        vals = [self.vals[a:b] for a, b in parts]
        indptr = numpy.concatenate([[0], numpy.cumsum([b - a for a, b in parts])])
        return Sparse(
            indptr=indptr.astype("int64"),
            cols=numpy.concatenate(cols),
            vals=numpy.concatenate(vals),
        )

    def dot(self, w: numpy.ndarray) -> numpy.ndarray:
        """``X @ w`` for a (buckets, k) weight matrix."""
        out = numpy.zeros((self.rows, w.shape[1]))
        products = w[self.cols] * self.vals[:, None]
        lengths = numpy.diff(self.indptr)
        nonempty = lengths > 0
        if not nonempty.any():
            return out
        sums = numpy.add.reduceat(products, self.indptr[:-1][nonempty], axis=0)
        out[nonempty] = sums
        return out


def _hashed(rows: Sequence[Sequence[str]]) -> Sparse:
    cols: list[int] = []
    vals: list[float] = []
    indptr = [0]
    for names in rows:
        counts = Counter(zlib.crc32(n.encode("utf-8")) & (BUCKETS - 1) for n in names)
        cols.extend(counts)
        vals.extend(float(c) for c in counts.values())
        indptr.append(len(cols))
    return Sparse(
        indptr=numpy.array(indptr, dtype="int64"),
        cols=numpy.array(cols, dtype="int64"),
        vals=numpy.array(vals),
    )


def fit_softmax(
    x: Sparse,
    y: Sequence[int],
    classes: int,
    *,
    l2: float = 1e-4,
    epochs: int = 300,
    rate: float = 0.05,
    dense: numpy.ndarray | None = None,
) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Multinomial logistic regression by full-batch Adam: (W over buckets, bias, W over the
    ``dense`` columns, empty without them).

    Deterministic: weights start at zero and every step sees the whole set.
    """
    n = x.rows
    target = numpy.zeros((n, classes))
    target[numpy.arange(n), list(y)] = 1.0
    extra = numpy.zeros((n, 0)) if dense is None else dense
    params = [
        numpy.zeros((BUCKETS, classes)),
        numpy.zeros((1, classes)),
        numpy.zeros((extra.shape[1], classes)),
    ]
    moments = [(numpy.zeros_like(p), numpy.zeros_like(p)) for p in params]
    # The gradient of W sums each bucket's rows: sort the entries by bucket once.
    order = numpy.argsort(x.cols, kind="stable")
    row_of = numpy.repeat(numpy.arange(n), numpy.diff(x.indptr))[order]
    cols_sorted, vals_sorted = x.cols[order], x.vals[order]
    unique, starts = numpy.unique(cols_sorted, return_index=True)
    for step in range(1, epochs + 1):
        logits = x.dot(params[0]) + params[1] + extra @ params[2]
        logits -= logits.max(axis=1, keepdims=True)
        p = numpy.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        err = (p - target) / n
        g_sparse = numpy.zeros_like(params[0])
        if len(unique):
            g_sparse[unique] = numpy.add.reduceat(
                err[row_of] * vals_sorted[:, None], starts, axis=0
            )
        grads = [
            g_sparse + l2 * params[0],
            err.sum(axis=0, keepdims=True),
            extra.T @ err + _DENSE_L2 * params[2],
        ]
        for param, grad, (m, v) in zip(params, grads, moments, strict=True):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= rate * (m / (1 - 0.9**step)) / (numpy.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return params[0], params[1][0], params[2]


def hit_rows(
    rows: Sequence[dict[str, Any]],
) -> tuple[list[list[str]], list[str], list[str], Counter[str], list[str]]:
    """Features, kind and split of every matched trigger in the hit examples, how often
    each matched phrase (its lemmas) occurs, and the texts the reader embeds for each."""
    text_reader = reader()
    matcher = TriggerMatcher(text_reader, default_matrix().triggers)
    texts: list[str] = []
    features: list[list[str]] = []
    labels: list[str] = []
    splits: list[str] = []
    phrases: Counter[str] = Counter()
    for row in (r for r in rows if r["kind"] == "hit"):
        docs = text_reader.read_all([clean_body(m) for m in row["messages"]])
        for n, doc in enumerate(docs):
            later = later_words(docs[n + 1 :])
            for start, end, key, _ in matcher.candidates(doc):
                if key not in FAMILIES[row["trigger"]]:
                    continue
                # In a report taken back later, the first message's match is the retracted one.
                features.append(hit_features(doc, start, end, key, later=later))
                texts.append(hit_text(doc, start))
                phrases[match_key(doc, start, end)] += 1
                labels.append(row["label"])
                splits.append(row["split"])
    return features, labels, splits, phrases, texts


def _meanings(texts: Sequence[str]) -> numpy.ndarray:
    """The dense columns of the hit reader: each match's sentence as a unit vector."""
    vectors: numpy.ndarray = default_embedding_model().embedder.encode(texts)
    return vectors.astype("float64")


def _calm_sentences() -> list[str]:
    out = []
    for line in _OWN_EXAMPLES.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["category"] in _CALM_CATEGORIES and not row["complaint"]:
            out.append(clean_body(row["text"]))
    with default_path().open(encoding="utf-8", newline="") as fh:
        bitext = [r["instruction"] for r in csv.DictReader(fh) if r["intent"] not in _BITEXT_SKIP]
    return out + random.Random(5).sample(bitext, min(_BITEXT_ROWS, len(bitext)))


def intent_rows(
    rows: Sequence[dict[str, Any]],
) -> tuple[list[list[str]], list[str], list[str], list[str]]:
    """Features, sentence text, intent and split of every intent sentence."""
    text_reader = reader()
    items = [(r["sentence"], r["label"], r["split"]) for r in rows if r["kind"] == "intent"]
    for text in _calm_sentences():
        split = "valid" if zlib.crc32(text.encode()) % 7 == 0 else "train"
        items.append((text, "none", split))
    # Mentioned trigger words state no intent either ("if we ever wanted to cancel").
    items += [
        (" ".join(r["messages"]), "none", r["split"])
        for r in rows
        if r["kind"] == "hit" and r["label"] != "live"
    ]
    features, texts, labels, splits = [], [], [], []
    docs = text_reader.read_all([text for text, _, _ in items])
    for doc, (_, label, split) in zip(docs, items, strict=True):
        for lo, hi in _sentences(doc, label):
            features.append(sentence_features(doc.lemmas[lo:hi]))
            texts.append(doc.span_text(lo, hi).strip())
            labels.append(label)
            splits.append(split)
    return features, texts, labels, splits


def _sentences(doc: Parsed, label: str) -> list[tuple[int, int]]:
    # An intent example is one sentence (read whole); a "none" text gives all its sentences.
    if label != "none":
        return [(0, len(doc))]
    return [(lo, hi) for lo, hi in doc.sents if hi - lo >= 4]


def _live_threshold(probs: numpy.ndarray, labels: Sequence[str]) -> tuple[float, dict[str, Any]]:
    live = numpy.array([label == "live" for label in labels])
    best = 0.05
    for t in numpy.arange(0.05, 0.55, 0.05):
        if (probs[live] >= t).mean() >= _LIVE_RECALL:
            best = float(t)
    kept = probs >= best
    report = {
        "live_recall": round(float(kept[live].mean()), 4),
        "mentioned_recall": round(float((~kept[~live]).mean()), 4),
        "live_at": round(best, 2),
    }
    return best, report


def _intent_threshold(
    probs: numpy.ndarray, labels: Sequence[str], *, precision: float = _INTENT_PRECISION
) -> tuple[float, dict[str, Any]]:
    gold = numpy.array([INTENTS.index(label) for label in labels])
    best_class = probs[:, 1:].argmax(axis=1) + 1
    best_p = probs[numpy.arange(len(gold)), best_class]
    chosen = 0.95
    for t in numpy.arange(0.95, 0.45, -0.05):
        found = best_p >= t
        if found.sum() and (best_class[found] == gold[found]).mean() >= precision:
            chosen = float(t)
    found = best_p >= chosen
    positives = gold != 0
    right = best_class[found] == gold[found]
    report = {
        "intent_precision": round(float(right.mean()), 4) if found.any() else None,
        "intent_recall": round(float((found & (best_class == gold))[positives].mean()), 4),
        "intent_at": round(chosen, 2),
    }
    return chosen, report


def train(rows: Sequence[dict[str, Any]], out: Path) -> dict[str, Any]:
    """Fit both models on ``rows``, write them to ``out`` and return the validation figures."""
    features, labels, splits, phrases, texts = hit_rows(rows)
    x = _hashed(features)
    dense = _meanings(texts)
    train_at = [n for n, s in enumerate(splits) if s == "train"]
    valid_at = [n for n, s in enumerate(splits) if s == "valid"]
    hit_w, hit_b, hit_e = fit_softmax(
        x.take(train_at), [KINDS.index(labels[n]) for n in train_at], len(KINDS), l2=_HIT_L2,
        dense=dense[train_at],
    )
    valid_probs = _probs(x.take(valid_at).dot(hit_w) + hit_b + dense[valid_at] @ hit_e)
    live_at, hit_report = _live_threshold(valid_probs[:, 0], [labels[n] for n in valid_at])
    hit_report["kind_accuracy"] = round(
        float(
            numpy.mean(
                [
                    KINDS[k] == labels[n]
                    for k, n in zip(valid_probs.argmax(axis=1), valid_at, strict=True)
                ]
            )
        ),
        4,
    )

    i_features, i_texts, i_labels, i_splits = intent_rows(rows)
    xi = _hashed(i_features)
    i_train = [n for n, s in enumerate(i_splits) if s == "train"]
    # A sentence the templates happen to repeat counts once when the threshold is chosen.
    i_valid = list({i_texts[n].lower(): n for n, s in enumerate(i_splits) if s == "valid"}.values())
    intent_w, intent_b, _ = fit_softmax(
        xi.take(i_train),
        [INTENTS.index(i_labels[n]) for n in i_train],
        len(INTENTS),
    )
    i_probs = _probs(xi.take(i_valid).dot(intent_w) + intent_b)
    intent_at, intent_report = _intent_threshold(i_probs, [i_labels[n] for n in i_valid])

    triggers = sorted(set().union(*FAMILIES.values()))
    numpy.savez_compressed(
        out,
        kinds=numpy.array(KINDS),
        intents=numpy.array(INTENTS),
        hit_w=hit_w.astype("float16"),
        hit_b=hit_b.astype("float32"),
        hit_e=hit_e.astype("float32"),
        intent_w=intent_w.astype("float16"),
        intent_b=intent_b.astype("float32"),
        triggers=numpy.array(triggers),
        # The reader judges only trigger phrases it has seen often enough in training.
        phrases=numpy.array(sorted(p for p, n in phrases.items() if n >= _KNOWN_PHRASE)),
        live_at=numpy.array([live_at], dtype="float32"),
        intent_at=numpy.array([intent_at], dtype="float32"),
    )
    return {
        "hits": {"train": len(train_at), "valid": len(valid_at), **hit_report},
        "intents": {"train": len(i_train), "valid": len(i_valid), **intent_report},
        "out": str(out),
    }


def _probs(logits: numpy.ndarray) -> numpy.ndarray:
    logits = numpy.asarray(logits)
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = numpy.exp(logits)
    out: numpy.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return out


def main(argv: list[str] | None = None) -> None:
    """Train from the data file (regenerated first with ``--regenerate``) and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA_PATH)
    parser.add_argument("--out", type=Path, default=READER_FILE)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    if args.regenerate or not args.data.exists():
        rows = generate()
        args.data.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()]
    print(json.dumps(train(rows, args.out)))


if __name__ == "__main__":
    main()
