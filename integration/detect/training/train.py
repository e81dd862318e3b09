"""Train the category and complaint classifiers and choose how they blend with the rules.

    python -m integration.detect.training.train [--out DIR] [--folds 5]
        [--architecture bow|ensemble] [--limit N] [--bitext-per-category N]
        [--embed auto|distill|reuse|off] [--generalize]

Steps: the static embedding model is distilled (``training.embed``; reused from the package
when the ``train`` extra is not installed); stratified k-fold cross-validation over our own
examples (Bitext always stays on the training side) picks, from out-of-fold predictions, the
category blend weight, the embeddings' share of it, and the complaint mix and thresholds; then
one bag-of-words model and the embedding heads on all data, saved with spaCy's ``to_disk``
(plus ``embed/``) and the figures, data hashes and choices under ``escalade`` in its
``meta.json``. ``--generalize`` adds train-on-some, test-on-others checks (``holdout``). The
held-out eval sets are never read here. Seeds are fixed, so a rerun gives the same model.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy
from spacy.tokens import Doc

from integration.detect.classifier import (
    MODEL_DIR,
    Blend,
    blend_category,
    complaint_score,
    mix_probs,
    rule_distribution,
)
from integration.detect.embedding import Heads, StaticEmbedder
from integration.detect.training.embed import (
    EmbeddingData,
    embedding_data,
    fit_heads,
    out_of_fold,
    prepare_static,
    write_static,
)
from integration.detect.training.holdout import generalization
from integration.detect.training.measure import default_path, macro_f1
from integration.detect.training.textcat import (
    ARCHITECTURES,
    EXAMPLES_PATH,
    Example_,
    RuleView,
    Settings,
    bitext_sample,
    file_digest,
    load_examples,
    masked_tokens,
    rule_view,
    train_pipeline,
)
from integration.detect.training.tickets import development_ticket_files, ticket_examples
from integration.models import Category

__all__ = ["choose_blend", "cross_validate", "folds", "main", "run"]

WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))
COMPLAINT_ABOVE = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
CALM_BELOW = (0.0, 0.1, 0.2, 0.3, 0.4)


def folds(data: Sequence[Example_], k: int, seed: int) -> list[int]:
    """A fold number per example, stratified by category and complaint."""
    groups: dict[tuple[Category, bool], list[int]] = defaultdict(list)
    for i, item in enumerate(data):
        groups[(item.category, item.complaint)].append(i)
    rng = random.Random(seed)
    out = [0] * len(data)
    offset = 0
    for key in sorted(groups, key=lambda g: (g[0].value, g[1])):
        members = groups[key]
        rng.shuffle(members)
        for n, i in enumerate(members):
            out[i] = (n + offset) % k
        offset += len(members)
    return out


def _f1(gold: Sequence[bool], pred: Sequence[bool]) -> dict[str, float]:
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    fp = sum(p and not g for g, p in zip(gold, pred, strict=True))
    fn = sum(g and not p for g, p in zip(gold, pred, strict=True))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": round(prec, 3), "recall": round(rec, 3), "f1": round(f1, 3)}


def cross_validate(
    data: Sequence[Example_], extra: Sequence[Example_], settings: Settings, k: int
) -> tuple[list[dict[Category, float]], list[float]]:
    """Out-of-fold category probabilities and complaint probabilities for ``data``."""
    fold_of = folds(data, k, settings.seed)
    probs: list[dict[Category, float]] = [{} for _ in data]
    complaint: list[float] = [0.0] * len(data)
    for fold in range(k):
        train = [item for item, f in zip(data, fold_of, strict=True) if f != fold]
        held = [i for i, f in enumerate(fold_of) if f == fold]
        nlp = train_pipeline([*train, *extra], settings)
        # Predict as the detector does: with the matches the rules discarded hidden.
        docs = [Doc(nlp.vocab, words=masked_tokens(data[i].text) or ["."]) for i in held]
        cats = nlp.get_pipe("textcat").predict(docs).tolist()
        tone = nlp.get_pipe("complaint").predict(docs).tolist()
        labels = [Category(label) for label in nlp.get_pipe("textcat").labels]
        col = list(nlp.get_pipe("complaint").labels).index("COMPLAINT")
        for j, i in enumerate(held):
            probs[i] = dict(zip(labels, cats[j], strict=True))
            complaint[i] = tone[j][col]
        print(f"  fold {fold + 1}/{k} done", file=sys.stderr)
    return probs, complaint


def _category_f1(
    data: Sequence[Example_], rules: Sequence[RuleView], probs: Sequence[dict], weight: float
) -> float:
    pred = []
    for view, p in zip(rules, probs, strict=True):
        dist = rule_distribution(view.category, view.confidence, view.totals)
        pred.append(blend_category(dist, p, weight)[0].value)
    return macro_f1([d.category.value for d in data], pred)[0]


def _complaint_f1(
    data: Sequence[Example_], rules: Sequence[RuleView], complaint: Sequence[float], blend: Blend
) -> dict[str, float]:
    pred = [
        complaint_score(view.sentiment, view.strong, p, blend) < 0
        for view, p in zip(rules, complaint, strict=True)
    ]
    return _f1([d.complaint for d in data], pred)


def _best_complaint(
    data: Sequence[Example_],
    rules: Sequence[RuleView],
    complaint: Sequence[float],
) -> tuple[float, float, float]:
    grid = {
        (above, calm): _complaint_f1(
            data, rules, complaint, Blend(complaint_above=above, calm_below=calm)
        )["f1"]
        for above in COMPLAINT_ABOVE
        for calm in CALM_BELOW
    }
    above, calm = max(grid, key=lambda key: (grid[key], key[0], -key[1]))
    return grid[(above, calm)], above, calm


def choose_blend(
    data: Sequence[Example_],
    rules: Sequence[RuleView],
    probs: Sequence[dict[Category, float]],
    complaint: Sequence[float],
    *,
    embedding: tuple[Sequence[dict[Category, float]], Sequence[float]] | None = None,
    max_weight: float = 1.0,
) -> tuple[Blend, dict[str, Any]]:
    """The blend weights and complaint thresholds with the best out-of-fold figures.

    The model weight is capped at ``max_weight``; ``embedding`` (out-of-fold category and
    complaint probabilities of the embedding heads) adds the embedding shares to the grid.
    Ties go to the smaller weight and share: the rules, then the bag of words, are the
    conservative side.
    """
    shares = WEIGHTS if embedding is not None else (0.0,)
    emb_probs, emb_complaint = embedding if embedding is not None else ([], [])
    by_pair = _category_grid(data, rules, probs, emb_probs, shares)

    def pick(weights: Sequence[float], allowed: Sequence[float]) -> tuple[float, float]:
        pairs = [(w, s) for w in weights for s in allowed]
        return max(pairs, key=lambda ws: (round(by_pair[ws], 3), -ws[0], -ws[1]))

    best = pick(WEIGHTS, shares)
    weight, share = pick([w for w in WEIGHTS if w <= max_weight], shares)
    plain = pick([w for w in WEIGHTS if w <= max_weight], (0.0,))

    tone = _complaint_grid(data, rules, complaint, emb_complaint, shares)
    tone_share = max(shares, key=lambda s: (tone[s][0], -s))
    _, above, calm = tone[tone_share]
    blend = Blend(category_weight=weight, complaint_above=above, calm_below=calm,
                  embedding_share=share, complaint_embedding_share=tone_share)
    _, above0, calm0 = tone[0.0]
    without = Blend(category_weight=plain[0], complaint_above=above0, calm_below=calm0)
    gold_c = [d.complaint for d in data]
    report: dict[str, Any] = {
        "category_macro_f1": _category_report(
            by_pair, best=best, plain=plain, shipped=(weight, share)
        ),
        "complaint": {
            "rules_only_sentiment_below_0": _f1(gold_c, [v.sentiment < 0 for v in rules]),
            "model_only_p_0.5": _f1(gold_c, [p >= 0.5 for p in complaint]),
            "blend_without_embeddings": _complaint_f1(data, rules, complaint, without),
            "blend": _complaint_f1(
                data, rules, _mixed(complaint, emb_complaint or complaint, tone_share), blend
            ),
            "f1_by_embedding_share": {str(s): tone[s][0] for s in shares},
        },
    }
    report["blend_without_embeddings"] = asdict(without)
    if embedding is not None:
        report["category_macro_f1"]["embedding_only"] = by_pair[(1.0, 1.0)]
        report["complaint"]["embedding_only_p_0.5"] = _f1(
            gold_c, [p >= 0.5 for p in emb_complaint]
        )
    return blend, report


def _mixed(base: Sequence[float], other: Sequence[float], share: float) -> list[float]:
    """``share`` of ``other`` mixed into ``base``, item by item."""
    return [(1 - share) * b + share * e for b, e in zip(base, other, strict=True)]


def _category_report(
    by_pair: dict[tuple[float, float], float],
    *,
    best: tuple[float, float],
    plain: tuple[float, float],
    shipped: tuple[float, float],
) -> dict[str, Any]:
    """The category figures: each reading alone, both blends, and the grid by weight."""
    weight, share = shipped
    return {
        "rules_only": by_pair[(0.0, 0.0)],
        "model_only": by_pair[(1.0, 0.0)],
        "blend_without_embeddings": by_pair[plain],
        "blend": by_pair[(weight, share)],
        "cv_best": {"weight": best[0], "embedding_share": best[1], "f1": by_pair[best]},
        "shipped_weight": weight,
        "shipped_embedding_share": share,
        "by_weight": {str(w): by_pair[(w, 0.0)] for w in WEIGHTS},
        "by_weight_at_shipped_share": {str(w): by_pair[(w, share)] for w in WEIGHTS},
    }


def _category_grid(
    data: Sequence[Example_],
    rules: Sequence[RuleView],
    probs: Sequence[dict[Category, float]],
    emb_probs: Sequence[dict[Category, float]],
    shares: Sequence[float],
) -> dict[tuple[float, float], float]:
    """Category macro-F1 for every (model weight, embedding share) pair."""
    by_pair: dict[tuple[float, float], float] = {}
    for share in shares:
        mixed = (
            [mix_probs(p, e, share) for p, e in zip(probs, emb_probs, strict=True)]
            if share
            else probs
        )
        for w in WEIGHTS:
            by_pair[(w, share)] = _category_f1(data, rules, mixed, w)
    return by_pair


def _complaint_grid(
    data: Sequence[Example_],
    rules: Sequence[RuleView],
    complaint: Sequence[float],
    emb_complaint: Sequence[float],
    shares: Sequence[float],
) -> dict[float, tuple[float, float, float]]:
    """Per embedding share: the best complaint F1 and the thresholds that reach it."""
    tone: dict[float, tuple[float, float, float]] = {}
    for s in shares:
        mixed_c = (
            [(1 - s) * b + s * e for b, e in zip(complaint, emb_complaint, strict=True)]
            if s
            else list(complaint)
        )
        tone[s] = _best_complaint(data, rules, mixed_c)
    return tone


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Cross-validate, choose the blend, train on everything, save; return the figures."""
    settings = Settings(
        architecture=args.architecture,
        bitext_per_category=args.bitext_per_category,
        epochs=args.epochs,
    )
    data = load_examples(args.examples)
    if args.tickets:
        data += ticket_examples(development_ticket_files(leave_out=args.tickets_except))
    if args.limit:
        data = random.Random(settings.seed).sample(data, min(args.limit, len(data)))
    extra = bitext_sample(settings.bitext_per_category, seed=settings.seed, path=args.bitext)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="escalade-embed-") as tmp:
        work = Path(tmp)
        static = prepare_static(args.embed, work)
        embedder = StaticEmbedder(work) if static["how"] != "off" else None
        vectors = embedding_data(embedder, data, extra) if embedder is not None else None
        blend, cv = _cross_validated_blend(args, data, extra, settings, vectors)
        nlp = train_pipeline([*data, *extra], settings)
        heads, embedding_meta = _embedding_heads(vectors, data, extra, settings, static)
        holdout: dict[str, Any] = {}
        if args.generalize:
            without = Blend(**cv.get("blend_without_embeddings", asdict(blend)))
            blends = {"blend_without_embeddings": without, "blend": blend}
            holdout = generalization(data, extra, settings, blends, embedder, vectors)
        nlp.meta["name"] = "escalade_detect"
        nlp.meta["version"] = "1.0.0"
        nlp.meta["escalade"] = {
            "blend": asdict(blend),
            "settings": asdict(settings),
            "architecture": ARCHITECTURES[settings.architecture]["@architectures"],
            "embedding": embedding_meta,
            "data": _data_meta(args, data, extra),
            "cross_validation": cv,
            "train_seconds": round(time.perf_counter() - started, 1),
        }
        if holdout:
            nlp.meta["escalade"]["generalization"] = holdout
        elif args.out.resolve() == MODEL_DIR.resolve():
            # A rebuild without --generalize keeps the figures of the last run that had it.
            previous = _previous_generalization(args.out)
            if previous:
                nlp.meta["escalade"]["generalization"] = previous
        args.out.mkdir(parents=True, exist_ok=True)
        nlp.to_disk(args.out)
        if heads is not None:
            write_static(work, args.out / "embed", heads)
        elif (args.out / "embed").exists() and static["how"] == "off":
            shutil.rmtree(args.out / "embed")
    return nlp.meta["escalade"]


def _cross_validated_blend(
    args: argparse.Namespace,
    data: list[Example_],
    extra: list[Example_],
    settings: Settings,
    vectors: EmbeddingData | None,
) -> tuple[Blend, dict[str, Any]]:
    """The blend chosen on out-of-fold figures, and those figures; the default blend without."""
    if args.folds <= 1:
        if vectors is not None:
            # No cross-validation to choose by: ship the embeddings switched off.
            print("  no cross-validation: the embedding shares stay 0", file=sys.stderr)
        return Blend(), {}
    probs, complaint = cross_validate(data, extra, settings, args.folds)
    rules = [rule_view(item.text) for item in data]
    embedded = None
    if vectors is not None:
        embedded = out_of_fold(
            vectors,
            data,
            extra,
            folds(data, args.folds, settings.seed),
            l2_category=settings.embed_l2_category,
            l2_complaint=settings.embed_l2_complaint,
        )
    blend, cv = choose_blend(
        data,
        rules,
        probs,
        complaint,
        embedding=embedded,
        max_weight=settings.max_category_weight,
    )
    cv["folds"] = args.folds
    return blend, cv


def _embedding_heads(
    vectors: EmbeddingData | None,
    data: list[Example_],
    extra: list[Example_],
    settings: Settings,
    static: dict[str, Any],
) -> tuple[Heads | None, dict[str, Any]]:
    """The embedding heads trained on every example (when embeddings are on) and their meta."""
    embedding_meta: dict[str, Any] = {"static": static}
    if vectors is None:
        return None, embedding_meta
    heads = fit_heads(
        numpy.vstack([vectors.fit, vectors.extra]),
        [d.category for d in [*data, *extra]],
        [d.complaint for d in [*data, *extra]],
        l2_category=settings.embed_l2_category,
        l2_complaint=settings.embed_l2_complaint,
    )
    embedding_meta["heads"] = {
        "file": "embed/heads.npz",
        "l2_category": settings.embed_l2_category,
        "l2_complaint": settings.embed_l2_complaint,
        "trained_on": vectors.fit.shape[0] + vectors.extra.shape[0],
    }
    return heads, embedding_meta


def _data_meta(
    args: argparse.Namespace, data: list[Example_], extra: list[Example_]
) -> dict[str, Any]:
    """Which examples the model was trained on: the project's and the bitext sample."""
    bitext_path = args.bitext or default_path()
    tickets = [e for e in data if e.source == "tickets"]
    return {
        "project_examples": {
            "path": "integration/detect/data/train_examples.jsonl",
            "sha256": file_digest(args.examples),
            "used": len(data) - len(tickets),
        },
        "development_tickets": {
            "sets": sorted({e.domain for e in tickets}),
            "used": len(tickets),
        },
        "bitext": {
            "path": "../shared/data/bitext-customer-support/" + bitext_path.name,
            "sha256": file_digest(bitext_path) if extra else None,
            "used": len(extra),
        },
    }


def _previous_generalization(out: Path) -> dict[str, Any]:
    meta = out / "meta.json"
    if not meta.exists():
        return {}
    found = json.loads(meta.read_text(encoding="utf-8")).get("escalade", {})
    return dict(found.get("generalization", {}))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: train, save, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--examples", type=Path, default=EXAMPLES_PATH)
    parser.add_argument("--bitext", type=Path, default=None)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--architecture", choices=sorted(ARCHITECTURES), default="bow")
    parser.add_argument("--epochs", type=int, default=Settings().epochs)
    parser.add_argument("--bitext-per-category", type=int, default=Settings().bitext_per_category)
    parser.add_argument("--limit", type=int, default=0, help="train on N examples (smoke runs)")
    parser.add_argument(
        "--embed",
        choices=("auto", "distill", "reuse", "off"),
        default="auto",
        help="static embeddings: distill when the train extra is installed (auto), always "
        "distill, reuse the shipped model, or leave them out",
    )
    parser.add_argument(
        "--generalize",
        action="store_true",
        help="also train on some groups and test on others (domains, styles, Bitext); slower",
    )
    parser.add_argument(
        "--tickets",
        action="store_true",
        help="also learn from the labeled development ticket sets (never the held-out set)",
    )
    parser.add_argument(
        "--tickets-except",
        action="append",
        default=[],
        metavar="SUFFIX",
        help="with --tickets, leave out the sets whose name ends so (e.g. _h), to measure them",
    )
    args = parser.parse_args(argv)
    figures = run(args)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
