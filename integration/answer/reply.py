"""The reply the customer reads: the passages that answer, the article's link, a way to a person.

Macros are the team's own words: their placeholders are filled from the ticket and nothing
else is changed. A placeholder we cannot fill means the macro is not sent at all: a customer
never sees raw braces or a guessed value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from integration.answer.types import KnowledgeDoc
from integration.models import Ticket

__all__ = [
    "REACH_A_PERSON",
    "SENDER",
    "MacroError",
    "article_reply",
    "macro_reply",
    "placeholder_values",
    "render_macro",
]

REACH_A_PERSON = "If this doesn't answer your question, reply to this message and a person " \
                 "will pick it up."
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}|]+?)\s*(?:\|\s*fallback\s*:\s*\"([^\"]*)\"\s*)?\}\}")
_LEFTOVER = re.compile(r"\{\{|\}\}|\{%|%\}")
_QUOTE_CHARS = 700
# Who signs a macro sent without an agent.
SENDER = "The support team"


class MacroError(ValueError):
    """A macro holds a placeholder that cannot be filled from the ticket."""


def _first_name(name: str | None) -> str | None:
    if not name or not name.strip():
        return None
    return name.strip().split()[0]


def placeholder_values(ticket: Ticket, *, sender: str = SENDER) -> dict[str, str]:
    """What a macro's placeholders can be filled with, by every name the helpdesks use.

    The agent placeholders (``{{current_user.first_name}}``) name the sender: an answer sent
    by Escalade is signed by the team, not by an agent who never saw it.
    """
    requester = ticket.requester
    name = (requester.name or "").strip() or None
    first = _first_name(name)
    values: dict[str, str | None] = {
        "name": name, "first_name": first, "email": requester.email,
        "ticket.id": ticket.id, "ticket.subject": ticket.subject, "ticket.title": ticket.subject,
        "ticket.requester.name": name, "ticket.requester.first_name": first,
        "ticket.requester.email": requester.email,
        "requester.name": name, "requester.first_name": first, "requester.email": requester.email,
        "contact.name": name, "contact.first_name": first, "user.name": name,
        "user.first_name": first, "customer.name": name, "customer.first_name": first,
    }
    for key in ("current_user.name", "current_user.first_name", "agent.name",
                "agent.first_name", "ticket.assignee.name", "ticket.assignee.first_name"):
        values[key] = sender
    for key, value in ticket.custom.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            values[f"ticket.custom.{key}"] = str(value)
    if ticket.account is not None and ticket.account.name:
        for key in ("ticket.organization.name", "organization.name", "company.name",
                    "ticket.company.name", "account.name"):
            values[key] = ticket.account.name
    return {k: v for k, v in values.items() if v}


def render_macro(body: str, values: Mapping[str, str]) -> str:
    """The macro with its placeholders filled; ``MacroError`` names one that cannot be."""
    def fill(match: re.Match[str]) -> str:
        key, fallback = match.group(1).strip(), match.group(2)
        value = values.get(key) or values.get(key.lower())
        if value is None:
            if fallback is not None:
                return fallback
            raise MacroError(f"the macro holds a placeholder we cannot fill ({{{{{key}}}}})")
        return value

    text = _PLACEHOLDER.sub(fill, body)
    if _LEFTOVER.search(text):
        raise MacroError("the macro holds template markup we cannot fill")
    return text


def _greeting(ticket: Ticket) -> str:
    first = _first_name(ticket.requester.name)
    return f"Hi {first}," if first and "@" not in first else "Hi,"


def _quoted(passages: Sequence[str]) -> str:
    out: list[str] = []
    used = 0
    for passage in passages:
        if out and used + len(passage) > _QUOTE_CHARS:
            break
        out.append(passage)
        used += len(passage)
    return "\n\n".join(out)


def article_reply(ticket: Ticket, doc: KnowledgeDoc, passages: Sequence[str]) -> str:
    """A short reply quoting the passages that answer, with the article's link."""
    link = f"{doc.title}: {doc.url}" if doc.url else f"the article \"{doc.title}\""
    return "\n\n".join([
        _greeting(ticket),
        "This is from our help centre and should answer your question:",
        _quoted(passages),
        f"The full article is here: {link}" if doc.url else f"It comes from {link}.",
        REACH_A_PERSON,
    ])


def macro_reply(ticket: Ticket, doc: KnowledgeDoc) -> str:
    """The team's macro with its placeholders filled, and the way to reach a person."""
    text = render_macro(doc.body, placeholder_values(ticket)).strip()
    if doc.url:
        text = f"{text}\n\nMore in our help centre: {doc.url}"
    return f"{text}\n\n{REACH_A_PERSON}"
