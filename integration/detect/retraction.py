"""Did the customer take back what they reported? "never mind, it was our proxy".

A customer reports an outage, a double charge or a strange login, then writes again (or goes
on in the same message) to say it was on their side: "false alarm, it was Jo on her VPN",
"please ignore my previous email", "found it!! the neighbour took it in". What came before the
taking-back is no longer the ticket; what comes after it still is ("... what I do need is the
invoice re-addressed"). ``taken_back`` finds the point where the live part starts.

Only plain phrasings count, and the looser ones ("forget it", "oh wait", "my bad", "found
it") only next to a sign the problem is gone or was the customer's own ("all good", "it was
my...", "sorry"), because "forget it, we're leaving" is no retraction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["TakenBack", "taken_back", "thin"]

# Phrasings that take a report back on their own.
_PLAIN = re.compile(
    r"\b(?:never\s?mind|nvm)(?=\s*(?:[,.!;:)\u2014\u2013-]|$))"
    r"|\bfalse alarm\b"
    r"|\bscratch that\b"
    r"|\bpanic over\b"
    r"|\bsorry for the (?:noise|panic|confusion|bother|false alarm)\b"
    r"|\bplease ignore(?=\s*(?:[!.]|$))"
    r"|\b(?:please\s+)?(?:ignore|disregard)\s+(?:my|our|this|that)"
    r"(?:\s+(?:previous|last|earlier|first|other))?"
    r"(?:\s+(?:e-?mail|message|mail|tweet|post|dm|request|ticket|note|reply|question|one))?\b"
    r"|\b(?:please\s+)?(?:ignore|disregard)\s+the\s+(?:previous|last|earlier|first)"
    r"\s+(?:e-?mail|message|mail|tweet|post|dm|request|ticket|note|reply|question|one)\b",
    re.IGNORECASE,
)
# A message meant for someone else: taken back wherever it stands, even as the first words.
_ELSEWHERE = re.compile(
    r"\b(?:meant|intended) (?:for|to (?:\w+ )?(?:this |it )?to) [^.!?\n]{1,40}?,? not (?:for )?"
    r"(?:you|your)\b"
    r"|\bnot meant for you\b"
    r"|\bwrong (?:tab|window|chat|inbox|recipient|address|company|person|department|thread)\b"
    r"|\b(?:sent|forwarded|posted) (?:this |it )?(?:here |to you )?by mistake\b"
    r"|\b(?:please\s+)?(?:ignore|disregard) my (?:previous|last|earlier) "
    r"(?:e-?mail|message|mail|tweet|post|dm|request|ticket|note|reply)\b",
    re.IGNORECASE,
)
# Looser phrasings, which count only beside a sign that all is well or was the writer's own.
_LOOSE = re.compile(
    r"\bforget it\b|\boh,? wait\b|\bmy bad\b|\bmy mistake\b|\bour mistake\b|\buser error\b"
    r"|\bfound (?:it|them)(?=\s*(?:[!.,;)]|$))",
    re.IGNORECASE,
)
_SETTLED = re.compile(
    r"\b(?:all|it'?s|its|everything'?s?|that'?s)\s+(?:good|fine|ok|okay|sorted|working)\b"
    r"|\bworks? (?:now|again|fine)\b|\bsorry\b|\bapolog"
    r"|\b(?:it|that) was (?:my|our|the)\b|\bwas (?:on|at) (?:my|our) (?:side|end)\b"
    r"|\b(?:my|our) (?:side|end|fault|own)\b|\bwrong (?:card|account|one|number|tab|login)\b",
    re.IGNORECASE,
)
# "never mind, it's still down": the problem stands.
_STANDS = re.compile(r"\b(?:still|again|worse|another|keeps?)\b", re.IGNORECASE)
# Words that say only that all is well; what is left after them is thin.
_SMALL_TALK_WORDS = """all fine good great okay now works working worked again everything sorry
    thanks thank the and for was that this our you your just sorted bad mistake lol haha oops"""
_SMALL_TALK = frozenset(_SMALL_TALK_WORDS.split())
_WORD = re.compile(r"[^\W\d_]{3,}")
# How much of the following text is read for a sign it is settled, or that it still stands.
_NEAR = 120


@dataclass(frozen=True, slots=True)
class TakenBack:
    """Where the live part of a conversation starts, and the words that took the rest back."""

    message: int
    start: int
    words: str


def taken_back(bodies: Sequence[str]) -> TakenBack | None:
    """The latest point where the customer takes back what they reported before, if any.

    ``bodies`` are the customer's messages in order. The live part starts right after the
    taking-back words in message ``message``; whatever precedes them (the subject, earlier
    messages, earlier sentences) was taken back. A taking-back with nothing reported before
    it ("never mind the invoice, the app is down") takes nothing back.
    """
    found: TakenBack | None = None
    for n, body in enumerate(bodies):
        for match, anywhere in _candidates(body):
            first_words = not body[: match.start()].strip(" \t\n@:,.-")
            if n == 0 and first_words and not anywhere:
                continue
            found = TakenBack(message=n, start=match.end(), words=_sentence(body, match))
    return found


# Every phrasing above contains one of these: most messages are passed over at this test.
_KEYS = ("mind", "nvm", "alarm", "scratch", "panic", "sorry for", "ignore", "disregard",
         "meant", "intended", "wrong", "mistake", "forget", "wait", "bad", "found", "error")
# "not a false alarm", "no my bad": the words are denied.
_DENIED = re.compile(r"\b(?:not|no|isn'?t|wasn'?t)\s+(?:a\s+)?$", re.IGNORECASE)


def _candidates(body: str) -> list[tuple[re.Match[str], bool]]:
    """Each taking-back match in ``body``, in order, and whether it counts even as the first
    words (a message meant for someone else)."""
    lower = body.lower()
    if not any(map(lower.__contains__, _KEYS)):
        return []
    out = []
    for pattern in (_PLAIN, _ELSEWHERE, _LOOSE):
        for match in pattern.finditer(body):
            if _DENIED.search(body[max(0, match.start() - 12): match.start()]):
                continue
            if _STANDS.search(_first_clause(body[match.end(): match.end() + _NEAR])):
                continue
            around = body[max(0, match.start() - 40): match.end() + _NEAR]
            if pattern is _LOOSE and not _SETTLED.search(around):
                continue
            out.append((match, pattern is _ELSEWHERE))
    return sorted(out, key=lambda found: found[0].start())


def _first_clause(text: str) -> str:
    # The clause right after the words: "never mind, it's still down" keeps the problem;
    # a later sentence ("... it was our proxy. Still, a status page would help") does not.
    end = re.search(r"[.!?\n]", text)
    return text[: end.start()] if end else text


def _sentence(body: str, match: re.Match[str]) -> str:
    start = max(body.rfind(c, 0, match.start()) for c in ".!?\n") + 1
    ends = [i for i in (body.find(c, match.end()) for c in ".!?\n") if i != -1]
    end = min(ends) + 1 if ends else len(body)
    return " ".join(body[start:end].split())


def thin(texts: Sequence[str]) -> bool:
    """Whether ``texts`` say hardly more than that all is well ("all good, sorry!")."""
    words = [w for text in texts for w in _WORD.findall(text.lower()) if w not in _SMALL_TALK]
    return len(words) < 3
