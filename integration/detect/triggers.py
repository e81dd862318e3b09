"""Keyword triggers matched on lemmas, with negation, resolved events and other senses removed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from integration.detect.cues import INTENT_CUES
from integration.detect.reader import KIND_WORDS, HitReader
from integration.detect.senses import INCIDENT_TRIGGERS, is_question, suppression
from integration.detect.text import Parsed, TextReader
from integration.detect.typos import slips
from integration.models import Evidence, TriggerHit, TriggerSpec

__all__ = [
    "QUESTION_ONLY",
    "LemmaMatcher",
    "Match",
    "TriggerMatcher",
    "compile_phrases",
    "read_options",
    "resolve_overlaps",
    "resolved",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class Match:
    """One phrase hit: its key and token range."""

    key: str
    start: int
    end: int


# Triggers that ask for information: "which plan includes SSO?" is plan information, "the
# invoice includes 45 seats" is not.
QUESTION_ONLY = frozenset({"plan_info"})
_GAP = "..."
_MAX_GAP = 3
# A gap never crosses these: "look at ... tools" must stay in one clause.
_GAP_STOPS = frozenset(
    [",", ";", ":", ".", "!", "?", "(", ")", "but", "however", "because", "although", "\n", "\n\n"]
)

# A pattern is a tuple of slots; a slot is the lemmas it accepts, or None for a gap of up to
# _MAX_GAP words.
_Slot = frozenset[str] | None


class LemmaMatcher:
    """Finds lemma patterns in a lemma list: a dict from first lemma to the patterns after it.

    A pattern is a sequence of slots; a slot accepts one of several lemmas ("other|another")
    and ``...`` is a gap of up to three words inside the clause, so one pattern says "look at
    other tools", "looking at some other BI tools" and "evaluate another vendor".
    """

    def __init__(self) -> None:
        self._by_first: dict[str, list[tuple[tuple[_Slot, ...], str]]] = {}

    def add(self, key: str, pattern: Sequence[frozenset[str] | None]) -> None:
        """Add one pattern (slots of accepted lemmas, None for a gap) under ``key``."""
        slots = tuple(pattern)
        if not slots or slots[0] is None:
            return
        entry = (slots[1:], key)
        for first in slots[0]:
            bucket = self._by_first.setdefault(first, [])
            if entry not in bucket:
                bucket.append(entry)

    def __call__(self, lemmas: Sequence[str]) -> list[Match]:
        """Every match, overlapping ones included."""
        return [Match(key=key, start=start, end=end) for start, end, key in self.spans(lemmas)]

    def spans(self, lemmas: Sequence[str]) -> list[tuple[int, int, str]]:
        """Every match as (start, end, key): ``__call__`` without building a ``Match`` each."""
        out: list[tuple[int, int, str]] = []
        by_first = self._by_first
        last = len(lemmas) - 1
        # Most words start no pattern: find the few that do with one set test each.
        for i in [i for i, lemma in enumerate(lemmas) if lemma in by_first]:
            for rest, key in by_first[lemmas[i]]:
                if not rest:
                    out.append((i, i + 1, key))
                    continue
                # Most patterns fail on their second word: test it here, not in a call.
                second = rest[0]
                if second is not None and (i == last or lemmas[i + 1] not in second):
                    continue
                end = _match_rest(lemmas, i + 1, rest)
                if end >= 0:
                    out.append((i, end, key))
        return out


def _match_rest(lemmas: Sequence[str], pos: int, rest: tuple[_Slot, ...]) -> int:
    # The end of the shortest match of ``rest`` from ``pos``, or -1.
    n = len(lemmas)
    for k, slot in enumerate(rest):
        if slot is None:
            for skip in range(_MAX_GAP + 1):
                at = pos + skip
                if at >= n or (skip and lemmas[at - 1] in _GAP_STOPS):
                    break
                end = _match_rest(lemmas, at, rest[k + 1 :])
                if end >= 0:
                    return end
            return -1
        if pos >= n or lemmas[pos] not in slot:
            return -1
        pos += 1
    return pos


def compile_phrases(
    reader: TextReader, matcher: LemmaMatcher, key: str, words: Iterable[str],
    *, known: Mapping[str, list[str]] | None = None,
) -> None:
    """Add lemma patterns for ``words`` under ``key`` (lower-cased, deduplicated).

    In a phrase, ``a|b`` accepts either word and ``...`` is a short gap; a hyphenated pair
    also matches written apart or joined ("law-enforcement", "law enforcement").
    ``known``: ``read_options`` of these words, read beforehand with others.
    """
    texts = list(dict.fromkeys(w.strip().lower() for w in words if w.strip()))
    read = known if known is not None else read_options(reader, texts)
    for text in texts:
        slots: list[frozenset[str] | None] = []
        for part in text.split():
            if part == _GAP:
                slots.append(None)
                continue
            options = [read[option] for option in part.split("|") if option]
            width = max((len(o) for o in options), default=0)
            if width == 1:
                slots.append(frozenset(o[0] for o in options))
            else:
                # A multi-word option inside alternatives: add each option as its own phrase.
                for option in options:
                    rest = text.replace(part, " ".join(option), 1)
                    compile_phrases(reader, matcher, key, [rest])
                slots = []
                break
        if slots:
            matcher.add(key, slots)
            if any(s is not None and "-" in s for s in slots):
                matcher.add(key, [s for s in slots if s != frozenset({"-"})])


def read_options(reader: TextReader, texts: Iterable[str]) -> dict[str, list[str]]:
    """Each word option of the phrases ``texts`` (lower-cased) and its lemmas, read at once."""
    texts = [t.strip().lower() for t in texts]
    options = list(dict.fromkeys(
        option for text in texts for part in text.split() if part != _GAP
        for option in part.split("|") if option
    ))
    # One tokenizer call for all of them: a call has a fixed cost, and a matrix has
    # thousands of phrase words to read when the detector is built.
    return {
        option: [lemma for lemma, word in zip(parsed.lemmas, parsed.words, strict=True)
                 if word.strip()]
        for option, parsed in zip(options, reader.read_all(options), strict=True)
    }


def resolve_overlaps(doc: Parsed, matcher: LemmaMatcher) -> list[Match]:
    """Matches in text order; a longer match hides the shorter ones it overlaps.

    "breach of contract" (legal) hides "breach" (security); two keys on the same span stay.
    """
    return [Match(key=key, start=start, end=end) for start, end, key in resolved(doc, matcher)]


def resolved(
    doc: Parsed, matcher: LemmaMatcher, lemmas: list[str] | None = None
) -> list[tuple[int, int, str]]:
    """``resolve_overlaps`` as (start, end, key) tuples, for the detector's inner loops;
    ``lemmas`` in place of the doc's (with misspellings corrected)."""
    raw = matcher.spans(doc.lemmas if lemmas is None else lemmas)
    if len(raw) < 2:
        return raw
    raw.sort(key=lambda m: (m[0] - m[1], m[0]))
    kept: list[tuple[int, int, str]] = []
    for start, end, key in raw:
        hidden = False
        for k_start, k_end, k_key in kept:
            if (
                k_start < end
                and start < k_end
                and (k_end - k_start > end - start or k_key == key)
            ):
                hidden = True
                break
        if not hidden:
            kept.append((start, end, key))
    kept.sort(key=lambda m: (m[0], m[1]))
    return kept


# With fewer words than this around the match ("our lawyer", "Cancel."), there is nothing to
# read: the rules' verdict stands.
_MIN_CONTEXT = 2


def _has_context(doc: Parsed, start: int, end: int) -> bool:
    lo, hi = doc.sentence(start)
    words = doc.words
    around = sum(1 for i in range(lo, hi) if not start <= i < end and words[i].strip())
    return around >= _MIN_CONTEXT


class TriggerMatcher:
    """Finds the matrix's triggers in parsed text and explains the ones it discards."""

    def __init__(self, reader: TextReader, specs: Sequence[TriggerSpec]) -> None:
        self._matcher = LemmaMatcher()
        self.ids = tuple(dict.fromkeys(s.id for s in specs))
        words = {s.id: (*s.lemmas, *s.phrases, *INTENT_CUES.get(s.id, ())) for s in specs}
        known = read_options(reader, (w for spec_words in words.values() for w in spec_words))
        for spec in specs:
            compile_phrases(reader, self._matcher, spec.id, words[spec.id], known=known)
        # "pls cancle my membrship": a trigger word one keyboard slip away still counts.
        self._slips = slips(lemma.lower() for spec in specs for lemma in spec.lemmas)

    def candidates(self, doc: Parsed) -> list[tuple[int, int, str, str | None]]:
        """Every match as (start, end, key, why the rules discard it or None)."""
        out: list[tuple[int, int, str, str | None]] = []
        if not self.ids:
            return out
        lemmas = doc.lemmas
        if not self._slips.keys().isdisjoint(doc.lower):
            lemmas = [self._slips.get(word, lemma) for word, lemma in zip(doc.lower, lemmas,
                                                                          strict=True)]
        for start, end, key in resolved(doc, self._matcher, lemmas):
            why = suppression(doc, start, end, incident=key in INCIDENT_TRIGGERS, trigger=key)
            if why is None and key in QUESTION_ONLY and not is_question(doc, start):
                why = "not in a question"
            out.append((start, end, key, why))
        return out

    def find(
        self,
        doc: Parsed,
        message_id: str | None,
        suppressed: list[tuple[int, int]] | None = None,
        *,
        reader: HitReader | None = None,
        later: Sequence[str] = (),
        mentioned: list[tuple[str, int, int]] | None = None,
    ) -> tuple[list[TriggerHit], list[Evidence]]:
        """Hits that count, plus evidence for each match discarded and why.

        ``suppressed``, when given, receives the token span of every discarded match. With a
        ``reader``, a match the rules keep counts only when the reader takes it as live;
        ``later`` is the lemmas of the customer's later messages (a retraction lives there);
        ``mentioned``, when given, receives (key, start, end) of every match the reader
        discarded.
        """
        hits: list[TriggerHit] = []
        dropped: list[Evidence] = []
        for start, end, key, why in self.candidates(doc):
            span = doc.span_text(start, end)
            sentence = doc.sentence_text(start)
            reading = ""
            if (
                why is None
                and reader is not None
                and reader.knows(doc, start, end, key)
                and _has_context(doc, start, end)
            ):
                verdict = reader.read(doc, start, end, key, later=later)
                if verdict.counts:
                    reading = f"read as live, p={verdict.live:.2f}"
                else:
                    why = f"is {KIND_WORDS[verdict.kind]} (live p={verdict.live:.2f})"
                    if mentioned is not None:
                        mentioned.append((key, start, end))
            elif why is not None and mentioned is not None:
                mentioned.append((key, start, end))
            if why is None:
                hits.append(
                    TriggerHit(trigger=key, match=span, sentence=sentence,
                               message_id=message_id, reading=reading)
                )
            else:
                if suppressed is not None:
                    suppressed.append((start, end))
                dropped.append(
                    Evidence(
                        kind="trigger_ignored",
                        text=f"{key}: {span!r} {why} in {sentence!r}",
                    )
                )
        return hits, dropped
