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
from functools import lru_cache
from importlib import resources

from integration.detect.senses import is_hypothetical
from integration.detect.text import Parsed
from integration.errors import ConfigurationError

__all__ = ["lexicon", "score_doc"]


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
    "absurd": -2.6,
    # Said to frame a point ("honestly this is ridiculous"), not as praise of honesty.
    "honestly": 0.0,
    "frankly": 0.0,
    "truthfully": 0.0,
}
# Emoji say the mood outright in chats and posts, in any language ("😡😡 where is the export
# button now??"); the lexicon above is words only. Each emoji is its own token. The variation
# selector some keyboards add (U+FE0F) is stripped before the lookup.
_EMOJI = {
    **dict.fromkeys("🤬😡😠👿💢", -3.0),
    **dict.fromkeys("😤🙄😒👎💩😖😣😫😩🤦🤯😾", -2.0),
    **dict.fromkeys("😞😔😟😕🙁☹😢😭😓😰😱😬🥴😑😐🤨", -1.2),
    **dict.fromkeys("😀😃😄😁😊🙂😍🥰😘🤗👍👏🙌🎉🥳💯✅🙏😇", 1.5),
    **dict.fromkeys("❤💙💚💜🧡💛", 1.8),
}
# Words that describe a technical situation; in a question they are a topic, not a mood.
_DESCRIPTIVE = _words(
    "error problem issue bug fail failed trouble wrong stuck lost broken slow block urgent"
)
_BOOSTERS = _words(
    "very so really extremely totally completely absolutely incredibly truly utterly"
)
_NEGATORS = frozenset({"not", "no", "never", "nothing", "without", "nor", "can not"})
# Mood words that name a practice when one of these words follows within two tokens.
_NAMED_BEFORE = {
    "disaster": frozenset({"recovery"}),
    "crash": frozenset({"test", "tests", "testing", "report", "reporting", "reports"}),
}
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
        (r"\b(unacceptable|ridiculous|outrageous|disgraceful|absurd|pathetic)\b", 0.0, True),
        (r"(\bnot|n['’]t) (nearly |remotely |anywhere near )?good enough\b(?!\s+(yet|for|to)\b)",
         -2.0, True),
        (r"\bwhat (exactly )?are (we|i) (even )?paying (you )?for\b", -2.5, True),
        (r"\b(escalate this|speak to (a|your) (manager|supervisor))\b", -1.5, False),
        (r"\bi (want|demand) (a|my|our) (refund|money)", -1.0, False),
        (r"\b(refund|money back)\b.{0,20}\bnow\b", -1.0, False),
    )
)
# Each phrase above needs one of these words; most messages have none, and a set test is far
# cheaper than twenty regular-expression searches per sentence.
_PHRASE_ANCHORS = _words(
    """waste time times email emails ticket tickets message messages many fed sick enough
    straw wits nothing business competitor another never still again one nobody kidding
    serious seriously joke disappointed frustrated angry upset annoyed furious unacceptable
    ridiculous outrageous disgraceful absurd pathetic good paying escalate manager supervisor
    refund money"""
)
# Case-folded once per message: a case-insensitive search costs far more.
_PROFANITY_LOWER = re.compile(_PROFANITY.pattern)
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
# Substrings that every match of a pattern contains, lower case: _PHRASE_NEEDS[k] for
# _PHRASES[k]. A message whose lower-cased text has none of a pattern's substrings cannot
# match it in any sentence, so the pattern is not searched (exact for ASCII text, where
# lower-casing is what a case-insensitive search does; other text searches everything).
_PHRASE_NEEDS: tuple[tuple[str, ...], ...] = (
    ("waste of ",),
    ("time", "email", "ticket", "message"),
    ("how many",),
    ("fed up", "sick ", "had enough", "last straw", "at my wits"),
    ("for nothing",),
    (" business ",),
    ("competitor", "another "),
    ("never again",),
    ("still", "again"),
    ("no one", "nobody"),
    ("are you ", "seriously"),
    ("a joke",),
    ("disappointed", "frustrated", "angry", "upset", "annoyed", "furious"),
    ("unacceptable", "ridiculous", "outrageous", "disgraceful", "absurd", "pathetic"),
    (" good enough",),
    (" paying ",),
    ("escalate this", "speak to "),
    ("refund", "money"),
    ("refund", "money back"),
)
_SARCASM_PHRASE_NEEDS = ("yeah", "love", "helpful", "nothing")
_SARCASM_OPENER_NEEDS = (
    "great", "wonderful", "fantastic", "perfect", "awesome", "brilliant", "lovely", "amazing",
    "thank", "nice",
)
_PROFANITY_NEEDS = (
    "f*", "f#", "f@", "shit", "sh1t", "sh*t", "damn", "crap", "wtf", "stfu", "asshole",
    "bastard", "bitch", "piss", "bloody", "hell", "screw ",
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
    out.update(_EMOJI)
    return out


def _valence(lex: dict[str, float], lower: str, lemma: str) -> float:
    if lower and lower[-1] == "\ufe0f":
        lower = lemma = lower.rstrip("\ufe0f")
    val = _OVERRIDES.get(lemma) if lemma in _OVERRIDES else lex.get(lower)
    if val is None and lemma != lower:
        val = lex.get(lemma)
    return val or 0.0


@lru_cache(maxsize=1)
def _valence_memo() -> dict[str, float]:
    # Valence by lower-case word (the lemma is a function of it), filled as words are seen.
    return {}


# What scoring reads of one word as written: (valence, in capitals and not an acronym,
# shouted (capitals and alphabetic), "but"/"however"). It depends on the word alone (its lemma
# is a function of it), so it is worked out once per distinct word.
_WORDS: dict[str, tuple[float, bool, bool, bool]] = {}


def _learn(raw: str, lower: str, lemma: str) -> tuple[float, bool, bool, bool]:
    valences = _valence_memo()
    val = valences.get(lower)
    if val is None:
        val = _valence(lexicon(), lower, lemma)
        if len(valences) < 100_000:
            valences[lower] = val
    upper = len(raw) >= 2 and raw.isupper() and raw not in _ACRONYMS
    facts = (val, upper, upper and raw.isalpha(), lower == "but" or lower == "however")
    if len(_WORDS) < 100_000:
        _WORDS[raw] = facts
    return facts


def _normalize(total: float) -> float:
    return max(-1.0, min(1.0, total / math.sqrt(total * total + _ALPHA)))


_Phrase = tuple[re.Pattern[str], float, bool]


def _score(
    doc: Parsed,
    start: int,
    end: int,
    text: str,
    all_caps_text: bool,
    phrases: tuple[_Phrase, ...],
    profanity: bool,
    sarcasm: bool,
    openers: bool,
    shouted_text: bool = False,
) -> tuple[float, str, bool]:
    # (score, stripped text, strong). The flags say which pattern families can match at all.
    words, shouting = _word_valences(doc, start, end, text, all_caps_text)
    total = sum(words)
    strong = False
    sarcastic = (sarcasm and _SARCASM_PHRASES.search(text) is not None) or (
        openers
        and _SARCASM_OPENERS.search(text) is not None
        and _SARCASM_CONTEXT.search(text) is not None
    )
    if sarcastic:
        total = sum(v for v in words if v < 0) - 2.0
        strong = True
    swears = len(_PROFANITY.findall(text)) if profanity else 0
    if swears:
        total -= 2.5 * min(swears, 2)
        strong = True
    for pattern, valence, is_strong in phrases:
        if pattern.search(text):
            total += valence
            strong = strong or is_strong
    total, loud = _punctuation(text, total, shouting, all_caps_text, shouted_text)
    return _normalize(total), text.strip(), strong or loud


def _word_valences(
    doc: Parsed, start: int, end: int, text: str, all_caps_text: bool
) -> tuple[list[float], int]:
    """Each scored word's valence in context (negated, boosted, after "but"), and shouted words."""
    known = _WORDS
    words: list[float] = []
    shouting = 0
    but_at = -1
    raws = doc.words[start:end]
    lowers = doc.lower[start:end]
    lemmas = doc.lemmas[start:end]
    question = text.rstrip().endswith("?") and "!" not in text
    for i, raw in enumerate(raws):
        facts = known.get(raw)
        if facts is None:
            facts = _learn(raw, lowers[i], lemmas[i])
        val, upper, shouted, but = facts
        if but:
            but_at = len(words)
        if shouted and not all_caps_text:
            shouting += 1
        if not val:
            continue
        if lowers[i] in _NAMED_BEFORE and not _NAMED_BEFORE[lowers[i]].isdisjoint(
                lowers[i + 1:i + 3]):
            # "disaster recovery", "crash test": the name of a practice, not a mood.
            continue
        lemma = lemmas[i]
        if question and (lowers[i] in _DESCRIPTIVE or lemma in _DESCRIPTIVE):
            val *= 0.2
        if upper:
            val *= 1.5
        if i and lowers[i - 1] in _BOOSTERS:
            val *= 1.3
        # An emoji says the mood as it is: "no button anywhere 🤬" is not a happy face.
        if raw.rstrip("\ufe0f") not in _EMOJI and not _NEGATORS.isdisjoint(
                lemmas[max(0, i - 3) : i]):
            val *= -0.74
        words.append(val)
    if but_at >= 0:
        words = [v * 0.5 for v in words[:but_at]] + [v * 1.5 for v in words[but_at:]]
    return words, shouting


def _punctuation(
    text: str, total: float, shouting: int, all_caps_text: bool, shouted_text: bool = False
) -> tuple[float, bool]:
    """The total after exclamations, "??" and shouting, and whether they make it strong."""
    strong = False
    exclaims = text.count("!")
    if total < 0 and exclaims:
        total -= 0.3 * min(exclaims, 4)
    if "??" in text or "?!" in text or "!?" in text:
        total -= 0.8
    if shouting and (total < 0 or "!" in text or shouting >= 2):
        total -= 0.6 * min(shouting, 3)
        strong = shouting >= 2 and exclaims >= 1
    # A whole message in capitals that exclaims or asks twice over is shouting at us; so is
    # a long one, with or without "!" ("WE CHANGED IT IN SEPTEMBER. SORT IT OUT TODAY.").
    if all_caps_text and (exclaims >= 2 or "??" in text or shouted_text):
        total -= 1.0
        strong = True
    return total, strong


# Each distinct substring of _PHRASE_NEEDS with the phrases (bits by index) that need it.
_NEEDLES: tuple[tuple[str, int], ...] = tuple(
    (needle, sum(1 << k for k, needs in enumerate(_PHRASE_NEEDS) if needle in needs))
    for needle in dict.fromkeys(n for needs in _PHRASE_NEEDS for n in needs)
)
_PHRASE_SETS: dict[int, tuple[_Phrase, ...]] = {}


def _phrases_for(lower: str) -> tuple[_Phrase, ...]:
    """The phrases of _PHRASES whose needed substrings occur in ``lower``."""
    mask = 0
    for needle, bits in _NEEDLES:
        if needle in lower:
            mask |= bits
    found = _PHRASE_SETS.get(mask)
    if found is None:
        found = _PHRASE_SETS[mask] = tuple(
            phrase for k, phrase in enumerate(_PHRASES) if mask >> k & 1
        )
    return found


def _has_any(lower: str, needles: tuple[str, ...]) -> bool:
    # A plain loop: any() over a generator costs twice as much for these short tuples.
    for needle in needles:  # noqa: SIM110
        if needle in lower:
            return True
    return False


# A message wholly in capitals with at least this many letters is shouted: every such message
# in the labeled sets was a complaint, whatever its punctuation.
_SHOUTED_LETTERS = 40


def score_doc(doc: Parsed) -> tuple[float, str, bool]:
    """A message's score, the sentence that drove it, and whether a strong cue was seen.

    The most negative sentence decides when it is clearly negative, so a polite "thanks" at
    the end does not cancel "your product is garbage"; otherwise the whole message counts.
    """
    text = doc.text
    letters = sum(1 for c in text if c.isalpha()) if text.isupper() else 0
    all_caps = letters >= 12
    shouted = letters >= _SHOUTED_LETTERS
    lower = text.lower()
    # The pattern families each sentence would search, cut down once per message by
    # substrings their matches must contain (see _PHRASE_NEEDS).
    ascii_text = text.isascii()
    phrases: tuple[_Phrase, ...] = ()
    if not _PHRASE_ANCHORS.isdisjoint(doc.lower):
        phrases = _PHRASES if not ascii_text else _phrases_for(lower)
    profanity = (
        _has_any(lower, _PROFANITY_NEEDS) or ("fu" in lower and "ck" in lower)
    ) and _PROFANITY_LOWER.search(lower) is not None
    sarcasm = not ascii_text or _has_any(lower, _SARCASM_PHRASE_NEEDS)
    openers = not ascii_text or _has_any(lower, _SARCASM_OPENER_NEEDS)
    scores = []
    for start, end in doc.sents:
        sentence = doc.span_text(start, end)
        if sentence.strip() and not (start < end and is_hypothetical(doc, start)):
            # "If a laptop were stolen, how do we kill its sessions?" supposes; it is no mood.
            scores.append(
                _score(doc, start, end, sentence, all_caps, phrases, profanity, sarcasm, openers,
                       shouted)
            )
    if not scores:
        return 0.0, "", False
    strong = any(s[0] < 0 and s[2] for s in scores)
    worst = min(scores, key=lambda s: s[0])
    if worst[0] <= -0.25:
        return worst[0], worst[1], strong
    best = max(scores, key=lambda s: abs(s[0]))
    mean = sum(s[0] for s in scores) / len(scores)
    return round(mean, 4), best[1], strong
