"""The trained text classifiers: category (12 classes) and complaint, and how they blend in.

The pipeline under ``integration/detect/model/`` is ``spacy.blank("en")`` with two ``textcat``
components trained by ``python -m integration.detect.training.train``: ``textcat`` (exclusive,
the 12 categories) and ``complaint`` (exclusive, COMPLAINT / NOT). Both read lower-cased tokens as
our own reader splits them, so training and detection see the same features and no second
tokenizer pass is paid. Beside them, ``model/embed/`` holds a static embedding model with two
logistic-regression heads (``embedding.py``): the "model" side of the blend is a mix of the
bag of words and the embeddings. The blend weights and the complaint thresholds were chosen by
cross-validation on the training data and are stored in the model's ``meta.json``
(key ``escalade``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry
from spacy.vocab import Vocab

from integration.detect.embedding import (
    EMBED_DIR,
    EmbeddingModel,
    default_embedding_model,
    softmax,
)
from integration.detect.paths import MODEL_DIR
from integration.detect.text import Parsed
from integration.errors import ConfigurationError
from integration.models import Category

__all__ = [
    "COMPLAINT",
    "MODEL_DIR",
    "Blend",
    "ModelView",
    "TextModel",
    "blend_category",
    "complaint_score",
    "default_model",
    "features",
    "mix_probs",
    "rule_distribution",
]

COMPLAINT = "COMPLAINT"
NOT_COMPLAINT = "NOT"
# The most negative score the complaint model gives on its own: above the matrix's "strong
# negativity" line (-0.5) and the detector's "frustrated" line (-0.4), so the model marks a
# complaint without raising a tier by tone; that stays with the rules.
_MODEL_FLOOR = -0.35
_MODEL_CEILING = -0.08
_MAX_KEYS = 500_000
# How close the runner-up of the rules may come to their choice.
_RUNNER_UP = 0.5
_CLEARLY_POSITIVE = 0.3


@dataclass(frozen=True, kw_only=True, slots=True)
class Blend:
    """How model and rules combine; chosen by cross-validation, stored in meta.json.

    ``category_weight`` is the model's share against the rules; of that, the embeddings take
    ``embedding_share`` and the bag of words the rest. ``complaint_embedding_share`` mixes the
    two complaint probabilities the same way.
    """

    category_weight: float = 0.5
    complaint_above: float = 0.7
    calm_below: float = 0.0
    embedding_share: float = 0.0
    complaint_embedding_share: float = 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelView:
    """The model side of one text's category: the mix, and what each part said."""

    probs: dict[Category, float]
    bag_of_words: dict[Category, float]
    embedding: dict[Category, float] | None


def mix_probs(
    bag_of_words: Mapping[Category, float],
    embedding: Mapping[Category, float] | None,
    share: float,
) -> dict[Category, float]:
    """``(1 - share) · bag of words + share · embedding`` (the bag of words alone without one)."""
    if embedding is None or share <= 0.0:
        return dict(bag_of_words)
    return {
        cat: (1.0 - share) * bag_of_words.get(cat, 0.0) + share * embedding.get(cat, 0.0)
        for cat in dict.fromkeys([*bag_of_words, *embedding])
    }


def features(
    parts: Sequence[Parsed], drop: Sequence[Sequence[tuple[int, int]]] = ()
) -> list[str]:
    """The tokens both classifiers read: lower case, whitespace dropped, parts concatenated.

    ``drop`` holds, per part, token spans the rules found negated, resolved or meant in
    another sense ("since last month's outage was fixed"): a bag of words cannot read those,
    so it does not see them.
    """
    out: list[str] = []
    for n, part in enumerate(parts):
        spans = drop[n] if n < len(drop) else ()
        if not spans:
            out.extend(w for w in part.lower if not w.isspace())
            continue
        hidden = {i for start, end in spans for i in range(start, end)}
        out.extend(w for i, w in enumerate(part.lower) if i not in hidden and not w.isspace())
    return out


def _no_tokenizer() -> Callable[[Language], Callable[[str], Doc]]:
    """A stand-in tokenizer for the loaded classifiers, which only ever read token lists."""

    def create(nlp: Language) -> Callable[[str], Doc]:
        def refuse(text: str) -> Doc:
            raise RuntimeError("the text model reads token lists, not text")

        return refuse

    return create


registry.tokenizers.register("escalade.no_tokenizer.v1", func=_no_tokenizer)
_NO_TOKENIZER = {"nlp": {"tokenizer": {"@tokenizers": "escalade.no_tokenizer.v1"}}}


class _LinearView:
    """The two bag-of-words classifiers' linear layers, read key by key.

    ``TextCatBOW`` scores a text as bias + the sum of one weight vector per unigram and bigram
    occurrence, then a softmax. Running it through thinc costs ~50 microseconds a call in
    layer overhead, a quarter of a short ticket's whole detection, so each key's vector is
    asked of the trained layer once (in batches) and remembered; a text is then one gather
    and a sum. The result is the pipeline's own output (``TextModel.pipeline_scores`` checks).
    """

    def __init__(self, vocab: Vocab, layers: Sequence[Any]) -> None:
        self._vocab = vocab
        self._layers = list(layers)
        self._ops = self._layers[0].ops
        self.bias = numpy.concatenate([numpy.asarray(layer.get_param("b")) for layer in layers])
        self._rows = numpy.zeros((8192, len(self.bias)), dtype="float32")
        self._index: dict[str | tuple[str, str], int] = {}

    def _keys(self, names: list[str | tuple[str, str]]) -> numpy.ndarray:
        # A token's key is its lexeme's ORTH, as in a Doc: a string hash, or a symbol id for
        # the few words spaCy has symbols for ("number").
        vocab = self._vocab
        keys = numpy.zeros(len(names), dtype="uint64")
        for n, name in enumerate(names):
            if isinstance(name, str):
                keys[n] = vocab[name].orth
            else:
                pair = numpy.array([vocab[name[0]].orth, vocab[name[1]].orth], dtype="uint64")
                keys[n] = self._ops.ngrams(2, pair)[0]
        return keys

    def _learn(self, names: list[str | tuple[str, str]]) -> None:
        keys = self._keys(names)
        ones = numpy.ones(len(names), dtype="float32")
        lengths = numpy.ones(len(names), dtype="int32")
        vectors = (
            numpy.concatenate(
                [numpy.asarray(layer.predict((keys, ones, lengths))) for layer in self._layers],
                axis=1,
            )
            - self.bias
        )
        start = len(self._index)
        if start + len(names) > len(self._rows):
            grown = numpy.zeros((2 * (start + len(names)), len(self.bias)), dtype="float32")
            grown[:start] = self._rows[:start]
            self._rows = grown
        self._rows[start : start + len(names)] = vectors
        for n, name in enumerate(names):
            self._index[name] = start + n

    def raw(self, words: list[str]) -> numpy.ndarray:
        """Bias plus the summed key vectors of ``words`` (before the softmax)."""
        index = self._index
        rows: list[int] = []
        missing: list[str | tuple[str, str]] = []
        previous = None
        for word in words:
            found = index.get(word)
            if found is None:
                missing.append(word)
            else:
                rows.append(found)
            if previous is not None:
                pair = (previous, word)
                found = index.get(pair)
                if found is None:
                    missing.append(pair)
                else:
                    rows.append(found)
            previous = word
        if missing:
            if len(index) + len(missing) > _MAX_KEYS:
                # A bound on memory: start over rather than grow without end.
                index.clear()
                missing = _keys_of(words)
            self._learn(list(dict.fromkeys(missing)))
            # Repeats of a missing key count each time they occur, as in the layer.
            rows = [index[key] for key in _keys_of(words)]
        # ``take`` gathers the same rows as indexing with the list, without first
        # converting the list into an index array (most of a short text's cost here).
        summed: numpy.ndarray = self.bias + numpy.add.reduce(self._rows.take(rows, axis=0), axis=0)
        return summed


def _keys_of(words: list[str]) -> list[str | tuple[str, str]]:
    out: list[str | tuple[str, str]] = list(words)
    out.extend(zip(words, words[1:], strict=False))
    return out


class TextModel:
    """The loaded pipeline: category and complaint probabilities for token lists.

    ``embeddings=False`` leaves the embedding model out (the bag of words alone, whatever the
    stored shares say); with it, the embedding model in ``path / "embed"`` is loaded when the
    stored blend gives it a share, and its absence is then an error.
    """

    def __init__(self, path: Path = MODEL_DIR, *, embeddings: bool = True) -> None:
        try:
            # Only the classifiers and the vocabulary's hashes are used: building and loading
            # an English tokenizer (thousands of special cases) would double start-up time.
            self._nlp = spacy.load(path, exclude=["tokenizer"], config=_NO_TOKENIZER)
        except (OSError, ValueError) as err:
            raise ConfigurationError(f"cannot load the text model at {path}: {err}") from err
        # get_pipe is typed as a plain callable; these are TextCategorizer pipes.
        category: Any = self._nlp.get_pipe("textcat")
        complaint: Any = self._nlp.get_pipe("complaint")
        self.categories = tuple(Category(label) for label in category.labels)
        self._width = len(self.categories)
        self._complaint_col = self._width + list(complaint.labels).index(COMPLAINT)
        self._pipes: tuple[Any, Any] = (category, complaint)
        self._last: tuple[list[str], tuple[list[float], float]] | None = None
        self._linear = _LinearView(
            self._nlp.vocab, [_sparse_layer(category.model), _sparse_layer(complaint.model)]
        )
        self.meta: dict[str, Any] = dict(self._nlp.meta.get("escalade", {}))
        chosen = self.meta.get("blend", {})
        fallback = Blend()
        # spaCy's JSON reader returns 0.6 as 0.6000000000000001; the grid has 2 decimals.
        blend = Blend(
            **{
                name: round(float(chosen.get(name, getattr(fallback, name))), 6)
                for name in Blend.__dataclass_fields__
            }
        )
        self.embedding: EmbeddingModel | None = None
        if embeddings and (blend.embedding_share > 0 or blend.complaint_embedding_share > 0):
            embed = path / "embed"
            # The shipped model is the one the learned reader also reads meanings with:
            # loaded once per process, not once per user.
            self.embedding = (
                default_embedding_model() if embed == EMBED_DIR else EmbeddingModel(embed)
            )
        else:
            blend = Blend(
                category_weight=blend.category_weight,
                complaint_above=blend.complaint_above,
                calm_below=blend.calm_below,
            )
        self.blend = blend

    def _probs(self, words: list[str]) -> tuple[list[float], float]:
        # The detector asks for the first message's complaint and category in turn with the
        # same list: one reading serves both.
        last = self._last
        if last is not None and last[0] is words:
            return last[1]
        raw = self._linear.raw(words or ["."]).tolist()
        tone = softmax(raw[self._width :])
        probs = (softmax(raw[: self._width]), tone[self._complaint_col - self._width])
        self._last = (words, probs)
        return probs

    def category_probs(self, words: list[str]) -> dict[Category, float]:
        """Category probabilities for one token list (from ``features``)."""
        return dict(zip(self.categories, self._probs(words)[0], strict=True))

    def complaint_probs(self, token_lists: Sequence[list[str]]) -> list[float]:
        """Probability that each token list is a complaint."""
        return [self._probs(words)[1] for words in token_lists]

    def category_view(self, words: list[str]) -> ModelView:
        """The model side of the category blend: bag of words and embeddings mixed."""
        bow = self.category_probs(words)
        if self.embedding is None:
            return ModelView(probs=bow, bag_of_words=bow, embedding=None)
        emb = self.embedding.category_probs(" ".join(words))
        return ModelView(
            probs=mix_probs(bow, emb, self.blend.embedding_share), bag_of_words=bow, embedding=emb
        )

    def meaning(self, words: list[str]) -> numpy.ndarray | None:
        """The embedding of one token list (the category view's, reused); None without one."""
        if self.embedding is None:
            return None
        return self.embedding.vector_of(" ".join(words))

    def blended_complaint_probs(self, token_lists: Sequence[list[str]]) -> list[float]:
        """Complaint probabilities, bag of words and embeddings mixed by the stored share."""
        bow = self.complaint_probs(token_lists)
        share = self.blend.complaint_embedding_share
        if self.embedding is None or share <= 0.0:
            return bow
        emb = self.embedding.complaint_probs([" ".join(words) for words in token_lists])
        return [(1.0 - share) * b + share * e for b, e in zip(bow, emb, strict=True)]

    def pipeline_scores(
        self, token_lists: Sequence[list[str]]
    ) -> list[tuple[dict[Category, float], float]]:
        """The same figures through spaCy's own model calls (slow; for checks and tests)."""
        docs = [Doc(self._nlp.vocab, words=words or ["."]) for words in token_lists]
        cats = self._pipes[0].model.predict(docs).tolist()
        tone = self._pipes[1].model.predict(docs).tolist()
        col = self._complaint_col - self._width
        return [
            (dict(zip(self.categories, row, strict=True)), t[col])
            for row, t in zip(cats, tone, strict=True)
        ]


def _sparse_layer(model: Any) -> Any:
    for layer in model.walk():
        if layer.name == "sparse_linear":
            return layer
    raise ConfigurationError("the text model is not a bag-of-words classifier")


@lru_cache(maxsize=1)
def default_model() -> TextModel:
    """The model shipped in the package, loaded once per process."""
    return TextModel(MODEL_DIR)


def rule_distribution(
    chosen: Category, confidence: float, totals: Mapping[Category, float]
) -> dict[Category, float]:
    """The rules' verdict as scores: the chosen category gets its confidence, the rest share
    what is left in proportion to their cue totals, the largest at most half the chosen."""
    out = {chosen: confidence}
    others = {c: v for c, v in totals.items() if c is not chosen and v > 0}
    mass = sum(others.values())
    if mass > 0:
        scale = min((1.0 - confidence) / mass, confidence * _RUNNER_UP / max(others.values()))
        for cat, value in others.items():
            out[cat] = value * scale
    return out


def blend_category(
    rules: Mapping[Category, float], probs: Mapping[Category, float], weight: float
) -> tuple[Category, float, dict[Category, float]]:
    """Mix model probabilities (``weight``) with the rules' scores; best category first."""
    mixed = {
        cat: weight * probs.get(cat, 0.0) + (1.0 - weight) * rules.get(cat, 0.0)
        for cat in dict.fromkeys([*probs, *rules])
    }
    best = max(mixed, key=lambda c: mixed[c])
    return best, mixed[best], mixed


def complaint_score(score: float, strong: bool, probability: float, blend: Blend) -> float:
    """A message's sentiment after the complaint model.

    A message the model finds complaining is negative even without lexicon words (the more
    sure, the more negative, down to ``_MODEL_FLOOR``); a mildly negative message the model
    finds calm ("the export fails with an error") is neutral. Strong rule cues always stand.
    """
    above = blend.complaint_above
    # A clearly positive message ("I am happy with the new dashboard") keeps its tone: the
    # model reads topic words too, and praise about a feature is not a complaint.
    if probability >= above and score < _CLEARLY_POSITIVE:
        share = (probability - above) / max(1e-9, 1.0 - above)
        return min(score, _MODEL_CEILING + share * (_MODEL_FLOOR - _MODEL_CEILING))
    if probability < blend.calm_below and score < 0 and not strong and score > -0.5:
        return 0.0
    return score
