"""How detection reads text: spaCy's tokenizer, then plain lists, and customer-text clean-up.

``spacy.blank("en")`` tokenizes; the rest runs over plain Python lists (``Parsed``): a
case-insensitive lemmatizer (spaCy's English lookup table from ``spacy-lookups-data``, with a
rule fallback for product words the table lacks, such as "webhooks") and sentence boundaries
at end punctuation (spaCy's sentencizer rule) and line breaks. Built once per process.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import spacy
from spacy.attrs import IDX, SPACY
from spacy.language import Language
from spacy.pipeline.sentencizer import Sentencizer
from spacy.util import load_language_data, registry

from integration.errors import ConfigurationError

__all__ = [
    "Parsed",
    "TextReader",
    "build_pipeline",
    "clean_body",
    "lemma_of",
    "pipeline",
    "reader",
]

# Where the lookup table's answer is wrong for support language, or hides a negation.
_OVERRIDES = {
    "n't": "not",
    "nt": "not",
    # The table cuts "-ing" off words that are not verbs: "nothing" must stay a negator.
    "nothing": "nothing",
    "something": "something",
    "anything": "anything",
    "everything": "everything",
    "morning": "morning",
    "evening": "evening",
    "during": "during",
    "ca": "can",
    "wo": "will",
    "cannot": "can not",
    "data": "data",
    "billing": "billing",
    "settings": "settings",
    "setting": "setting",
    "better": "better",
    "best": "best",
    "worse": "worse",
    "worst": "worst",
    "logins": "login",
    "signup": "signup",
    "signups": "signup",
    "saas": "saas",
    "sso": "sso",
    "api": "api",
    "apis": "api",
    "os": "os",
    "sued": "sue",
    "suing": "sue",
    "onboarding": "onboarding",
    "renewal": "renewal",
    "renewals": "renewal",
}
# Negative contractions the tokenizer leaves whole when they are typed in capitals.
_NEG_CONTRACTIONS = re.compile(r"^[a-z]+n['’]t$")
_NOT_CONTRACTIONS = frozenset({"aint", "cant", "dont", "wont", "isnt", "didnt", "doesnt"})
_SUFFIX_RULES = (
    ("ies", "y"),
    ("ied", "y"),
    ("sses", "ss"),
    ("ing", ""),
    ("ed", ""),
    ("es", ""),
    ("s", ""),
)
_KEEP_ENDINGS = ("ss", "us", "is", "os", "as")
_JOIN = "\n\n"


def _rule_lemma(word: str, table: Callable[[str], str | None]) -> str:
    """Strip regular inflection from a word the lookup table does not know."""
    if len(word) <= 3 or not word.isalpha() or word.endswith(_KEEP_ENDINGS):
        return word
    for suffix, repl in _SUFFIX_RULES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)] + repl
            known = table(stem)
            if known is not None:
                return known
            if suffix in ("s", "ies", "sses"):
                return stem
            # "webhooked" -> "webhook"; doubled consonants: "pinged" fine, "blocked" fine.
            if suffix in ("ed", "ing") and len(stem) >= 4 and stem[-1] == stem[-2]:
                return stem[:-1]
            return stem if suffix in ("ed", "ing", "ied") else word
    return word


class CaseInsensitiveLemmatizer:
    """The lower-case lemma of a word: lookup table, then regular-inflection rules (memoized)."""

    def __init__(self, table: Callable[[str], str | None]) -> None:
        self._table = table
        self._memo: dict[str, str] = {}

    def lemma(self, word: str) -> str:
        """The lower-case lemma of one word."""
        lower = word.lower()
        found = self._memo.get(lower)
        if found is not None:
            return found
        if lower in _OVERRIDES:
            found = _OVERRIDES[lower]
        elif lower in _NOT_CONTRACTIONS or _NEG_CONTRACTIONS.match(lower):
            found = "can not" if lower.startswith("can") else "not"
        else:
            known = self._table(lower)
            found = known.lower() if known is not None else _rule_lemma(lower, self._table)
        if len(self._memo) < 200_000:
            self._memo[lower] = found
        return found


class Parsed:
    """One text read into plain lists (words, lower case, lemmas, offsets, sentences).

    Detection runs its rules over these lists: a spaCy ``Token`` is a new Python object on
    every access, which made reading tokens the largest cost of triage.
    """

    __slots__ = (
        "_lemma_set",
        "facts",
        "idx",
        "lemmas",
        "lower",
        "memo",
        "sent_index",
        "sents",
        "text",
        "words",
    )

    def __init__(
        self,
        text: str,
        words: list[str],
        lemmas: list[str],
        idx: list[int],
        sents: list[tuple[int, int]],
        lower: list[str] | None = None,
    ) -> None:
        self.text = text
        self.words = words
        self.lower = [w.lower() for w in words] if lower is None else lower
        self.lemmas = lemmas
        self.idx = idx
        self.sents = sents
        index: list[int] = []
        for n, (start, end) in enumerate(sents):
            index += [n] * (end - start)
        self.sent_index = index
        # Per-sentence facts computed once by the rules that need them (e.g. "is a question").
        self.memo: dict[tuple[str, int], bool] = {}
        # Per-text facts derived once by the rules that need them (e.g. clause boundaries).
        self.facts: dict[str, object] = {}
        self._lemma_set: frozenset[str] | None = None

    @property
    def lemma_set(self) -> frozenset[str]:
        """Every lemma of the text, for rules that first ask whether a word occurs at all."""
        found = self._lemma_set
        if found is None:
            found = self._lemma_set = frozenset(self.lemmas)
        return found

    def __len__(self) -> int:
        return len(self.words)

    def span_text(self, start: int, end: int) -> str:
        """The original text of tokens ``start`` to ``end`` (exclusive)."""
        if start >= end:
            return ""
        return self.text[self.idx[start] : self.idx[end - 1] + len(self.words[end - 1])]

    def sentence(self, i: int) -> tuple[int, int]:
        """(start, end) of the sentence that holds token ``i``."""
        return self.sents[self.sent_index[i]]

    def sentence_text(self, i: int) -> str:
        """The stripped text of the sentence that holds token ``i``."""
        start, end = self.sents[self.sent_index[i]]
        return self.span_text(start, end).strip()

    def char_span(self, begin: int, end: int) -> tuple[int, int]:
        """Token range covering characters ``begin`` to ``end`` (partly covered tokens count)."""
        return bisect_right(self.idx, begin) - 1 if self.idx else 0, bisect_left(self.idx, end)


class TextReader:
    """Tokenizes with spaCy, then lemmatizes and splits sentences over plain lists."""

    def __init__(self, nlp: Language, lemmatizer: CaseInsensitiveLemmatizer) -> None:
        self._tokenizer = nlp.tokenizer
        self._vocab = nlp.vocab
        self._lemmatizer = lemmatizer
        self._punct = frozenset(Sentencizer.default_punct_chars)
        # What a token's text always gives: (lower case, lemma, is_punct, is_space). The flags
        # belong to the word's lexeme, so they are the same for every token of that text.
        self._known: dict[str, tuple[str, str, bool, bool]] = {}

    def read(self, text: str) -> Parsed:
        """Parse one text."""
        return self.read_all([text])[0]

    def read_all(self, texts: Sequence[str]) -> list[Parsed]:
        """Parse several texts with one tokenizer call (each call has a fixed cost).

        The texts are joined with blank lines, which the tokenizer keeps as separate space
        tokens, and cut apart again by character offset; a text's own leading and trailing
        whitespace is dropped.
        """
        texts = [t.strip() for t in texts]
        words, starts = self._tokens(_JOIN.join(texts))
        known = self._known
        learn = self._learn
        out: list[Parsed] = []
        offset = first = 0
        for text in texts:
            end = offset + len(text)
            first = bisect_left(starts, offset, first)
            last = bisect_left(starts, end, first)
            part = words[first:last]
            facts = [known.get(w) or learn(w) for w in part]
            idx = starts[first:last]
            out.append(
                Parsed(
                    text,
                    part,
                    [f[1] for f in facts],
                    [i - offset for i in idx] if offset else idx,
                    self._sentences(text, part, facts),
                    [f[0] for f in facts],
                )
            )
            offset = end + len(_JOIN)
            first = last
        return out

    def _tokens(self, text: str) -> tuple[list[str], list[int]]:
        """The text and character offset of every token of ``text``."""
        doc = self._tokenizer(text)
        # Offsets and trailing-space flags come out as one array: iterating over the Doc
        # builds a Token object per token, which cost more than the rest of reading. Tokens
        # tile the text, so each token is the text up to the next one, minus its space.
        if not len(doc):
            return [], []
        array: Any = doc.to_array([IDX, SPACY])
        flat: list[int] = memoryview(array.ravel()).tolist()
        starts = flat[0::2]
        ends = starts[1:]
        ends.append(len(text))
        words = [
            text[start : end - space]
            for start, end, space in zip(starts, ends, flat[1::2], strict=True)
        ]
        return words, starts

    def _learn(self, word: str) -> tuple[str, str, bool, bool]:
        lexeme = self._vocab[word]
        found = (word.lower(), self._lemmatizer.lemma(word), lexeme.is_punct, lexeme.is_space)
        if len(self._known) < 200_000:
            self._known[word] = found
        return found

    def _sentences(
        self, text: str, words: list[str], facts: list[tuple[str, str, bool, bool]]
    ) -> list[tuple[int, int]]:
        # spaCy's Sentencizer rule (a sentence starts after a run of end punctuation), plus a
        # start after every line break: tickets are written in lines.
        count = len(words)
        if not count:
            return []
        punct = self._punct
        starts = {0}
        after = 0
        for at in [i for i, w in enumerate(words) if w in punct]:
            if at < after:
                continue
            # The run of punctuation from here ends at the first other token, which starts a
            # sentence.
            after = at + 1
            while after < count and (facts[after][2] or words[after] in punct):
                after += 1
            if after < count:
                starts.add(after)
        if "\n" in text:
            last = count - 1
            for i, word in enumerate(words):
                if i < last and "\n" in word and facts[i][3]:
                    starts.add(i + 1)
        ordered = sorted(starts)
        ordered.append(count)
        return list(zip(ordered, ordered[1:], strict=False))


@lru_cache(maxsize=1)
def _lemma_table() -> Callable[[str], str | None]:
    # The table as the plain dict it is stored as: spaCy's lookup table would hash each of
    # its 40,000 words on load, and a word's lemma is the same either way.
    try:
        table = load_language_data(registry.lookups.get("en")["lemma_lookup"])
    except (ValueError, KeyError, ImportError) as err:
        raise ConfigurationError(
            "spaCy's English lemma table is missing: install the spacy-lookups-data package"
        ) from err
    if not isinstance(table, dict):
        raise ConfigurationError("spaCy's English lemma table is not a word-to-lemma mapping")
    return table.get


def build_pipeline() -> Language:
    """Build the blank English pipeline; detection uses its tokenizer and vocabulary."""
    return spacy.blank("en")


@lru_cache(maxsize=1)
def pipeline() -> Language:
    """The process-wide blank pipeline (built on first use)."""
    return build_pipeline()


@lru_cache(maxsize=1)
def reader() -> TextReader:
    """The process-wide text reader (the lemma table loads on first use, about 0.2 s)."""
    return TextReader(pipeline(), CaseInsensitiveLemmatizer(_lemma_table()))


def lemma_of(word: str) -> str:
    """The lemma our reader gives one word (used to compile cue lists)."""
    return reader()._lemmatizer.lemma(word)


# --- quoted history and signatures ----------------------------------------------------------

_QUOTE_HEADER = re.compile(
    r"^\s*(on\b.{0,200}\bwrote:\s*$|-{2,}\s*original message\s*-{2,}|_{10,}\s*$"
    r"|from:\s.+$)",
    re.IGNORECASE,
)
_WROTE_NEXT = re.compile(r"^\s*.{0,120}\bwrote:\s*$", re.IGNORECASE)
_SIGNATURE = re.compile(
    r"^\s*(--|-- |—|sent from my \w+|get outlook for \w+|sent via \w+)\s*$", re.IGNORECASE
)
_SIGN_OFF = re.compile(
    r"^\s*((best|kind|warm|many)?\s*regards|cheers|sincerely|best|thanks|thank you|thx)"
    r"\s*[,.!]?\s*$",
    re.IGNORECASE,
)


def clean_body(body: str) -> str:
    """Drop quoted e-mail history (``>`` lines, "On ... wrote:") and the signature."""
    lines = body.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _QUOTE_HEADER.match(line) or _SIGNATURE.match(line):
            break
        wraps = line.lstrip().lower().startswith("on ") and "wrote:" not in line.lower()
        if wraps and i + 1 < len(lines) and _WROTE_NEXT.match(lines[i + 1]):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    # A sign-off near the end starts the signature block; what follows is a name and title.
    for i in range(max(0, len(kept) - 5), len(kept)):
        if _SIGN_OFF.match(kept[i]) and i > 0:
            kept = kept[: i + 1]
            break
    return "\n".join(kept).strip()
