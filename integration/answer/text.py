"""Reading questions and passages as words: terms for search, what kind of fact is asked for.

Plain regular expressions and word lists, nothing loaded: the answerer reads a ticket in well
under a millisecond.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

__all__ = [
    "Asked",
    "FactKind",
    "content_terms",
    "content_words",
    "read_question",
    "sentences",
    "specifics",
    "states_kind",
    "stem",
    "terms",
]

def _split(text: str) -> list[str]:
    return text.split()


_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_STOP = frozenset(_split(
    """
    a about above after again all also am an and any anyone anything are as at be been
    before being below between both but by can could did do does doing done down during each
    either else etc even ever every few for from further get gets getting got had has have
    having he her here hers him his how i if in into is it its itself just let like me might
    more most much must my myself need needs no nor not now of off on once one only or other
    our ours out over own please really same see she should so some still such than thank
    thanks that the their them then there these they this those through to too under until
    up us use used using very via want was way we were what when where whether which while
    who whom why will with within without would yes yet you your yours hi hello hey team
    regards cheers best wondering wonder question quick know tell able possible guys folks
    option options way ways something somehow anyway currently today tomorrow yesterday
    already maybe perhaps okay ok sure right thing things kind sort
    """
))
# Words a question uses to ask for a number, a timing or a limit.
_NUMBER_ASK = re.compile(
    r"\bhow (?:many|much|long|often|far|large|big|soon|quickly|fast)\b|\b(?:limit|limits|"
    r"maximum|max|minimum|min|cap|quota|size|cost|costs|price|pricing|fee|fees|duration|"
    r"period|retention|retain|kept|expire|expires|expiry|timeout|threshold|allowance|up to)\b"
    r"|\bwhat (?:time|day|date)\b|\bwhen (?:does|do|will|is|are)\b"
)
_STEPS_ASK = re.compile(
    r"\bhow (?:do|can|should|would) (?:i|we|you|one|my|our)\b|\bhow to\b|\bwhere (?:do|can|is|"
    r"are) \b|\bsteps?\b|\bset ?up\b|\bwalk (?:me|us) through\b|\bwhat do (?:i|we) (?:do|need)"
)
_WHY_ASK = re.compile(r"\bwhy\b|\bwhat (?:causes|caused|is the reason)\b|\breason\b")
_YESNO_ASK = re.compile(
    r"^(?:is|are|can|could|does|do|did|will|would|should|has|have|may)\b|\b(?:is it possible|"
    r"is there|are there|do you (?:support|offer|have|allow)|does it (?:support|work)|"
    r"supported|support for|available on|included in)\b"
)
_NUMBER_STATED = re.compile(
    r"\b\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|sixty|ninety|hundred|thousand|unlimited|no limit|daily|weekly|monthly|"
    r"annually|yearly|hourly|immediately|instantly|midnight|noon)\b"
)
_STEPS_STATED = re.compile(
    r"(?:^|\n)\s*(?:\d+[.)]|[-*•])\s|\b(?:go to|click|select|open|tap|choose|navigate|enter|"
    r"under|in the)\b"
)
_WHY_STATED = re.compile(
    r"\b(?:because|since|so that|due to|this happens|this is because|caused by|the reason|"
    r"in order to|if you|when you|happens when|means that)\b"
)
_YESNO_STATED = re.compile(
    r"\b(?:yes|no|not|only|available|supported|support|supports|included|includes|can|cannot|"
    r"can't|isn't|aren't|doesn't|don't|all plans|every plan|any plan)\b"
)
# Named things that make a question about one case: plans, platforms, formats, providers.
_KNOWN_SPECIFIC = frozenset(_split(
    """
    free starter basic standard team growth pro professional premium plus business
    enterprise trial ios android iphone ipad windows mac macos linux chrome safari firefox
    edge okta azure entra onelogin google microsoft outlook gmail slack teams zoom
    salesforce hubspot zapier quickbooks xero stripe paypal sepa ach wire invoice csv xlsx
    pdf json xml api sso saml scim oauth 2fa mfa sms whatsapp ical webhook webhooks eu us uk
    gdpr hipaa soc iso
    """
))


# Capitalized mid-sentence for other reasons than being a name.
_NEVER_NAMES = frozenset({"i", "im", "i'm", "ive", "i've", "id", "i'd", "ill", "i'll", "ok"})


class FactKind(StrEnum):
    """What a question wants: a number or timing, yes/no about a case, steps, a reason."""

    NUMBER = "number"
    YESNO = "yesno"
    STEPS = "steps"
    WHY = "why"
    OTHER = "other"


@dataclass(frozen=True, kw_only=True, slots=True)
class Asked:
    """A customer's question read for answering: its terms, kind and the case it names."""

    text: str
    terms: tuple[str, ...]
    kind: FactKind
    specifics: frozenset[str]
    # The content words of the sentences that ask (not greetings or context), as written.
    focus: tuple[str, ...] = ()
    question: str = ""


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A crude suffix strip so that "exports", "exported" and "exporting" meet."""
    if len(word) <= 4 or word.isdigit():
        return word
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + keep
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def terms(text: str) -> list[str]:
    """Every word of the text, lower-cased and stemmed (stop words kept)."""
    return [stem(w.replace("'", "")) for w in _WORD.findall(text.lower())]


def content_words(text: str, *, ignore: frozenset[str] = frozenset()) -> list[str]:
    """The words that carry the meaning, lower-cased but not stemmed, each once."""
    words = _WORD.findall(text.lower())
    found = (w.replace("'", "") for w in words if w not in _STOP and w not in ignore)
    return list(dict.fromkeys(w for w in found if len(w) > 1 and not w.isdigit()))


def content_terms(text: str) -> list[str]:
    """The words that carry the meaning: no stop words, stemmed."""
    words = _WORD.findall(text.lower())
    return [stem(w.replace("'", "")) for w in words if w not in _STOP and len(w) > 1]


def sentences(text: str) -> list[str]:
    """The text cut into sentences and lines, blanks dropped."""
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def specifics(text: str, *, ignore: frozenset[str] = frozenset()) -> frozenset[str]:
    """Named things in the text (plans, platforms, formats, mid-sentence capitals, numbers),
    lower-cased as written."""
    found: set[str] = set()
    for sentence in sentences(text):
        words = re.findall(r"[A-Za-z0-9][A-Za-z0-9+.-]*[A-Za-z0-9+]|[A-Za-z0-9]", sentence)
        for n, word in enumerate(words):
            low = word.lower()
            capital = n > 0 and (word[0].isupper() or word.isupper()) and len(word) > 1
            # "Go" in "Skylark Go" is a name; "go" is a stop word.
            if low in ignore or (low in _STOP and not capital) or low in _NEVER_NAMES:
                continue
            if low in _KNOWN_SPECIFIC or capital or re.fullmatch(r"\d+(?:\.\d+)?", word):
                found.add(low)
    return frozenset(found)


def _question_text(text: str) -> str:
    """The sentences that ask: questions, or the whole text when none ends with '?'."""
    asked = [s for s in sentences(text) if s.endswith("?")]
    return " ".join(asked) if asked else text


def read_question(subject: str, body: str, *, ignore: frozenset[str] = frozenset()) -> Asked:
    """What the ticket asks: its terms (subject and body), kind of fact, and named case."""
    question = _question_text(body)
    low = question.lower()
    if _WHY_ASK.search(low):
        kind = FactKind.WHY
    elif _NUMBER_ASK.search(low):
        kind = FactKind.NUMBER
    elif _STEPS_ASK.search(low):
        kind = FactKind.STEPS
    elif any(_YESNO_ASK.search(s.lower()) for s in sentences(question)):
        kind = FactKind.YESNO
    else:
        kind = FactKind.OTHER
    return Asked(
        text=f"{subject}\n{body}",
        terms=tuple(content_terms(f"{subject} {body}")),
        kind=kind,
        specifics=specifics(f"{subject}. {question}", ignore=ignore),
        focus=tuple(content_words(f"{subject} {question}", ignore=ignore)),
        question=question,
    )


def states_kind(kind: FactKind, passage: str) -> bool:
    """Whether the passage states the kind of fact asked for (a number, steps, a reason)."""
    low = passage.lower()
    if kind is FactKind.NUMBER:
        return bool(_NUMBER_STATED.search(low))
    if kind is FactKind.STEPS:
        return bool(_STEPS_STATED.search(low))
    if kind is FactKind.WHY:
        return bool(_WHY_STATED.search(low))
    if kind is FactKind.YESNO:
        return bool(_YESNO_STATED.search(low))
    return True
