"""Messages whose trigger words ask for nothing: automatic replies, announced tests, one user.

- An **automatic reply** ("I am out of the office until Monday. For urgent refund or security
  matters please call ...") routes other people's mail: its words are a template.
- An **announced test or drill** ("our IT team runs a phishing simulation next week ... nothing
  to do on your side", "TEST TICKET ... please ignore and close") is planned, not happening.
- A failure **for one user only** ("my colleague at the next desk is in and working fine") is
  not an outage, whatever the customer calls it: it is a problem to troubleshoot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Notice", "only_me", "read_notice"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Notice:
    """Why a ticket asks for nothing: ``auto_reply`` or ``announced_test``, and the words."""

    kind: str
    words: str

    @property
    def what(self) -> str:
        """The kind of message, in the agent's words."""
        return "an automatic reply" if self.kind == "auto_reply" else "an announced test"

    @property
    def reason(self) -> str:
        """The evidence text, in the agent's words."""
        return f"{self.what} ({self.words!r}): nothing in it is acted on"


_AUTO_SUBJECT = re.compile(
    r"\b(?:automatic reply|auto-?reply|autoreply|out of (?:the )?office|abwesenheitsnotiz"
    r"|r[ée]ponse automatique|respuesta autom[áa]tica)\b",
    re.IGNORECASE,
)
_AWAY = re.compile(
    r"\b(?:out of (?:the )?office|(?:away|on (?:annual |parental |sick )?leave|on holiday"
    r"|on vacation|closed) until|limited access to (?:my )?e-?mail"
    r"|(?:mailbox|inbox) is not monitored)\b",
    re.IGNORECASE,
)
_NOTHING_TO_DO = re.compile(
    r"\b(?:no action (?:is )?(?:needed|required)|nothing (?:else )?(?:to do|needed|required)"
    r"|please ignore(?: and close)?|no need to (?:do|reply|respond))\b",
    re.IGNORECASE,
)
_TEST = re.compile(
    r"\b(?:test(?:ing)?|drill|simulation|exercise|dry run|staging|sandbox)\b", re.IGNORECASE
)
_OTHERS_FINE = re.compile(
    r"\b(?:colleagues?|co-?workers?|flatmates?|roommates?|friends?|partner|wife|husband"
    r"|(?:the )?rest of (?:the|my|our) (?:team|staff|office)|everyone else|every(?:one|body) "
    r"else|the others|other users|others)\b[^.?!\n]{0,60}?\b(?:fine|working|works|no problem"
    r"|can (?:open|log|use|see|book|order|access|get)|is in|are in|ordered|booked)\b",
    re.IGNORECASE,
)
# "is it just me or is everything down?" asks; it does not say so.
_ONLY_ME = re.compile(
    r"(?<!is it )(?<!it is )\b(?:only (?:me|my account|happens to me|affects me)"
    r"|just (?:me|my account))\b",
    re.IGNORECASE,
)


# Every pattern above needs one of these: most tickets are passed over by substring tests.
_NOTICE_WORDS = ("office", "until", "limited access", "monitored", "reply", "abwesenheit",
                 "automati", "action", "nothing", "ignore", "no need")
_ALONE_WORDS = ("colleague", "worker", "mate", "friend", "partner", "wife", "husband",
                "rest of", "else", "other", "only", "just")


def _has_any(text: str, words: Sequence[str]) -> bool:
    # map() over the bound method runs in C: a generator would cost more than the tests.
    return any(map(text.lower().__contains__, words))


def read_notice(subject: str, bodies: Sequence[str]) -> Notice | None:
    """An automatic reply or an announced test, when every customer message is one."""
    texts = [b for b in bodies if b.strip()]
    everything = " ".join([subject, *texts])
    if not texts or not _has_any(everything, _NOTICE_WORDS):
        return None
    titled = _AUTO_SUBJECT.search(subject)
    if all(_AWAY.search(b) and "?" not in b for b in texts) or (
        titled and all("?" not in b for b in texts)
    ):
        found = titled or _AWAY.search(" ".join(texts))
        return Notice(kind="auto_reply", words=found.group(0) if found else subject)
    done = _NOTHING_TO_DO.search(everything)
    if done and _TEST.search(everything):
        return Notice(kind="announced_test", words=done.group(0))
    return None


def only_me(bodies: Sequence[str]) -> str:
    """The words saying a failure hits this user alone while others work, or ""."""
    for body in bodies:
        if not _has_any(body, _ALONE_WORDS):
            continue
        found = _OTHERS_FINE.search(body) or _ONLY_ME.search(body)
        if found:
            return found.group(0)
    return ""
