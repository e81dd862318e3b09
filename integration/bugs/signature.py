"""What a bug-shaped ticket is about: its error keys and weighted terms, read from its text.

A ticket's problem is stated in its subject and the customer's first message; later messages
drift into scheduling and thanks. Terms are lemmas of ordinary words plus whole identifiers
(``S3AFileSystem``, ``HADOOP_HOME``) and their camel-case parts; the subject, identifiers,
capitalised component names (``ABFS``, ``YARN``) and the top stack-trace frames count more,
stop words and customer chit-chat not at all. The weights are raw: how rare a term is across
tickets is the grouper's business, because only it has seen the other tickets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from spacy.lang.en.stop_words import STOP_WORDS

from integration.bugs.anchors import Anchors, anchors_of
from integration.bugs.semantic import semantic_text
from integration.detect.impact import error_keys
from integration.detect.text import clean_body, lemma_of
from integration.models import Author, Ticket

__all__ = ["Signature", "problem_text", "signature", "terms_of"]

# Long pasted logs add nothing the first screenful does not say, and cost time.
MAX_CHARS = 4000
MAX_TERMS = 160
SUBJECT_WEIGHT = 2.0
IDENT_WEIGHT = 1.5
PART_WEIGHT = 0.5
FRAME_WEIGHT = 1.5
# Two reports of one bug often name different versions; a version is a hint, not an identity.
VERSION_WEIGHT = 0.5
# Frames past the first few are framework plumbing every trace shares.
FRAMES = 4

# Support chit-chat and words every bug report uses: they say nothing about which bug.
_CHATTER = frozenset(
    {
        "able", "advance", "afternoon", "anybody", "anyone", "appreciate", "asap", "bug",
        "case", "check", "currently", "customer", "day", "dear", "error", "evening",
        "everyone", "fail", "failure", "fine", "fix", "good", "great", "guy", "happen",
        "hello", "help", "hey", "hi", "hope", "issue", "kind", "kindly", "know", "let",
        "like", "look", "lot", "morning", "need", "note", "ok", "okay", "please", "pls",
        "problem", "question", "regard", "report", "seem", "soon", "support", "sure",
        "team", "thank", "thanks", "thing", "ticket", "time", "today", "try", "unable",
        "urgent", "urgently", "use", "want", "way", "week", "work", "yesterday",
        # Wiki and Markdown markup pasted with logs.
        "code", "noformat", "quote", "panel", "color", "http", "https", "www", "com",
    }
)
_STOP = frozenset(w.lower() for w in STOP_WORDS) | _CHATTER
_WORD = re.compile(r"[A-Za-z0-9_$]+")
# Versions ("1.12.316", "v4.2") and tracker keys ("HADOOP-16152", "PROJ-42") name one thing
# whole; split at the dots and dashes they would be digits, which are dropped.
_WHOLE = re.compile(r"\b(?:v?\d+(?:\.\d+){1,3}|[A-Z][A-Z0-9]+(?:-\d+)+)\b")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_JAVA_FRAME = re.compile(r"^\s*at\s+((?:[\w$]+\.)+[\w$<>]+)\(", re.MULTILINE)
_PY_FRAME = re.compile(r'File "([^"]+)", line \d+, in ([\w<>]+)')
_DIGITS = re.compile(r"\d")


@dataclass(frozen=True, kw_only=True, slots=True)
class Signature:
    """A ticket's error keys, raw (not rarity-scaled) term weights, text to embed, anchors."""

    errors: tuple[str, ...] = ()
    terms: Mapping[str, float] = field(default_factory=dict)
    text: str = ""
    anchors: Anchors = field(default_factory=Anchors)


def problem_text(ticket: Ticket) -> tuple[str, str]:
    """(subject, first customer message without quoted history or signature), bounded."""
    first = next((m for m in ticket.messages if m.author is Author.CUSTOMER), None)
    if first is None:
        first = next((m for m in ticket.messages if m.public), None)
    body = clean_body(first.body) if first is not None else ""
    return ticket.subject[:MAX_CHARS], body[:MAX_CHARS]


def signature(ticket: Ticket) -> Signature:
    """Error keys and weighted terms of one ticket."""
    subject, body = problem_text(ticket)
    raw: dict[str, float] = {}
    terms_of(subject, SUBJECT_WEIGHT, raw)
    terms_of(body, 1.0, raw)
    for frame in _frames(body):
        for part in frame:
            raw[part] = raw.get(part, 0.0) + FRAME_WEIGHT
    # Repeating a word says the problem is about it, but with diminishing returns.
    weights = {t: (1.0 + math.log(w) if w > 1.0 else w) for t, w in raw.items()}
    if len(weights) > MAX_TERMS:
        kept = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS]
        weights = dict(kept)
    errors = error_keys([subject, body])
    return Signature(errors=errors, terms=weights, text=semantic_text(subject, body),
                     anchors=anchors_of(subject, body, errors))


def terms_of(text: str, weight: float, into: dict[str, float]) -> None:
    """Add the weighted terms of ``text`` to ``into``."""
    for match in _WHOLE.finditer(text):
        term = match.group().lower().lstrip("v")
        factor = VERSION_WEIGHT if term[0].isdigit() else IDENT_WEIGHT
        into[term] = into.get(term, 0.0) + weight * factor
    for match in _WORD.finditer(text):
        word = match.group()
        found = _known.get(word)
        if found is None:
            found = _learn(word)
        for term, factor in found:
            into[term] = into.get(term, 0.0) + weight * factor


def _frames(body: str) -> list[tuple[str, ...]]:
    """Class and method names of the top stack frames (innermost first)."""
    out: list[tuple[str, ...]] = []
    for match in _JAVA_FRAME.finditer(body):
        parts = match.group(1).lower().split(".")
        out.append(tuple(p for p in parts[-2:] if p not in _STOP))
        if len(out) >= FRAMES:
            return out
    py = _PY_FRAME.findall(body)
    for path, func in py[::-1][:FRAMES]:
        name = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
        out.append((name, func.lower()))
    return out


# The terms one word gives, which depend on the word alone; tickets repeat their words.
_known: dict[str, tuple[tuple[str, float], ...]] = {}


def _learn(word: str) -> tuple[tuple[str, float], ...]:
    found = _split(word)
    if len(_known) < 200_000:
        _known[word] = found
    return found


def _split(word: str) -> tuple[tuple[str, float], ...]:
    lower = word.lower()
    if len(word) < 2 or len(word) > 40 or word.isdigit():
        return ()
    # Ids, hashes and version numbers: unique to one ticket or shared by chance.
    if len(_DIGITS.findall(word)) >= 5:
        return ()
    if word.isalpha() and (word.islower() or word.istitle()):
        if lower in _STOP:
            return ()
        lemma = lemma_of(lower)
        if lemma in _STOP or len(lemma) < 2:
            return ()
        return ((lemma, 1.0),)
    if word.isalpha() and word.isupper():
        # An acronym is a component name (ABFS, YARN) unless it is shouting (PLEASE HELP).
        if lower in _STOP or lemma_of(lower) in _STOP:
            return ()
        return ((lower, IDENT_WEIGHT),)
    # An identifier: kept whole, and its parts count a little for the reporter who spelled
    # "S3AFileSystem" as "S3A file system".
    out: dict[str, float] = {lower: IDENT_WEIGHT}
    for part in _CAMEL.findall(word.replace("_", " ").replace("$", " ")):
        p = part.lower()
        if len(p) < 3 or p.isdigit() or p in _STOP:
            continue
        lemma = lemma_of(p) if p.isalpha() else p
        if lemma not in _STOP and lemma != lower:
            out[lemma] = max(out.get(lemma, 0.0), PART_WEIGHT)
    return tuple(out.items())
