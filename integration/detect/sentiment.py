"""Sentiment of customer messages in [-1, 1], tuned for support tickets.

Valences come from the VADER lexicon (``vaderSentiment`` package, MIT) read once; the scoring
runs over our spaCy tokens with VADER's ideas (negation flips, boosters, "but" shifts weight,
capitals and "!!!" amplify) plus what support conversations add: profanity, threats to leave,
"unacceptable", "third time I'm writing", sarcasm such as "great, thanks for nothing". Words
that are neutral in a ticket ("please", "help", "support", "free plan", "error") are damped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from spacy.tokens import Doc, Span

from integration.detect.senses import sentence_bounds
from integration.errors import ConfigurationError

__all__ = ["SentenceScore", "lexicon", "score_doc", "score_sentence"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Support-ticket corrections to the general-purpose lexicon.
_OVERRIDES = {
    "please": 0.0,
    "help": 0.0,
    "support": 0.0,
    "want": 0.0,
    "like": 0.3,
    "free": 0.0,
    "kind": 0.0,
    "sure": 0.2,
    "care": 0.0,
    "credit": 0.0,
    "share": 0.0,
    "save": 0.3,
    "matter": 0.0,
    "pretty": 0.0,
    "no": 0.0,
    "cancel": 0.0,
    "stop": -0.3,
    "god": 0.0,
    "ok": 0.5,
    "okay": 0.5,
    "yes": 0.3,
    "best": 0.8,
    "welcome": 0.5,
    "urgent": -0.5,
    "block": -0.8,
    "demand": -1.0,
    "thanks": 1.0,
    "thank": 1.0,
    "joke": -2.0,
    "unbelievable": -2.0,
    "problem": -0.9,
    "error": -0.7,
    "fail": -1.0,
    "failed": -1.0,
    "trouble": -0.8,
    "wrong": -1.0,
    "issue": -0.4,
    "bug": -0.6,
    "lost": -1.0,
    "stuck": -1.0,
    "hard": -0.2,
    "complaint": -2.0,
    "complain": -2.0,
    "reclamation": -1.5,
    "garbage": -3.0,
    "trash": -2.8,
    "useless": -2.6,
    "unacceptable": -3.0,
    "ridiculous": -2.6,
    "pathetic": -3.0,
    "incompetent": -3.0,
    "unusable": -3.0,
    "nightmare": -3.0,
    "disaster": -3.0,
    "outrageous": -3.0,
    "scam": -3.4,
    "fraud": -3.0,
    "ripoff": -3.0,
    "shoddy": -2.6,
    "buggy": -2.0,
    "flaky": -1.5,
    "frustrating": -2.5,
    "infuriating": -3.2,
    "furious": -3.2,
    "livid": -3.2,
    "disgraceful": -3.0,
    "appalling": -3.0,
    "clueless": -2.5,
    "kidding": -1.0,
    "slow": -1.0,
    "broken": -1.5,
    "hell": -2.0,
    "killing": -2.0,
}
# Words that describe a technical situation; in a question they are a topic, not a mood.
_DESCRIPTIVE = _words(
    "error problem issue bug fail failed trouble wrong stuck lost broken slow block urgent"
)
_BOOSTERS = _words(
    "very so really extremely totally completely absolutely incredibly truly utterly"
)
_NEGATORS = frozenset({"not", "no", "never", "nothing", "without", "nor", "can not"})
_ACRONYMS = _words(
    """API SSO SAML URL CSV PDF HTTP HTTPS JSON XML SDK CRM ERP VAT GDPR DPA SLA ASAP FAQ UI
    UX ID IP DNS SMS MFA TFA OTP CEO CTO CFO IT HR USA UK EU US AWS GCP SQL CPU PM AM ETA
    OK PO HQ QA IOS CC BCC KPI ROI SOC SCIM LDAP OAUTH JWT"""
)
_PROFANITY = re.compile(
    r"f+u+c+k|f[*#@]+c?k|\bf\*+|sh[i1*]t|goddamn|\bdamn|(?<![a-z])crap|bullshit|\bwtf\b"
    r"|\bstfu\b|asshole|bastard|bitch|\bpiss|bloody|\bhell\b|screw (you|this)",
    re.IGNORECASE,
)
# (pattern, valence, strong) — strong cues make a message "frustrated" on their own.
_PHRASES: tuple[tuple[re.Pattern[str], float, bool], ...] = tuple(
    (re.compile(p, re.IGNORECASE), v, s)
    for p, v, s in (
        (r"waste of (my |our |everyone'?s )?(time|money)", -3.0, True),
        (
            r"\b(second|2nd|third|3rd|fourth|4th|fifth|5th|\d+th|several|many|multiple)"
            r" (time|times|email|emails|ticket|tickets|message|messages)\b"
            r".{0,30}\b(writ|contact|ask|reach|email|call|follow|sen[dt]|report|open)",
            -2.5,
            True,
        ),
        (r"how many (more )?times", -2.5, True),
        (r"\b(fed up|sick of|sick and tired|had enough|last straw|at my wits)", -3.0, True),
        (r"thanks? (you )?(a lot )?for nothing", -3.5, True),
        (r"\b(take|taking|move|moving) (our|my) business (elsewhere|somewhere)", -3.0, True),
        (
            r"\b(switch|switching|move|moving|go|going) to (a |one of your )?"
            r"(competitor|another (vendor|provider|tool))",
            -2.0,
            True,
        ),
        (r"\bnever again\b", -2.5, True),
        (
            r"\b(still|again)\b.{0,40}(\bnot\b|n't\b|\bno\b|\bbroken|\bnothing|\bwaiting|"
            r"\bfailing|\bdown\b)",
            -1.5,
            False,
        ),
        (
            r"\b(no one|nobody) (has |have )?(responded|replied|answered|got back|helped|cares)",
            -2.5,
            True,
        ),
        (r"\bare you (kidding|serious)|\bseriously[?!]", -2.5, True),
        (r"\bwhat a joke\b|\bthis is a joke\b", -3.0, True),
        (
            r"\b(i|we) (am|are|'m|'re) (very |so |extremely )?(disappointed|frustrated|angry|"
            r"upset|annoyed|furious)",
            -1.0,
            True,
        ),
        (r"\b(unacceptable|ridiculous|outrageous|disgraceful)\b", 0.0, True),
        (r"\b(escalate this|speak to (a|your) (manager|supervisor))\b", -1.5, False),
        (r"\bi (want|demand) (a|my|our) (refund|money)", -1.0, False),
        (r"\b(refund|money back)\b.{0,20}\bnow\b", -1.0, False),
    )
)
_SARCASM_OPENERS = re.compile(
    r"^\W*(oh,? |well,? |just |wow,? |yeah,? )?(great|wonderful|fantastic|perfect|awesome|"
    r"brilliant|lovely|amazing|thanks a lot|thank you so much|nice)\b\W",
    re.IGNORECASE,
)
_SARCASM_CONTEXT = re.compile(
    r"\b(again|another|nothing|broken|still|down|fail|crash|lost|no one|nobody|hours|days|"
    r"weeks|not)\b",
    re.IGNORECASE,
)
_SARCASM_PHRASES = re.compile(
    r"\b(yeah,? right|love how|love that (i|we) have to|so helpful,? not|thanks for nothing)\b",
    re.IGNORECASE,
)
_ALPHA = 15.0


@lru_cache(maxsize=1)
def lexicon() -> dict[str, float]:
    """The VADER lexicon with our support-ticket overrides (loaded once, ~20 ms)."""
    try:
        text = (
            resources.files("vaderSentiment")
            .joinpath("vader_lexicon.txt")
            .read_text(encoding="utf-8")
        )
    except (ModuleNotFoundError, FileNotFoundError) as err:
        raise ConfigurationError(
            "the VADER lexicon is missing: install the vaderSentiment package"
        ) from err
    out: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].isalpha():
            out[parts[0]] = float(parts[1])
    out.update(_OVERRIDES)
    return out


@dataclass(frozen=True, kw_only=True, slots=True)
class SentenceScore:
    """One sentence's score in [-1, 1] and whether it carried a strong frustration cue."""

    text: str
    score: float
    strong: bool


def _normalize(total: float) -> float:
    return max(-1.0, min(1.0, total / math.sqrt(total * total + _ALPHA)))


def score_sentence(sent: Span, *, all_caps_text: bool = False) -> SentenceScore:
    """Score one sentence of a parsed message."""
    lex = lexicon()
    text = sent.text
    pos_words = 0
    words: list[float] = []
    shouting = 0
    but_at = -1
    tokens = list(sent)
    question = text.rstrip().endswith("?") and "!" not in text
    for i, tok in enumerate(tokens):
        lower = tok.lower_
        if lower in ("but", "however"):
            but_at = len(words)
        raw = tok.text
        if (
            len(raw) >= 2
            and raw.isalpha()
            and raw.isupper()
            and raw not in _ACRONYMS
            and not all_caps_text
        ):
            shouting += 1
        lemma = tok.lemma_
        val = _OVERRIDES.get(lemma) if lemma in _OVERRIDES else lex.get(lower)
        if val is None and lemma != lower:
            val = lex.get(lemma)
        if not val:
            continue
        if question and (lower in _DESCRIPTIVE or lemma in _DESCRIPTIVE):
            val *= 0.2
        if raw.isupper() and len(raw) >= 2 and raw not in _ACRONYMS:
            val *= 1.5
        window = tokens[max(0, i - 3) : i]
        if any(t.lower_ in _BOOSTERS for t in window[-1:]):
            val *= 1.3
        if any(t.lemma_ in _NEGATORS for t in window):
            val *= -0.74
        if val > 0:
            pos_words += 1
        words.append(val)
    if but_at >= 0:
        words = [v * 0.5 for v in words[:but_at]] + [v * 1.5 for v in words[but_at:]]
    total = sum(words)
    strong = False
    sarcastic = bool(_SARCASM_PHRASES.search(text)) or bool(
        _SARCASM_OPENERS.search(text) and _SARCASM_CONTEXT.search(text)
    )
    if sarcastic:
        total = sum(v for v in words if v < 0) - 2.0
        strong = True
    profanity = len(_PROFANITY.findall(text))
    if profanity:
        total -= 2.5 * min(profanity, 2)
        strong = True
    for pattern, valence, is_strong in _PHRASES:
        if pattern.search(text):
            total += valence
            strong = strong or is_strong
    exclaims = text.count("!")
    if total < 0 and exclaims:
        total -= 0.3 * min(exclaims, 4)
    if "??" in text or "?!" in text or "!?" in text:
        total -= 0.8
    if shouting and (total < 0 or "!" in text or shouting >= 2):
        total -= 0.6 * min(shouting, 3)
        strong = strong or (shouting >= 2 and exclaims >= 1)
    if all_caps_text and exclaims >= 2:
        total -= 1.0
        strong = True
    return SentenceScore(text=text.strip(), score=_normalize(total), strong=strong)


def score_doc(doc: Doc) -> tuple[float, str, bool]:
    """A message's score, the sentence that drove it, and whether a strong cue was seen.

    The most negative sentence decides when it is clearly negative, so a polite "thanks" at
    the end does not cancel "your product is garbage"; otherwise the whole message counts.
    """
    letters = [c for c in doc.text if c.isalpha()]
    all_caps = len(letters) >= 12 and all(c.isupper() for c in letters)
    sents = (doc[start:end] for start, end in sentence_bounds(doc))
    scores = [score_sentence(s, all_caps_text=all_caps) for s in sents if s.text.strip()]
    if not scores:
        return 0.0, "", False
    strong = any(s.score < 0 and s.strong for s in scores)
    worst = min(scores, key=lambda s: s.score)
    if worst.score <= -0.25:
        return worst.score, worst.text, strong
    best = max(scores, key=lambda s: abs(s.score))
    mean = sum(s.score for s in scores) / len(scores)
    return round(mean, 4), best.text, strong
