"""Generalization checks beyond cross-validation: train on some groups, test on the others.

Cross-validation over one author's examples is optimistic (data/README.md), so
``python -m integration.detect.training.train --generalize`` also trains on part of the data
and tests on a part that differs in kind, with the blend that cross-validation chose (nothing
here is tuned):

- ``other_domains``: train on the B2B SaaS examples (+ Bitext), test on banking, e-commerce,
  telecom, travel, social and other;
- ``styles/<group>``: leave one group of writing styles out (+ Bitext in training);
- ``bitext``: train on our examples only, test on every Bitext row (consumer e-commerce, its
  intents mapped to our categories).

The held-out eval sets are never read.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy
from spacy.tokens import Doc

from integration.detect.classifier import (
    Blend,
    blend_category,
    complaint_score,
    mix_probs,
    rule_distribution,
)
from integration.detect.embedding import StaticEmbedder
from integration.detect.training.embed import EmbeddingData, fit_heads
from integration.detect.training.measure import macro_f1
from integration.detect.training.textcat import (
    Example_,
    Settings,
    bitext_sample,
    masked_tokens,
    rule_view,
    tokens,
    train_pipeline,
)
from integration.models import Category

__all__ = ["STYLE_GROUPS", "generalization", "score_split"]

STYLE_GROUPS = {
    "short_and_social": ("terse", "chat", "tweet"),
    "noisy": ("typos", "non_native", "angry"),
    "email": ("formal", "signature", "quoted_thread"),
    "long_and_technical": ("rambling", "stack_trace"),
}
_ALL_BITEXT = 100_000


def _f1(gold: Sequence[bool], pred: Sequence[bool]) -> float:
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    wrong = sum(g != p for g, p in zip(gold, pred, strict=True))
    return round(2 * tp / (2 * tp + wrong), 3) if tp or wrong else 0.0


def score_split(
    train: Sequence[Example_],
    test: Sequence[Example_],
    settings: Settings,
    blends: dict[str, Blend],
    embed: Callable[[Sequence[Example_], bool], numpy.ndarray] | None,
) -> dict[str, Any]:
    """Train the bag of words (and heads) on ``train``; category macro-F1 and complaint F1 on
    ``test`` for the rules, each model alone, and each named blend."""
    bow, bow_c = _bag_of_words(train, test, settings)
    emb, emb_c = _embedding_heads(train, test, settings, embed) if embed is not None else ([], [])
    rules = [rule_view(e.text) for e in test]
    gold = [e.category.value for e in test]
    gold_c = [e.complaint for e in test]

    def category_f1(probs: Sequence[dict[Category, float]], weight: float) -> float:
        pred = []
        for view, p in zip(rules, probs, strict=True):
            dist = rule_distribution(view.category, view.confidence, view.totals)
            pred.append(blend_category(dist, p, weight)[0].value)
        return macro_f1(gold, pred)[0]

    out: dict[str, Any] = {
        "train": len(train),
        "test": len(test),
        "category_macro_f1": {
            "rules_only": category_f1(bow, 0.0),
            "bow_only": category_f1(bow, 1.0),
        },
        "complaint_f1": {"rules_only": _f1(gold_c, [v.sentiment < 0 for v in rules])},
    }
    if embed is not None:
        out["category_macro_f1"]["embedding_only"] = category_f1(emb, 1.0)
    for name, blend in blends.items():
        share = blend.embedding_share if embed is not None else 0.0
        mixed = [mix_probs(b, e, share) for b, e in zip(bow, emb or bow, strict=True)]
        out["category_macro_f1"][name] = category_f1(mixed, blend.category_weight)
        tone_share = blend.complaint_embedding_share if embed is not None else 0.0
        tone = [
            (1 - tone_share) * b + tone_share * e
            for b, e in zip(bow_c, emb_c or bow_c, strict=True)
        ]
        pred_c = [
            complaint_score(v.sentiment, v.strong, p, blend) < 0
            for v, p in zip(rules, tone, strict=True)
        ]
        out["complaint_f1"][name] = _f1(gold_c, pred_c)
    return out


def _bag_of_words(
    train: Sequence[Example_], test: Sequence[Example_], settings: Settings
) -> tuple[list[dict[Category, float]], list[float]]:
    """The bag of words trained on ``train``: category and complaint probabilities on ``test``."""
    nlp = train_pipeline(train, settings)
    # get_pipe is typed as a plain callable; these are TextCategorizer pipes.
    category: Any = nlp.get_pipe("textcat")
    tone_pipe: Any = nlp.get_pipe("complaint")
    docs = [Doc(nlp.vocab, words=masked_tokens(e.text) or ["."]) for e in test]
    labels = [Category(label) for label in category.labels]
    col = list(tone_pipe.labels).index("COMPLAINT")
    bow = [dict(zip(labels, row, strict=True)) for row in category.predict(docs).tolist()]
    bow_c = [float(row[col]) for row in tone_pipe.predict(docs).tolist()]
    return bow, bow_c


def _embedding_heads(
    train: Sequence[Example_],
    test: Sequence[Example_],
    settings: Settings,
    embed: Callable[[Sequence[Example_], bool], numpy.ndarray],
) -> tuple[list[dict[Category, float]], list[float]]:
    """The embedding heads fitted on ``train``: category and complaint probabilities on ``test``."""
    heads = fit_heads(
        embed(train, False),
        [e.category for e in train],
        [e.complaint for e in train],
        l2_category=settings.embed_l2_category,
        l2_complaint=settings.embed_l2_complaint,
    )
    vectors = embed(test, True)
    emb = [dict(zip(heads.labels, row.tolist(), strict=True)) for row in heads.category(vectors)]
    emb_c = [float(p) for p in heads.complaint(vectors)]
    return emb, emb_c


def generalization(
    data: Sequence[Example_],
    extra: Sequence[Example_],
    settings: Settings,
    blends: dict[str, Blend],
    embedder: StaticEmbedder | None,
    vectors: EmbeddingData | None,
) -> dict[str, Any]:
    """All the splits' figures (one bag-of-words training per split)."""
    position = {id(e): i for i, e in enumerate(data)}
    extra_position = {id(e): i for i, e in enumerate(extra)}
    embed = None
    if embedder is not None and vectors is not None:

        def embed(items: Sequence[Example_], seen: bool) -> numpy.ndarray:
            # Our examples and the training sample of Bitext are encoded already.
            rows = []
            for e in items:
                if id(e) in position:
                    table = vectors.seen if seen else vectors.fit
                    rows.append(table[position[id(e)]])
                elif id(e) in extra_position:
                    rows.append(vectors.extra[extra_position[id(e)]])
                else:
                    words = masked_tokens(e.text) if seen else tokens(e.text)
                    rows.append(embedder.encode([" ".join(words)])[0])
            return numpy.vstack(rows)

    splits: dict[str, tuple[list[Example_], list[Example_]]] = {
        "other_domains": (
            [e for e in data if e.domain == "b2b_saas"] + list(extra),
            [e for e in data if e.domain != "b2b_saas"],
        )
    }
    for name, styles in STYLE_GROUPS.items():
        splits[f"styles/{name}"] = (
            [e for e in data if e.style not in styles] + list(extra),
            [e for e in data if e.style in styles],
        )
    splits["bitext"] = (list(data), bitext_sample(_ALL_BITEXT, seed=settings.seed))
    out: dict[str, Any] = {}
    for name, (train, test) in splits.items():
        if not test or not train:
            continue
        out[name] = score_split(train, test, settings, blends, embed)
        print(f"  generalization {name}: {out[name]['category_macro_f1']}", file=sys.stderr)
    return out
