"""A second reading of tickets the local reader is unsure about, by the tenant's language model.

How sure the local reading is (``doubts``): the category's confidence below the tenant's
``unsure_below``, and each trigger that fired in a sentence the rules doubt (a question, a
condition, "thinking about", or a sentence where another match of the same words was set
aside). A sure reading is never sent anywhere.

The model answers one JSON question: the category, whether each fired trigger is live or only
mentioned, an intent the keywords missed, and why, each with words quoted from the ticket.
Its answer moves the signals only within bounds, and only with a quote that really is in the
ticket: it may drop a doubtful trigger, add one of the matrix's triggers as an intent, or
change an unsure category. Every change is a reason that starts "second reading by <model>:".
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from integration.llm import LlmReader
from integration.models import Category, Evidence, Signals, Ticket, TriggerHit

__all__ = ["LlmSecondReader", "Reread", "SecondReader", "doubtful_hits", "doubts"]

_DOUBT = re.compile(
    r"\?\s*$|\b(if|whether|would|could|might|maybe|perhaps|hypothetical\w*|considering"
    r"|thinking about|wondering|in case|what happens|suppose|policy|ever)\b",
    re.IGNORECASE,
)
_MAX_TEXT_CHARS = 6000
_MIN_QUOTE_CHARS = 8
_SYSTEM = (
    "You check an automatic reading of a customer support ticket. Answer with one JSON object "
    "and nothing else, with these keys: \"category\" (one of: {categories}), "
    "\"category_quote\" (the customer's exact words that show the category), \"triggers\" (a "
    "list with one entry per fired trigger: {{\"id\": the trigger, \"reading\": \"live\" if "
    "the customer means it now, or \"mentioned\" if they only ask about it, imagine it, deny "
    "it or speak of the past, \"quote\": the customer's exact words}}), \"intent\" (null, or "
    "{{\"id\": one of: {intents}, \"quote\": the customer's exact words}} when the customer "
    "clearly means that without using its keywords), \"why\" (one sentence). Quote the "
    "ticket exactly; never invent words."
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Reread:
    """Signals after a second reading, and a reason for each change it made."""

    signals: Signals
    reasons: tuple[str, ...] = ()


@runtime_checkable
class SecondReader(Protocol):
    """Anything that may read a ticket again when the local reading is unsure."""

    def reread(self, ticket: Ticket, signals: Signals, *, intents: Sequence[str]) -> Reread:
        """The signals, adjusted within bounds, and why."""
        ...


def doubtful_hits(signals: Signals) -> tuple[TriggerHit, ...]:
    """Trigger hits in a sentence the rules doubt: a question, a condition, a set-aside match."""
    ignored = [e.text for e in signals.evidence if e.kind == "trigger_ignored"]
    return tuple(
        hit for hit in signals.triggers
        if _DOUBT.search(hit.sentence) or any(hit.sentence in text for text in ignored)
    )


def doubts(signals: Signals, *, unsure_below: float) -> tuple[str, ...]:
    """Why the local reading is unsure, in words; empty when it is sure."""
    found = []
    if signals.category_confidence < unsure_below:
        found.append(f"category {signals.category.value} at confidence "
                     f"{signals.category_confidence:.2f}")
    found += [f"{hit.trigger} in {hit.sentence!r}" for hit in doubtful_hits(signals)]
    return tuple(found)


class LlmSecondReader:
    """The second reading by the tenant's model (``llm.second_reading: true``)."""

    def __init__(self, reader: LlmReader) -> None:
        self._reader = reader

    def reread(self, ticket: Ticket, signals: Signals, *, intents: Sequence[str]) -> Reread:
        """Ask the model about an unsure reading; apply what its quotes prove."""
        if not doubts(signals, unsure_below=self._reader.settings.unsure_below):
            return Reread(signals=signals)
        text = self._reader.outgoing(_ticket_text(ticket))
        system = _SYSTEM.format(categories=", ".join(c.value for c in Category),
                                intents=", ".join(intents) or "none")
        answer = self._reader.ask(system, _question(text, signals), parse=_parse, json=True)
        if answer is None:
            return Reread(signals=signals)
        return _apply(answer, signals, text=text, intents=intents,
                      unsure_below=self._reader.settings.unsure_below, model=self._reader.model)


def _ticket_text(ticket: Ticket) -> str:
    parts = [f"Subject: {ticket.subject}"] + [m.body for m in ticket.customer_messages]
    return "\n\n".join(parts)[:_MAX_TEXT_CHARS]


def _question(text: str, signals: Signals) -> str:
    fired = "; ".join(f"{h.trigger} (in: {h.sentence})" for h in signals.triggers) or "none"
    return (f"The ticket, the customer's words:\n{text}\n\nThe automatic reading: category "
            f"{signals.category.value}; fired triggers: {fired}")


@dataclass(frozen=True, kw_only=True, slots=True)
class _Answer:
    category: str | None
    category_quote: str
    mentioned: dict[str, str]  # trigger -> quote, for triggers only mentioned
    intent: tuple[str, str] | None
    why: str


def _parse(raw: str) -> _Answer | None:
    text = raw.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    mentioned = {
        str(t["id"]): _text(t.get("quote"))
        for t in data.get("triggers") or () if isinstance(t, dict) and t.get("id")
        and t.get("reading") == "mentioned"
    }
    intent = data.get("intent")
    return _Answer(
        category=data.get("category") if isinstance(data.get("category"), str) else None,
        category_quote=_text(data.get("category_quote")),
        mentioned=mentioned,
        intent=(str(intent["id"]), _text(intent.get("quote")))
        if isinstance(intent, dict) and intent.get("id") else None,
        why=" ".join(_text(data.get("why")).split())[:300],
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _verified(quote: str, text: str) -> bool:
    """Whether ``quote`` (at least two words) is really in the ticket's text."""
    words = _norm(quote).strip("\"'“”‘’.…")
    return (len(words) >= _MIN_QUOTE_CHARS and " " in words and words in _norm(text))


def _apply(answer: _Answer, signals: Signals, *, text: str, intents: Sequence[str],
           unsure_below: float, model: str) -> Reread:
    reasons: list[str] = []
    why = f" ({answer.why})" if answer.why else ""
    doubtful = doubtful_hits(signals)
    dropped = {
        trigger for trigger, quote in answer.mentioned.items()
        if any(h.trigger == trigger for h in doubtful) and _verified(quote, text)
    }
    hits = [h for h in signals.triggers if not (h.trigger in dropped and h in doubtful)]
    for trigger in sorted(dropped):
        reasons.append(f'"{trigger}" is only mentioned, not meant: '
                       f'"{answer.mentioned[trigger]}"{why}')
    if answer.intent is not None:
        intent, quote = answer.intent
        if intent in intents and intent not in {h.trigger for h in hits} and _verified(
                quote, text):
            hits.append(TriggerHit(trigger=intent, match=quote, sentence=quote))
            reasons.append(f'the customer means "{intent}" without its keywords: "{quote}"{why}')
    category = signals.category
    if (answer.category in {c.value for c in Category} and answer.category != category.value
            and signals.category_confidence < unsure_below
            and _verified(answer.category_quote, text)):
        category = Category(answer.category)
        reasons.append(f"category {category.value}, not {signals.category.value}: "
                       f'"{answer.category_quote}"{why}')
    if not reasons:
        return Reread(signals=signals)
    said = tuple(f"second reading by {model}: {r}" for r in reasons)
    evidence = (*signals.evidence, *(Evidence(kind="second_reading", text=r) for r in said))
    # The learned tier model read the signals this reading changed: its figures no longer hold.
    return Reread(signals=replace(signals, triggers=tuple(hits), category=category,
                                  evidence=evidence, tier_reading=None), reasons=said)
