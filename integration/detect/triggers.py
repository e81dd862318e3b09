"""Keyword triggers matched on lemmas, with negation, resolved events and other senses removed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from integration.detect.cues import INTENT_CUES
from integration.detect.senses import INCIDENT_TRIGGERS, suppression
from integration.models import Evidence, TriggerHit, TriggerSpec

__all__ = ["Match", "TriggerMatcher", "compile_phrases", "resolve_overlaps"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Match:
    """One phrase-matcher hit: its key and token range."""

    key: str
    start: int
    end: int


def compile_phrases(nlp: Language, matcher: PhraseMatcher, key: str, words: Iterable[str]) -> None:
    """Add lemma patterns for ``words`` under ``key`` (lower-cased, deduplicated)."""
    texts = list(dict.fromkeys(w.strip().lower() for w in words if w.strip()))
    if texts:
        matcher.add(key, list(nlp.pipe(texts)))


def resolve_overlaps(doc: Doc, matcher: PhraseMatcher) -> list[Match]:
    """Matches in text order; a longer match hides the shorter ones it overlaps.

    "breach of contract" (legal) hides "breach" (security); two keys on the same span stay.
    """
    raw = [
        Match(key=doc.vocab.strings[key_id], start=start, end=end)
        for key_id, start, end in matcher(doc)
    ]
    raw.sort(key=lambda m: (m.start - m.end, m.start))
    kept: list[Match] = []
    for m in raw:
        hidden = any(
            k.start < m.end
            and m.start < k.end
            and (k.end - k.start > m.end - m.start or k.key == m.key)
            for k in kept
        )
        if not hidden:
            kept.append(m)
    kept.sort(key=lambda m: (m.start, m.end))
    return kept


class TriggerMatcher:
    """Finds the matrix's triggers in parsed text and explains the ones it discards."""

    def __init__(self, nlp: Language, specs: Sequence[TriggerSpec]) -> None:
        self._matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self.ids = tuple(dict.fromkeys(s.id for s in specs))
        for spec in specs:
            words = (*spec.lemmas, *spec.phrases, *INTENT_CUES.get(spec.id, ()))
            compile_phrases(nlp, self._matcher, spec.id, words)

    def find(self, doc: Doc, message_id: str | None) -> tuple[list[TriggerHit], list[Evidence]]:
        """Hits that count, plus evidence for each match discarded and why."""
        hits: list[TriggerHit] = []
        dropped: list[Evidence] = []
        if not self.ids:
            return hits, dropped
        for m in resolve_overlaps(doc, self._matcher):
            span = doc[m.start : m.end]
            sentence = span.sent.text.strip()
            why = suppression(doc, m.start, m.end, incident=m.key in INCIDENT_TRIGGERS)
            if why is None:
                hits.append(
                    TriggerHit(
                        trigger=m.key, match=span.text, sentence=sentence, message_id=message_id
                    )
                )
            else:
                dropped.append(
                    Evidence(
                        kind="trigger_ignored",
                        text=f"{m.key}: {span.text!r} {why} in {sentence!r}",
                    )
                )
        return hits, dropped
