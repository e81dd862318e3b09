"""Meaning, not words: a ticket's sentence vector and an approximate nearest-group lookup.

Two reports of one bug can share almost no words ("Remove S3Guard" / "Decommission
S3Guard"); the shipped static sentence embeddings (``integration.detect.embedding``, distilled
from all-MiniLM-L6-v2) place them close anyway. Comparing a ticket's vector with every group
would grow with the number of groups, so groups are found through random-hyperplane LSH:
``tables`` independent hashes of ``bits`` signs each, one capped bucket per (table, hash code)
holding the groups whose members most recently hashed there. A lookup reads ``tables``
buckets, so it costs the same at any size; near vectors share a code in some table with high
probability, far ones rarely.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from functools import lru_cache

import numpy

from integration.bugs.index import Index

__all__ = ["Encoder", "LshIndex", "best_cosines", "default_encoder", "semantic_text"]

# The subject says what is wrong; the first lines of the body say where. Further down come
# logs and steps, which pull every report of a component towards the same point.
BODY_CHARS = 300

Encoder = Callable[[str], numpy.ndarray]


def semantic_text(subject: str, body: str) -> str:
    """The part of a ticket worth embedding: its subject and the start of its description."""
    return f"{subject}\n{body[:BODY_CHARS]}".strip()


@lru_cache(maxsize=1)
def default_encoder() -> Encoder:
    """The shipped static embedding model as a text -> unit vector function (loaded once)."""
    from integration.detect.embedding import EMBED_DIR, StaticEmbedder

    embedder = StaticEmbedder(EMBED_DIR)

    def encode(text: str) -> numpy.ndarray:
        row: numpy.ndarray = embedder.encode([text])[0]
        return row

    return encode


def best_cosines(
    blocks: list[tuple[numpy.ndarray, numpy.ndarray]], *, unit: numpy.ndarray,
    mean: numpy.ndarray,
) -> list[float]:
    """Per block (raw rows, their squared lengths), the best cosine with ``unit`` from ``mean``."""
    # One product for all blocks. Centring is folded in:
    # (g - m)·u = g·u - m·u and |g - m|² = |g|² - 2 g·m + |m|².
    rows = numpy.concatenate([v for v, _ in blocks])
    squares = numpy.concatenate([q for _, q in blocks])
    both = rows @ numpy.stack([unit, mean], axis=1)
    lengths = numpy.sqrt(numpy.maximum(squares - 2.0 * both[:, 1] + float(mean @ mean), 1e-12))
    cosines = (both[:, 0] - float(mean @ unit)) / lengths
    starts = numpy.cumsum([0] + [len(v) for v, _ in blocks[:-1]])
    found: list[float] = numpy.maximum.reduceat(cosines, starts).tolist()
    return found


class LshIndex:
    """Random-hyperplane LSH over unit vectors: a vector to the groups in its buckets.

    The hyperplanes come from a fixed seed, so two indexes built alike hash alike and a
    grouping is reproducible.
    """

    __slots__ = ("_bits", "_buckets", "_planes", "_tables", "_weights")

    def __init__(self, *, dim: int, tables: int, bits: int, cap: int, seed: int = 7) -> None:
        if tables < 1 or not 1 <= bits <= 62:
            raise ValueError("tables must be at least 1 and bits between 1 and 62")
        rng = numpy.random.default_rng(seed)
        self._planes = rng.standard_normal((tables * bits, dim)).astype("float32")
        self._tables = tables
        self._bits = bits
        self._weights = (1 << numpy.arange(bits, dtype="int64")).astype("int64")
        self._buckets = Index(cap=cap)

    def codes(self, vector: numpy.ndarray) -> tuple[str, ...]:
        """One bucket name per table for ``vector``."""
        signs = (self._planes @ vector > 0.0).reshape(self._tables, self._bits)
        values = signs.astype("int64") @ self._weights
        return tuple(f"{t}:{int(v)}" for t, v in enumerate(values))

    def lookup(self, tenant: str, codes: tuple[str, ...], limit: int) -> list[int]:
        """Up to ``limit`` groups sharing a bucket: most tables shared first, then most recent."""
        hits: dict[int, int] = {}
        for code in codes:
            for group in self._buckets.get(tenant, code):
                hits[group] = hits.get(group, 0) + 1
        # (tables shared, group number): the higher group of a tie is the more recent one.
        return [group for _, group in heapq.nlargest(limit, ((n, g) for g, n in hits.items()))]

    def add(self, tenant: str, codes: tuple[str, ...], group: int) -> None:
        """Record that ``group`` now has a member hashing to ``codes``."""
        for code in codes:
            self._buckets.touch(tenant, code, group)

    def __len__(self) -> int:
        return len(self._buckets)
