"""Context around the text: the page the customer wrote from and how often they came back."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from spacy.lang.en.stop_words import STOP_WORDS

from integration.detect.text import Parsed
from integration.models import Author, Category, Evidence, Message, PageRule, Ticket

__all__ = [
    "Issue",
    "content_words",
    "name_words",
    "PageMatcher",
    "page_hint",
    "persistent_follow_ups",
    "repeat_contacts",
    "stated_contacts",
]

# Checked in order: a path like /settings/billing/admin is about billing first.
_PAGE_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("billing", re.compile(r"billing|invoice|plan|subscription|payment|pricing")),
    ("account_access", re.compile(r"login|log-in|signin|sign-in|sso|saml|password|2fa|mfa")),
    ("onboarding", re.compile(r"onboarding|setup|set-up|getting-started|get-started|welcome")),
    ("security", re.compile(r"security|admin|audit")),
)
_NON_ALPHA = re.compile(r"[^a-z]+")
_AGENT_FIX = re.compile(
    r"\b(fixed|resolved|deployed a fix|fix (is|has been) (live|deployed|released)|"
    r"should (now )?work|works now|working again|restored)\b",
    re.IGNORECASE,
)
# Words every ticket shares: greetings, chat subjects, support verbs. They say nothing about
# which problem a ticket is about.
_GENERIC = frozenset(
    {
        "chat", "conversation", "hello", "thank", "thanks", "pls", "please", "get",
        "look", "help", "issue", "problem", "question", "need", "want", "check", "ticket",
        "reply", "follow", "day", "today", "week", "hour", "time", "know", "let", "like",
        "just", "team", "message", "update", "regard", "best", "hey", "morning",
        "afternoon", "anyone", "someone",
    }
)
# Two tickets share an issue with this many distinctive words in common, whatever their
# category; with the same category, fewer suffice.
_SHARED_WORDS = 4
_SHARED_WORDS_SAME_CATEGORY = 2
_FOLLOW_UP_MIN_MESSAGES = 3
_FOLLOW_UP_MIN_DAYS = 2


def page_hint(url: str | None) -> str | None:
    """Map the page path (and SPA fragment) to billing, account_access, onboarding or security."""
    if not url:
        return None
    where = _page_where(url)
    for hint, pattern in _PAGE_HINTS:
        if pattern.search(where):
            return hint
    return None


def _page_where(url: str) -> str:
    parts = urlsplit(url if "//" in url else "//" + url)
    return f"{parts.path}#{parts.fragment}".lower()


class PageMatcher:
    """The matrix's page patterns, compiled once; the first that matches the URL wins."""

    def __init__(self, pages: Sequence[PageRule]) -> None:
        self._pages = [(page, re.compile(page.pattern, re.IGNORECASE)) for page in pages]

    def match(self, url: str | None) -> PageRule | None:
        """The page rule for ``url``, or None."""
        if not url or not self._pages:
            return None
        where = _page_where(url)
        for page, pattern in self._pages:
            if pattern.search(where):
                return page
        return None


class Issue:
    """What one ticket is about, for comparing contacts: category, error keys, content words."""

    __slots__ = ("category", "errors", "words")

    def __init__(
        self, *, category: Category, errors: frozenset[str], words: frozenset[str]
    ) -> None:
        self.category = category
        self.errors = errors
        self.words = words

    def __reduce__(self) -> tuple[object, tuple[Category, frozenset[str], frozenset[str]]]:
        # Compiled, the default pickling calls __init__ without its keyword arguments.
        return _issue, (self.category, self.errors, self.words)

    def same_as(self, other: Issue) -> bool:
        """Same error signature, or enough distinctive words in common (fewer in one category).

        The category alone is not enough: two different bugs from one account in a week are
        two issues, not a repeat contact.
        """
        if self.errors and not self.errors.isdisjoint(other.errors):
            return True
        shared = len(self.words & other.words)
        if shared >= _SHARED_WORDS:
            return True
        return (
            shared >= _SHARED_WORDS_SAME_CATEGORY
            and self.category is other.category
            and self.category is not Category.OTHER
        )


def _issue(category: Category, errors: frozenset[str], words: frozenset[str]) -> Issue:
    return Issue(category=category, errors=errors, words=words)


def name_words(ticket: Ticket) -> frozenset[str]:
    """Lower-case parts of the requester's and the account's names, which every ticket repeats."""
    parts = [ticket.requester.name or "", (ticket.requester.email or "").split("@")[0]]
    if ticket.account is not None:
        parts += [ticket.account.name or "", (ticket.account.domain or "").split(".")[0]]
    return frozenset(w for w in _NON_ALPHA.split(" ".join(parts).lower()) if len(w) > 2)


def content_words(
    docs: Sequence[Parsed], *, ignore: frozenset[str] = frozenset()
) -> frozenset[str]:
    """Distinctive lemmas: alphabetic, longer than two letters, no stop word, name or greeting."""
    known = _CONTENT
    out: set[str] = set()
    for doc in docs:
        for word in doc.words:
            # A membership test, not a sentinel compared by identity: compiled, a tuple is a
            # value and has no identity.
            found = known[word] if word in known else _content(doc, word)
            if found is not None and found[0] not in ignore:
                out.add(found[1])
    return frozenset(out)


# (lower case, lemma) of a word that can be a content word, None for one that cannot; the
# answer depends on the word alone, and tickets repeat their words.
_CONTENT: dict[str, tuple[str, str] | None] = {}


def _content(doc: Parsed, word: str) -> tuple[str, str] | None:
    i = doc.words.index(word)
    lower, lemma = doc.lower[i], doc.lemmas[i]
    found = (
        (lower, lemma)
        if len(word) > 2 and word.isalpha() and lower not in STOP_WORDS and lemma not in _GENERIC
        else None
    )
    if len(_CONTENT) < 100_000:
        _CONTENT[word] = found
    return found


def repeat_contacts(
    ticket: Ticket,
    history: Sequence[Ticket],
    *,
    window_days: int,
    same_issue: Callable[[Ticket], bool],
) -> tuple[int, tuple[Evidence, ...]]:
    """This ticket plus earlier unresolved contacts by the same requester about the same issue.

    An earlier ticket counts when it is still open, or was created within the window before
    this one (a "solved" ticket the customer comes back about is not really resolved).
    """
    # The cheap tests run first, inline: a long history is common and same_issue reads text.
    since = ticket.created_at - timedelta(days=window_days)
    created, tenant = ticket.created_at, ticket.tenant
    rid = ticket.requester.id
    email = (ticket.requester.email or "").strip().lower()
    account = ticket.account.id if ticket.account is not None else None
    earlier: list[Ticket] = []
    for other in history:
        if other.tenant != tenant or other.created_at > created:
            continue
        if other.id == ticket.id and other.helpdesk == ticket.helpdesk:
            continue
        if other.created_at < since and not other.status.is_open:
            continue
        requester = other.requester
        related = (
            (rid and requester.id == rid)
            or (account is not None and other.account is not None and other.account.id == account)
            or (email and requester.email and requester.email.strip().lower() == email)
        )
        if related and same_issue(other):
            earlier.append(other)
    if not earlier:
        return 1, ()
    ids = ", ".join(f"#{t.id}" for t in sorted(earlier, key=lambda t: t.created_at))
    count = len(earlier) + 1
    return count, (
        Evidence(kind="repeat_contact", text=f"contact {count} on the same issue after {ids}"),
    )


def persistent_follow_ups(
    ticket: Ticket, *, customer_messages: Sequence[Message] | None = None
) -> tuple[int, Evidence | None]:
    """Customer messages on this ticket, and evidence when they span days without a fix.

    ``customer_messages`` is ``ticket.customer_messages`` when the caller already has it.
    """
    if customer_messages is None:
        customer_messages = ticket.customer_messages
    customer = [m for m in customer_messages if m.public]
    count = len(customer)
    if count < _FOLLOW_UP_MIN_MESSAGES:
        return count, None
    first, last = customer[0].created_at, customer[-1].created_at
    days = (last.date() - first.date()).days
    if days < _FOLLOW_UP_MIN_DAYS:
        return count, None
    fixed = any(
        m.author is Author.AGENT and m.created_at >= last and _AGENT_FIX.search(m.body)
        for m in ticket.messages
    )
    if fixed:
        return count, None
    return count, Evidence(
        kind="repeat_contact",
        text=f"{count} customer messages over {days} days without a fix",
    )


# A customer who says how often they have asked ("third message now", "3rd time asking",
# "I've emailed twice") is telling us about contacts we may not hold: a phone call, a chat,
# a ticket in another system.
_ORDINALS = {"third": 3, "3rd": 3, "fourth": 4, "4th": 4, "fifth": 5, "5th": 5, "sixth": 6,
             "6th": 6}
_TIMES = {"twice": 2, "two": 2, "three": 3, "four": 4, "five": 5, "several": 3, "multiple": 3,
          "2": 2, "3": 3, "4": 4, "5": 5}
_CONTACT_NOUN = r"(?:message|email|e-mail|ticket|chaser|follow[- ]up)s?"
_CONTACT_VERB = (r"(?:writ\w*|wrote|ask\w*|contact\w*|email\w*|e-mail\w*|messag\w*|chas\w*|"
                 r"call\w*|rang|phon\w*|report\w*|rais\w*|follow\w* up|reach\w* out|"
                 r"appeal\w*|complain\w*)")
_STATED = (
    re.compile(r"\b(?P<n>third|3rd|fourth|4th|fifth|5th|sixth|6th) " + _CONTACT_NOUN + r"\b"),
    re.compile(r"\b(?P<n>third|3rd|fourth|4th|fifth|5th|sixth|6th) time\b,? (?:that |now |of )?"
               r"(?:i|we)?(?:'m|'ve| am| are| have)? ?" + _CONTACT_VERB + r"\b"),
    re.compile(r"\b" + _CONTACT_VERB + r"\b(?: \w+){0,3}? (?P<n>twice|(?:two|three|four|five|"
               r"several|multiple|[2-5]) times)\b"),
    re.compile(r"\b(?:sent|written|raised|opened|logged|made) (?P<n>two|three|four|five|"
               r"several|multiple|[2-5]) " + _CONTACT_NOUN + r"\b"),
)
# Every match above contains one of these: most messages are passed over at once.
_STATED_WORDS = ("time", "twice", "message", "mail", "ticket", "chase", "follow")
# Said of a contact that has not happened: "before I have to write a third time".
_NOT_YET = re.compile(
    r"\b(?:if|before|don't want to|do not want to|won't|never|not)\b[^.!?]{0,25}$")


def stated_contacts(texts: Sequence[str]) -> tuple[int, str]:
    """The contact number the customer says this is (1 when they say none) and the words."""
    best, words = 1, ""
    for text in texts:
        lower = text.lower().replace("\u2019", "'")
        if not any(n in lower for n in _STATED_WORDS):
            continue
        for n, pattern in enumerate(_STATED):
            for m in pattern.finditer(lower):
                if _NOT_YET.search(lower[max(0, m.start() - 40):m.start()]):
                    continue
                said = m.group("n").split()[0]
                # An ordinal names this contact; a count of times names the ones before it.
                number = _ORDINALS[said] if n < 2 else _TIMES[said] + 1
                if number > best:
                    best, words = min(number, 6), text[m.start():m.end()]
    return best, words
