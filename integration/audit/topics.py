"""Topics inside each category: tickets grouped by meaning, one pass, deterministic.

Each ticket's text (subject and first customer message) is embedded with the shipped static
sentence embeddings (``integration.detect.embedding``). Within its category a ticket joins
the topic whose running centroid is most similar (cosine at least ``topic_similarity``) or,
failing that, starts a new one, up to ``max_topics_per_category`` (after that it joins the
nearest). The same tickets in the same order always give the same topics; memory is one
centroid and a bounded word count per topic.

A topic is named by its most distinctive lemmas: frequent in the topic (in at least a fifth
of its tickets) and rare in the rest of the category (TF-IDF over documents).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy

from integration.audit.classify import TopicFeatures
from integration.audit.settings import AuditSettings

__all__ = ["TopicInfo", "TopicModel"]

_WORDS_KEPT = 1000
_WORDS_LIMIT = 3000
_CATEGORY_WORDS_KEPT = 20_000
_CATEGORY_WORDS_LIMIT = 60_000
_NAME_WORDS = 3


@dataclass(frozen=True, kw_only=True, slots=True)
class TopicInfo:
    """A topic: its id (``category/n``), name, category, size and naming words."""

    id: str
    name: str
    category: str
    tickets: int
    words: tuple[str, ...]


class _Category:
    __slots__ = ("counts", "docs", "names", "normed", "sums", "word_df", "words")

    def __init__(self, dim: int) -> None:
        self.sums = numpy.zeros((0, dim), dtype="float32")
        self.normed = numpy.zeros((0, dim), dtype="float32")
        self.counts: list[int] = []
        self.words: list[Counter[str]] = []
        self.word_df: Counter[str] = Counter()
        self.docs = 0
        self.names: list[str] = []


class TopicModel:
    """Online topic assignment per category; ``assign`` returns the topic id."""

    def __init__(self, settings: AuditSettings, dim: int = 256) -> None:
        self._similarity = settings.topic_similarity
        self._cap = max(1, settings.max_topics_per_category)
        self._min_size = settings.min_topic_size
        self._dim = dim
        self._categories: dict[str, _Category] = {}

    def assign(self, category: str, features: TopicFeatures) -> str:
        """Put one ticket into a topic of ``category``; the topic's id."""
        state = self._categories.get(category)
        if state is None:
            state = self._categories[category] = _Category(self._dim)
        vector = numpy.frombuffer(features.vector, dtype="float16").astype("float32")
        # math.sqrt of a dot product: numpy.linalg.norm's Python wrapper costs more here.
        norm = math.sqrt(float(vector @ vector))
        state.docs += 1
        words = set(features.words)
        state.word_df.update(words)
        if len(state.word_df) > _CATEGORY_WORDS_LIMIT:
            state.word_df = Counter(dict(_top(state.word_df, _CATEGORY_WORDS_KEPT)))
        if norm == 0.0:
            return f"{category}/misc"
        vector /= norm
        index = -1
        if len(state.counts):
            sims = state.normed @ vector
            best = int(sims.argmax())
            if sims[best] >= self._similarity or len(state.counts) >= self._cap:
                index = best
        if index < 0:
            index = len(state.counts)
            state.sums = numpy.vstack([state.sums, vector[None, :]])
            state.normed = numpy.vstack([state.normed, vector[None, :]])
            state.counts.append(0)
            state.words.append(Counter())
        else:
            row = state.sums[index] + vector
            state.sums[index] = row
            state.normed[index] = row / (math.sqrt(float(row @ row)) or 1.0)
        state.counts[index] += 1
        counter = state.words[index]
        counter.update(words)
        if len(counter) > _WORDS_LIMIT:
            state.words[index] = Counter(dict(_top(counter, _WORDS_KEPT)))
        return f"{category}/{index + 1}"

    def topics(self) -> dict[str, TopicInfo]:
        """Every topic so far with its name, by id."""
        out: dict[str, TopicInfo] = {}
        for category, state in sorted(self._categories.items()):
            for index, count in enumerate(state.counts):
                words = self._name_words(state, index)
                topic_id = f"{category}/{index + 1}"
                out[topic_id] = TopicInfo(
                    id=topic_id,
                    name=" ".join(words) if words else f"{category} (mixed)",
                    category=category,
                    tickets=count,
                    words=words,
                )
            out[f"{category}/misc"] = TopicInfo(
                id=f"{category}/misc", name=f"{category} (no text)", category=category,
                tickets=state.docs - sum(state.counts), words=(),
            )
        return out

    def _name_words(self, state: _Category, index: int) -> tuple[str, ...]:
        size = state.counts[index]
        floor = max(2, math.ceil(0.2 * size)) if size >= self._min_size else 1
        scored = []
        for word, df in state.words[index].items():
            if df < floor:
                continue
            idf = math.log((state.docs + 1) / (state.word_df.get(word, 0) + 1)) + 1.0
            scored.append((-(df / size) * idf, word))
        scored.sort()
        return tuple(word for _, word in scored[:_NAME_WORDS])


def _top(counter: Counter[str], n: int) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
