"""The spaCy pipeline detection reads with, and the clean-up of what customers write.

The pipeline is ``spacy.blank("en")`` plus two components of ours: a case-insensitive
lemmatizer (spaCy's English lookup table from ``spacy-lookups-data``, with a rule fallback for
product words the table lacks, such as "webhooks") and sentence boundaries at punctuation and
line breaks. It is built once per process and shared by every ``Detector``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.lookups import load_lookups
from spacy.tokens import Doc

from integration.errors import ConfigurationError

__all__ = ["build_pipeline", "clean_body", "lemma_of", "pipeline"]

# Where the lookup table's answer is wrong for support language, or hides a negation.
_OVERRIDES = {
    "n't": "not",
    "nt": "not",
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
    """Sets ``token.lemma_`` to a lower-case lemma: lookup table, then regular-inflection rules."""

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

    def __call__(self, doc: Doc) -> Doc:
        lemmas = [self.lemma(token.text) for token in doc]
        for token, lemma in zip(doc, lemmas, strict=True):
            token.lemma_ = lemma
        # Detection reads lemmas as a plain list; building it here saves a pass over tokens.
        doc.user_data["escalade_lemmas"] = lemmas
        return doc


@Language.component("escalade_newline_sentences")
def _newline_sentences(doc: Doc) -> Doc:
    """Start a new sentence after every line break: tickets are written in lines."""
    if "\n" not in doc.text:
        return doc
    for token in doc[:-1]:
        if token.is_space and "\n" in token.text:
            doc[token.i + 1].is_sent_start = True
    return doc


@lru_cache(maxsize=1)
def _lemma_table() -> Callable[[str], str | None]:
    try:
        table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
    except (ValueError, KeyError, ImportError) as err:
        raise ConfigurationError(
            "spaCy's English lemma table is missing: install the spacy-lookups-data package"
        ) from err
    return table.get


@Language.factory("escalade_lemmatizer")
def _make_lemmatizer(nlp: Language, name: str) -> CaseInsensitiveLemmatizer:
    return CaseInsensitiveLemmatizer(_lemma_table())


def build_pipeline() -> Language:
    """Build the blank English pipeline with sentence boundaries and our lemmatizer."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("escalade_newline_sentences")
    nlp.add_pipe("escalade_lemmatizer")
    return nlp


@lru_cache(maxsize=1)
def pipeline() -> Language:
    """The process-wide pipeline (built on first use, about 0.2 s)."""
    return build_pipeline()


def lemma_of(word: str) -> str:
    """The lemma our pipeline gives one word (used to compile cue lists)."""
    lemmatizer = pipeline().get_pipe("escalade_lemmatizer")
    assert isinstance(lemmatizer, CaseInsensitiveLemmatizer)
    return lemmatizer.lemma(word)


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
