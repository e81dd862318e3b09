"""Semantic features: a static embedding model and the two logistic-regression heads on it.

The embedding model under ``integration/detect/model/embed/`` was distilled offline with
``model2vec`` from all-MiniLM-L6-v2 (one vector per WordPiece token, PCA-reduced, float16), so
nothing here needs torch: a text's vector is the mean of its tokens' rows, L2-normalized, as
``model2vec.StaticModel.encode`` computes it. The heads (``heads.npz``) were trained by
``python -m integration.detect.training.train``: a 12-way softmax for the category and a binary
logistic regression for complaints.

Only ``tokenizers`` and ``safetensors`` (both ``model2vec`` dependencies) and numpy are
imported: ``model2vec`` itself would pull in ``huggingface_hub`` and ``joblib`` for nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy

from integration.detect.paths import MODEL_DIR
from integration.errors import ConfigurationError
from integration.models import Category

__all__ = [
    "EMBED_DIR",
    "EmbeddingModel",
    "Heads",
    "StaticEmbedder",
    "default_embedding_model",
    "load_heads",
    "save_heads",
    "softmax",
]

EMBED_DIR = MODEL_DIR / "embed"
HEADS_FILE = "heads.npz"
# model2vec's own default: longer texts are cut after this many tokens.
_MAX_TOKENS = 512
_MAX_WORDS = 200_000


class StaticEmbedder:
    """A model2vec static model read from its folder: text in, one normalized vector out.

    Tokenizing a whole text costs ~100 µs; a text is instead split on whitespace (which the
    BERT pre-tokenizer also splits on) and each word's token ids are remembered, so a text is
    a few dict look-ups, one gather and a mean.
    """

    def __init__(self, path: Path) -> None:
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
            tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
            vectors = load_file(str(path / "model.safetensors"))["embeddings"]
        except ImportError as err:
            raise ConfigurationError(
                "the embedding model needs the 'model2vec' package (tokenizers, safetensors)"
            ) from err
        # tokenizers and safetensors raise plain Exception subclasses of their own.
        except Exception as err:
            raise ConfigurationError(f"cannot load the embedding model at {path}: {err}") from err
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._unk = tokenizer.token_to_id("[UNK]")
        self.vectors = numpy.asarray(vectors, dtype="float32")
        self.dim = int(self.vectors.shape[1])
        self.normalize = bool(config.get("normalize", True))
        self._ids: dict[str, list[int]] = {}

    def _word_ids(self, word: str) -> list[int]:
        ids = self._tokenizer.encode(word, add_special_tokens=False).ids
        # model2vec drops unknown tokens (a word over 100 characters becomes one [UNK]).
        return [i for i in ids if i != self._unk]

    def token_ids(self, text: str) -> list[int]:
        """The text's token ids, as model2vec reads it (at most 512)."""
        known = self._ids
        if len(known) > _MAX_WORDS:
            # A bound on memory: start over rather than grow without end.
            known.clear()
        out: list[int] = []
        for word in text.split():
            ids = known.get(word)
            if ids is None:
                ids = known[word] = self._word_ids(word)
            out.extend(ids)
        return out[:_MAX_TOKENS]

    def encode(self, texts: Sequence[str]) -> numpy.ndarray:
        """One row per text; an empty text is the zero vector."""
        out = numpy.zeros((len(texts), self.dim), dtype="float32")
        vectors, add = self.vectors, numpy.add.reduce
        for n, text in enumerate(texts):
            ids = self.token_ids(text)
            if not ids:
                continue
            row = add(vectors.take(ids, axis=0), axis=0)  # the rows indexing gives, faster
            # numpy's mean and norm are Python wrappers that cost more than the sums here;
            # a normalized mean is the normalized sum.
            if self.normalize:
                out[n] = row / (math.sqrt(float(row @ row)) + 1e-32)
            else:
                out[n] = row / len(ids)
        return out



def softmax(values: list[float]) -> list[float]:
    """Probabilities from logits, in plain floats (cheaper than numpy on a dozen numbers)."""
    top = max(values)
    exp = [math.exp(v - top) for v in values]
    total = sum(exp)
    return [v / total for v in exp]

@dataclass(frozen=True, kw_only=True, slots=True)
class Heads:
    """Linear heads on the embedding: category softmax and complaint logistic regression."""

    labels: tuple[Category, ...]
    category_w: numpy.ndarray  # (dim, classes)
    category_b: numpy.ndarray  # (classes,)
    complaint_w: numpy.ndarray  # (dim,)
    complaint_b: float

    def category(self, vectors: numpy.ndarray) -> numpy.ndarray:
        """Category probabilities, one row per vector."""
        logits = vectors @ self.category_w + self.category_b
        logits -= logits.max(axis=1, keepdims=True)
        exp = numpy.exp(logits)
        out: numpy.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return out

    def complaint(self, vectors: numpy.ndarray) -> numpy.ndarray:
        """Complaint probability per vector."""
        logits = numpy.clip(vectors @ self.complaint_w + self.complaint_b, -30.0, 30.0)
        out: numpy.ndarray = 1.0 / (1.0 + numpy.exp(-logits))
        return out


def save_heads(heads: Heads, path: Path) -> None:
    """Write the heads as plain numpy arrays (no pickles)."""
    numpy.savez_compressed(
        path,
        labels=numpy.array([c.value for c in heads.labels]),
        category_w=heads.category_w.astype("float32"),
        category_b=heads.category_b.astype("float32"),
        complaint_w=heads.complaint_w.astype("float32"),
        complaint_b=numpy.array([heads.complaint_b], dtype="float32"),
    )


def load_heads(path: Path) -> Heads:
    """Read heads written by ``save_heads``."""
    try:
        with numpy.load(path, allow_pickle=False) as data:
            return Heads(
                labels=tuple(Category(str(v)) for v in data["labels"]),
                category_w=numpy.asarray(data["category_w"], dtype="float32"),
                category_b=numpy.asarray(data["category_b"], dtype="float32"),
                complaint_w=numpy.asarray(data["complaint_w"], dtype="float32"),
                complaint_b=float(data["complaint_b"][0]),
            )
    except (OSError, ValueError, KeyError) as err:
        raise ConfigurationError(f"cannot load the embedding heads at {path}: {err}") from err


class EmbeddingModel:
    """The shipped embedding model and heads: probabilities for texts."""

    def __init__(self, path: Path = EMBED_DIR) -> None:
        self.path = path
        self.embedder = StaticEmbedder(path)
        self.heads = load_heads(path / HEADS_FILE)
        if self.heads.category_w.shape[0] != self.embedder.dim:
            raise ConfigurationError(
                f"the heads at {path} expect {self.heads.category_w.shape[0]} dimensions, "
                f"the embedding model has {self.embedder.dim}"
            )
        # Both heads as one matrix: one product per text gives every logit.
        self._weights = numpy.concatenate(
            [self.heads.category_w, self.heads.complaint_w[:, None]], axis=1
        )
        self._bias = [*self.heads.category_b.tolist(), self.heads.complaint_b]
        self._last: tuple[str, tuple[list[float], float], numpy.ndarray] | None = None

    def _scores(self, text: str) -> tuple[list[float], float]:
        # The detector asks for one message's complaint and category in turn: one reading.
        last = self._last
        if last is not None and last[0] == text:
            return last[1]
        vector = self.embedder.encode([text])[0]
        logits = [a + b for a, b in zip((vector @ self._weights).tolist(), self._bias,
                                        strict=True)]
        complaint = 1.0 / (1.0 + math.exp(-min(30.0, max(-30.0, logits[-1]))))
        scores = (softmax(logits[:-1]), complaint)
        self._last = (text, scores, vector)
        return scores

    def vector_of(self, text: str) -> numpy.ndarray:
        """The text's embedding (the one just read for its category or complaint is reused)."""
        last = self._last
        if last is not None and last[0] == text:
            return last[2]
        vector: numpy.ndarray = self.embedder.encode([text])[0]
        return vector

    def category_probs(self, text: str) -> dict[Category, float]:
        """Category probabilities for one text (they sum to 1)."""
        return dict(zip(self.heads.labels, self._scores(text)[0], strict=True))

    def complaint_probs(self, texts: Sequence[str]) -> list[float]:
        """Probability that each text is a complaint."""
        if len(texts) == 1:
            return [self._scores(texts[0])[1]]
        return [float(p) for p in self.heads.complaint(self.embedder.encode(texts))]

    def describe(self) -> dict[str, Any]:
        """What is loaded: dimensions, vocabulary size, labels."""
        return {
            "dim": self.embedder.dim,
            "vocabulary": int(self.embedder.vectors.shape[0]),
            "labels": [c.value for c in self.heads.labels],
        }


@lru_cache(maxsize=1)
def default_embedding_model() -> EmbeddingModel:
    """The embedding model shipped in the package, loaded once per process."""
    return EmbeddingModel(EMBED_DIR)
