"""Trigger words misspelled by one slip of the keyboard: "cancle", "refnd", "outgae".

A slip is one letter dropped, one letter added or two neighbouring letters swapped. A
different letter in place of another is left out on purpose: that is how one real word
becomes another ("cancel" / "cancer"). A slip that is itself a word the shipped vocabulary
knows ("lawyer" without its w is "layer") is not taken for the trigger word.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

__all__ = ["MIN_LENGTH", "known_words", "slips"]

_MODEL_DIR = Path(__file__).resolve().parent / "model"
# MiniLM's word pieces, whole words among them. Not the category model's own vocabulary: it
# holds every token of the training tickets, their misspellings ("cancle", "acncel") included.
_VOCABULARY = _MODEL_DIR / "reader_minilm" / "tokenizer.json"
# Shorter words are one slip away from too many others ("sue" / "use", "hack" / "back").
MIN_LENGTH = 5
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """Lower-case alphabetic words of the shipped vocabulary (empty when it is not shipped)."""
    try:
        vocab = json.loads(_VOCABULARY.read_text(encoding="utf-8"))["model"]["vocab"]
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()
    return frozenset(w.lower() for w in vocab if isinstance(w, str) and w.isalpha())


def _one_slip(word: str) -> set[str]:
    dropped = {word[:i] + word[i + 1 :] for i in range(len(word))}
    swapped = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    added = {word[:i] + c + word[i:] for i in range(len(word) + 1) for c in _LETTERS}
    return (dropped | swapped | added) - {word}


def slips(words: Iterable[str], known: frozenset[str] | None = None) -> dict[str, str]:
    """Each one-slip misspelling of ``words`` (alphabetic, at least MIN_LENGTH letters) that
    is no known word, mapped to the word; a misspelling two words share maps to neither."""
    targets = frozenset(w for w in words if w.isalpha() and len(w) >= MIN_LENGTH)
    if known is None:
        known = known_words()
        if not known:
            return {}  # without a vocabulary, "layer" could not be told from "lawer"
    # Every detector built from the same matrix asks for the same words.
    return dict(_slips_of(targets, known))


@lru_cache(maxsize=8)
def _slips_of(targets: frozenset[str], known: frozenset[str]) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    shared: set[str] = set()
    for word in sorted(targets):
        for slip in _one_slip(word):
            if slip in known or slip in targets:
                continue
            if slip in found and found[slip] != word:
                shared.add(slip)
            found[slip] = word
    return tuple((slip, word) for slip, word in found.items() if slip not in shared)
