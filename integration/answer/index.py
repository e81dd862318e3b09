"""The knowledge index: BM25 over documents and their passages, plus static-embedding vectors.

Built once per workspace's knowledge (a few seconds for thousands of articles) and picklable, so
a process can keep it and rebuild it when the knowledge changes. A document is searched as a
whole (its title counts three times) and as passages: paragraphs, groups of steps, or pairs of
sentences, so that the check reads the sentences that answer rather than the whole article.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy

from integration.answer.text import content_terms, content_words
from integration.answer.types import KnowledgeDoc

__all__ = ["PREFIX", "Hit", "KnowledgeIndex", "Passage", "split_passages"]

_K1 = 1.2
_B = 0.75
_TITLE_WEIGHT = 3
_STEP = re.compile(r"^\s*(?:\d+[.)]|[-*•]|step \d+)", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_LONG_PARAGRAPH_WORDS = 60
PREFIX = 6


@dataclass(frozen=True, slots=True)
class Passage:
    """A piece of one document: its index in the index's documents and its text."""

    doc: int
    text: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A candidate document for a query with the scores it was found by."""

    doc: int
    bm25: float
    cosine: float


def _paragraphs(body: str) -> list[str]:
    """Lines joined into paragraphs; a run of step lines stays with the line that leads it."""
    out: list[str] = []
    for line in (raw.strip() for raw in body.splitlines()):
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        if out and out[-1] and _STEP.match(line):
            out[-1] = f"{out[-1]}\n{line}"
        elif out and out[-1] and not _STEP.match(out[-1].splitlines()[-1]) \
                and not out[-1].endswith((".", "?", "!", ":")):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return [p for p in out if p]


def split_passages(body: str) -> list[str]:
    """The passages of a body: paragraphs, and long prose paragraphs cut in sentence pairs."""
    out: list[str] = []
    for paragraph in _paragraphs(body):
        if "\n" in paragraph or len(paragraph.split()) <= _LONG_PARAGRAPH_WORDS:
            out.append(paragraph)
            continue
        found = [s for s in _SENTENCE.split(paragraph) if s.strip()]
        out.extend(" ".join(found[i:i + 2]) for i in range(0, max(len(found) - 1, 1)))
    return out or [body]


class _Bm25:
    """BM25 weights of a collection, kept as one postings array per term."""

    def __init__(self, bags: Sequence[Counter[str]]) -> None:
        self.size = len(bags)
        lengths = numpy.array([sum(b.values()) for b in bags], dtype="float32")
        average = float(lengths.mean()) if self.size else 1.0
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for n, bag in enumerate(bags):
            norm = _K1 * (1 - _B + _B * float(lengths[n]) / max(average, 1.0))
            for term, count in bag.items():
                ids, weights = postings.setdefault(term, ([], []))
                ids.append(n)
                weights.append(count * (_K1 + 1) / (count + norm))
        self.idf: dict[str, float] = {}
        self.postings: dict[str, tuple[numpy.ndarray, numpy.ndarray]] = {}
        for term, (ids, weights) in postings.items():
            idf = math.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))
            self.idf[term] = idf
            self.postings[term] = (numpy.array(ids, dtype="int32"),
                                   numpy.array(weights, dtype="float32") * idf)

    def scores(self, query: Iterable[str]) -> numpy.ndarray:
        """The BM25 score of every item for the query terms (each counted once)."""
        out = numpy.zeros(self.size, dtype="float32")
        for term in set(query):
            found = self.postings.get(term)
            if found is not None:
                out[found[0]] += found[1]
        return out

    def ceiling(self, query: Iterable[str]) -> float:
        """The score an item holding every query term would about reach, to scale scores."""
        return sum(self.idf.get(t, 0.0) for t in set(query)) * (_K1 + 1) / 2 or 1.0


class KnowledgeIndex:
    """Documents searchable by words (BM25) and by meaning (embedding cosine)."""

    def __init__(self, docs: Sequence[KnowledgeDoc], embedder: Any) -> None:
        self.docs: tuple[KnowledgeDoc, ...] = tuple(docs)
        self.embedder = embedder
        self.doc_terms: list[frozenset[str]] = []
        # "reconcile" and "reconciliation", "notify" and "notification" share their start.
        self.doc_prefixes: list[frozenset[str]] = []
        self.title_terms: list[frozenset[str]] = []
        bags: list[Counter[str]] = []
        passages: list[Passage] = []
        self.doc_sentences: list[tuple[tuple[str, frozenset[str]], ...]] = []
        for n, doc in enumerate(self.docs):
            title = content_terms(f"{doc.title} {doc.section or ''}")
            body = content_terms(doc.body)
            bags.append(Counter(title * _TITLE_WEIGHT + body))
            self.doc_terms.append(frozenset(title + body))
            self.doc_prefixes.append(frozenset(t[:PREFIX] for t in title + body
                                               if len(t) >= PREFIX))
            self.title_terms.append(frozenset(content_terms(doc.title)))
            passages.extend(Passage(n, text) for text in split_passages(doc.body))
            self.doc_sentences.append(tuple(
                (text, frozenset(content_terms(text)))
                for text in (s.strip() for s in _SENTENCE.split(doc.body))
                if text))
        self.passages: tuple[Passage, ...] = tuple(passages)
        self.passage_terms = [frozenset(content_terms(p.text)) for p in passages]
        self.doc_bm25 = _Bm25(bags)
        self.passage_bm25 = _Bm25([Counter(content_terms(p.text)) for p in passages])
        self.by_doc: list[list[int]] = [[] for _ in self.docs]
        for i, passage in enumerate(passages):
            self.by_doc[passage.doc].append(i)
        self._words(embedder)
        self.doc_vectors = embedder.encode([f"{d.title}. {d.title}. {d.body}" for d in self.docs])
        titles = {n: self.docs[n].title for n in range(len(self.docs))}
        self.passage_vectors = embedder.encode(
            [f"{titles[p.doc]}. {p.text}" for p in passages])

    def _words(self, embedder: Any) -> None:
        """Every document's distinct words with one vector each, to match words by meaning."""
        vocabulary: dict[str, int] = {}
        self.doc_words: list[numpy.ndarray] = []
        # Per document: where each sentence's words are in ``doc_words``, one sentence after
        # another, and where each sentence starts in that run.
        self.sentence_words: list[tuple[numpy.ndarray, numpy.ndarray]] = []
        for n, doc in enumerate(self.docs):
            words = content_words(f"{doc.title} {doc.body}")
            ids = [vocabulary.setdefault(w, len(vocabulary)) for w in words]
            self.doc_words.append(numpy.array(ids, dtype="int32"))
            place = {w: i for i, w in enumerate(words)}
            found = [[place[w] for w in content_words(text) if w in place]
                     for text, _ in self.doc_sentences[n]]
            found = [f for f in found if f]
            starts = numpy.cumsum([0] + [len(f) for f in found[:-1]])
            self.sentence_words.append((
                numpy.array([i for f in found for i in f], dtype="int32"),
                numpy.array(starts if found else [], dtype="int32")))
        self.word_vectors = embedder.encode(list(vocabulary)) if vocabulary \
            else numpy.zeros((0, embedder.dim), dtype="float32")

    def word_match(self, doc: int, vectors: numpy.ndarray) -> numpy.ndarray:
        """How close in meaning each given word is to each of the document's words."""
        ids = self.doc_words[doc]
        out: numpy.ndarray = vectors @ self.word_vectors[ids].T
        return out

    @classmethod
    def build(cls, docs: Sequence[KnowledgeDoc], embedder: Any = None) -> KnowledgeIndex:
        """An index of the documents, with the shipped embedding model unless one is given."""
        if embedder is None:
            from integration.detect.embedding import default_embedding_model

            embedder = default_embedding_model().embedder
        return cls(docs, embedder)

    def __getstate__(self) -> dict[str, Any]:
        # The embedding model is shared and loaded once per process: it is not pickled.
        state = dict(self.__dict__)
        state["embedder"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.embedder is None:
            from integration.detect.embedding import default_embedding_model

            self.embedder = default_embedding_model().embedder

    def vector(self, text: str) -> numpy.ndarray:
        """The embedding of a text."""
        out: numpy.ndarray = self.embedder.encode([text])[0]
        return out

    def search(self, query: Sequence[str], vector: numpy.ndarray, *, limit: int = 8) -> list[Hit]:
        """The best documents by words and by meaning, merged, best first."""
        if not self.docs:
            return []
        bm25 = self.doc_bm25.scores(query) / self.doc_bm25.ceiling(query)
        cosine = self.doc_vectors @ vector
        fused = bm25 / max(float(bm25.max()), 1e-6) + 2.0 * cosine
        count = min(limit, len(self.docs))
        top = numpy.argpartition(-fused, count - 1)[:count]
        top = top[numpy.argsort(-fused[top])]
        return [Hit(int(n), float(bm25[n]), float(cosine[n])) for n in top]

    def passage_scores(self, doc: int, query: Sequence[str],
                       vector: numpy.ndarray) -> list[tuple[int, float, float]]:
        """Each passage of a document with its word overlap (share of query terms) and cosine."""
        wanted = set(query)
        out = []
        for i in self.by_doc[doc]:
            overlap = len(wanted & self.passage_terms[i]) / max(len(wanted), 1)
            out.append((i, overlap, float(self.passage_vectors[i] @ vector)))
        return out
