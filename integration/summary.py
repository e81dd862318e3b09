"""Extractive ticket summaries: what the customer wants, what they tried, what the bot said.

Every sentence of a summary is copied from the conversation (whitespace normalized, quoted
replies, signatures and legal disclaimers dropped first), so a summary never states a fact the
ticket does not. A sentence longer than ``MAX_SENTENCE_CHARS`` keeps its beginning and ends
with "…". The fixed labels of ``Summary.text`` ("Wants:", "Tried:") are the only added words.

Tenant setting ``summary_provider``: ``"extractive"`` (the default) or ``"llm"``, which has the
tenant's language model (setting ``llm``, see ``integration.llm``) write ``Summary.text``
instead: "Summary written by <model>: ...". The quoted parts (wants, tried, the bot's
answers, the customer's words) stay extractive, and any failure of the model gives the
extractive summary.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from integration.detect.senses import has_problem, is_question
from integration.detect.text import Parsed, clean_body, reader
from integration.errors import ConfigurationError, ValidationError
from integration.llm import LlmReader, LlmSettings
from integration.models import Author, Ticket

__all__ = [
    "MAX_SENTENCE_CHARS",
    "LLM_PROVIDERS",
    "ExtractiveSummarizer",
    "LlmSummarizer",
    "Summary",
    "SummaryProvider",
    "strip_body",
    "summarize",
    "summarizer_from_settings",
    "summary_llm_settings",
]

log = logging.getLogger(__name__)

MAX_SENTENCE_CHARS = 300
# ``summary_provider`` values that mean "the tenant's language model" ("openai" is its old name).
LLM_PROVIDERS = frozenset({"llm", "openai"})
_MAX_MODEL_SUMMARY_CHARS = 800
_MODEL_INSTRUCTIONS = (
    "Summarize this customer support ticket for the agent taking it over, in at most three "
    "short sentences: what the customer wants, what they already tried, and how urgent it is "
    "for them. Use only what the ticket says; do not invent facts, names or numbers."
)
# Bounds on what one summary reads, so a ticket with hundreds of replies costs the same.
_MAX_MESSAGES = 40
_MAX_BODY_CHARS = 6000

_DISCLAIMER = re.compile(
    r"^\s*(confidentiality( notice)?\b|disclaimer\b|legal notice\b"
    r"|(this|the) (e-?mail|message|communication)\b.{0,60}\b(confidential|privileged|intended)"
    r"|the information (contained )?in this\b|if you (are not|have received) th"
    r"|please consider the environment)",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"^(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|thanks|thank you|many thanks"
    r"|cheers|regards|best|ok|okay)\b",
    re.IGNORECASE,
)
_REQUEST = re.compile(
    r"\b(please|can you|could you|would you|will you|can we|could we|can i|could i|i need|we need"
    r"|i want|we want|i'?d like|we'?d like|i would like|we would like|help (me|us)"
    r"|is there a way|how (do|can|should|to) |what should|let me know|need to know)",
    re.IGNORECASE,
)
_TRIED = re.compile(
    r"\b(tried|attempted|(i|we)('ve| have| had)? already|cleared (the |my |our |all )?"
    r"(browser )?(cache|cookies)|restarted|rebooted|reinstalled|re-installed|uninstalled"
    r"|followed (the|your) (article|guide|instructions|steps|docs|documentation|help)"
    r"|logged out and|signed out and|(in|using) (an? )?(incognito|private) (window|mode)"
    r"|(different|another) (browser|device|computer)|reset (my|our|the) password)\b",
    re.IGNORECASE,
)
_TELLING = re.compile(
    r"\b(urgent|asap|immediately|unacceptable|ridiculous|frustrat\w*|angry|disappoint\w*"
    r"|furious|lawyer|legal action|cancel\w*|refund|losing|lost|revenue|customers|deadline"
    r"|production|blocked|can'?t work|again|still|third time|days?|weeks?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Summary:
    """A summary whose every sentence is quoted from the ticket."""

    wants: str
    tried: tuple[str, ...] = ()
    bot_answered: tuple[str, ...] = ()
    customer_words: str = ""
    text: str = ""
    # The language model that wrote ``text``; None when every sentence is quoted.
    written_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize for alert payloads and the decision log."""
        return {
            "wants": self.wants,
            "tried": list(self.tried),
            "bot_answered": list(self.bot_answered),
            "customer_words": self.customer_words,
            "text": self.text,
            "written_by": self.written_by,
        }


@runtime_checkable
class SummaryProvider(Protocol):
    """Anything that summarizes a ticket."""

    def summarize(self, ticket: Ticket, *, max_sentences: int = 3) -> Summary:
        """Summarize ``ticket``."""
        ...


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str
    doc: Parsed
    start: int
    message: int
    position: int


def summarize(ticket: Ticket, *, max_sentences: int = 3) -> Summary:
    """Summarize a ticket from its own sentences (never invents)."""
    limit = max(1, max_sentences)
    customer = [m for m in ticket.messages if m.author is Author.CUSTOMER][:_MAX_MESSAGES]
    said = [s for n, m in enumerate(customer) for s in _sentences(m.body, n)]
    tried = _unique(s.text for s in said if _is_tried(s))[:limit]
    wants = _best(said, _ask_score, exclude=set(tried))
    if not wants:
        wants = _clip(" ".join(ticket.subject.split())) if _has_words(ticket.subject) else ""
    words = _best(said, _telling_score, exclude={wants}, minimum=1.0) or wants
    bots = [m for m in ticket.messages if m.author is Author.BOT and m.public][:_MAX_MESSAGES]
    answered = _unique(
        first.text for first in (next(iter(_sentences(m.body, 0)), None) for m in bots) if first
    )[:limit]
    return Summary(
        wants=wants,
        tried=tuple(tried),
        bot_answered=tuple(answered),
        customer_words=words,
        text=_text(wants, tried, answered, words),
    )


class ExtractiveSummarizer:
    """The default provider: ``summarize`` over the ticket's own sentences."""

    name = "extractive"

    def summarize(self, ticket: Ticket, *, max_sentences: int = 3) -> Summary:
        """Summarize ``ticket`` without inventing anything."""
        return summarize(ticket, max_sentences=max_sentences)


class LlmSummarizer:
    """The summary's text written by the tenant's model; the extractive one when it fails."""

    name = "llm"

    def __init__(self, reader: LlmReader) -> None:
        self._reader = reader

    def summarize(self, ticket: Ticket, *, max_sentences: int = 3) -> Summary:
        """The extractive summary, with ``text`` by the model when it answers."""
        quoted = summarize(ticket, max_sentences=max_sentences)
        written = self._reader.ask(_MODEL_INSTRUCTIONS, _conversation(ticket), parse=_written)
        if written is None:
            return quoted
        model = self._reader.model
        return replace(quoted, text=f"Summary written by {model}: {written}", written_by=model)


def _conversation(ticket: Ticket) -> str:
    # Public messages only: an agent's private note is not the customer's story.
    said = [(m.author.value, strip_body(m.body)) for m in ticket.messages[:_MAX_MESSAGES]
            if m.public or m.author is Author.CUSTOMER]
    lines = [f"Subject: {ticket.subject}", *(f"{who}: {body}" for who, body in said if body)]
    return "\n\n".join(lines)[:_MAX_BODY_CHARS]


def _written(answer: str) -> str | None:
    text = " ".join(answer.split())
    if not _has_words(text):
        return None
    return _clip_to(text, _MAX_MODEL_SUMMARY_CHARS)


def _clip_to(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def summary_llm_settings(settings: Mapping[str, Any]) -> LlmSettings | None:
    """The tenant's model settings (``llm``, or its older name ``summary_llm``), checked."""
    for key in ("llm", "summary_llm"):
        if settings.get(key) is not None:
            return LlmSettings.parse(settings[key], field=key)
    return None


def summarizer_from_settings(
    settings: Mapping[str, Any], *, reader: LlmReader | None = None
) -> SummaryProvider:
    """The provider a tenant's settings name (``summary_provider``, default extractive).

    Settings that do not hold together raise ``ConfigurationError``; ``"llm"`` summarizes
    with ``reader`` (the tenant's model), or extractively when none could be built.
    """
    provider = settings.get("summary_provider") or "extractive"
    if not isinstance(provider, str):
        raise ConfigurationError(f"summary_provider must be a string, got {provider!r}")
    if provider == "extractive":
        return ExtractiveSummarizer()
    if provider not in LLM_PROVIDERS:
        raise ConfigurationError(f"summary_provider {provider!r}: use extractive or llm")
    try:
        llm = summary_llm_settings(settings)
    except ValidationError as err:
        raise ConfigurationError(str(err)) from err
    if llm is None:
        raise ConfigurationError(
            f"summary_provider {provider!r} needs the llm setting "
            '({"base_url": ..., "model": ..., "api_key_env": ...})'
        )
    if reader is None:
        log.warning("summary_provider %r: no language model client; the extractive summary "
                    "is used", provider)
        return ExtractiveSummarizer()
    return LlmSummarizer(reader)


# --- reading sentences -------------------------------------------------------------------


def strip_body(body: str) -> str:
    """The message without quoted replies, signature or legal disclaimer."""
    lines = clean_body(body[:_MAX_BODY_CHARS]).split("\n")
    for i, line in enumerate(lines):
        if _DISCLAIMER.match(line):
            lines = lines[:i]
            break
    return "\n".join(lines).strip()


def _sentences(body: str, message: int) -> list[_Sentence]:
    doc = reader().read(strip_body(body))
    found: list[_Sentence] = []
    for start, end in doc.sents:
        text = " ".join(doc.span_text(start, end).split())
        if not _has_words(text) or (_FILLER.match(text) and len(text.split()) <= 4):
            continue
        found.append(_Sentence(_clip(text), doc, start, message, len(found)))
    return found


def _has_words(text: str) -> bool:
    return sum(c.isalpha() for c in text) >= 2


def _clip(text: str) -> str:
    if len(text) <= MAX_SENTENCE_CHARS:
        return text
    cut = text[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0]
    return cut + "…"


def _is_tried(sentence: _Sentence) -> bool:
    return bool(_TRIED.search(sentence.text)) and not sentence.text.rstrip().endswith("?")


def _ask_score(sentence: _Sentence) -> float:
    score = 0.0
    if _REQUEST.search(sentence.text):
        score += 3.0
    if is_question(sentence.doc, sentence.start):
        score += 2.0
    if has_problem(sentence.doc, sentence.start):
        score += 1.5
    if sentence.message == 0:
        score += 1.0
    if sentence.position < 2:
        score += 0.5
    count = len(sentence.text.split())
    if count < 4:
        score -= 2.0
    elif count > 60:
        score -= 1.0
    return score


def _telling_score(sentence: _Sentence) -> float:
    score = float(min(3, len(_TELLING.findall(sentence.text))))
    if "!" in sentence.text:
        score += 1.0
    if any(w.isupper() and len(w) > 2 and w.isalpha() for w in sentence.text.split()):
        score += 1.0
    if len(sentence.text.split()) < 4:
        score -= 1.0
    return score


def _best(
    sentences: list[_Sentence],
    score: Callable[[_Sentence], float],
    *,
    exclude: set[str],
    minimum: float = float("-inf"),
) -> str:
    best, best_score = "", minimum
    for sentence in sentences:  # earliest wins ties
        if sentence.text in exclude:
            continue
        value = score(sentence)
        if value > best_score or (not best and value >= best_score):
            best, best_score = sentence.text, value
    return best


def _unique(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def _text(wants: str, tried: list[str], answered: list[str], words: str) -> str:
    if not (wants or tried or answered):
        return "Nothing to summarize: the customer wrote no readable text."
    lines = [f"Wants: {wants}"] if wants else []
    lines += [f"Tried: {t}" for t in tried]
    lines += [f"Bot answered: {a}" for a in answered]
    if words and words != wants:
        lines.append(f'In their words: "{words}"')
    return "\n".join(lines)
