"""What a decided ticket gets from its team's knowledge: a reply, an agent's note, or nothing.

``respond`` is pure: the matrix's mode for the ticket's category, the answerer's finding and
the reason the ticket may not be answered (worked out by the caller from the decision) go in;
the write-backs and the record to store come out. A ticket is answered or given suggestions
once; a later change to it does not answer again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from integration.answer.answerer import customer_text
from integration.answer.followup import reply_after
from integration.answer.gate import gate
from integration.answer.types import Answer, DocKind, Suggestion
from integration.matrix.schema import AnswerMode, AnswerPolicy, Matrix
from integration.models import (
    Action,
    ActionKind,
    Author,
    Decision,
    Evidence,
    Message,
    Signals,
    Status,
    Ticket,
)

__all__ = [
    "ANSWERED_TAG",
    "AnswerRecord",
    "AnswerSource",
    "Declined",
    "Response",
    "declined_answer",
    "knowledge_response",
    "respond",
    "with_declined",
]

# The tag on a ticket Escalade answered, for the helpdesk's own views and reports.
ANSWERED_TAG = "escalade_answered"
# Below this confidence an article is not worth an agent's attention in a note.
SUGGEST_FLOOR = 0.25
_NOTE_SUGGESTIONS = 3


class AnswerSource(Protocol):
    """Anything that reads a ticket against a team's knowledge."""

    def answer(self, ticket: Ticket) -> Answer:
        """The document that answers ``ticket`` and the reply, or silence with the reason."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerRecord:
    """What Escalade did with the team's knowledge on one ticket, stored once per ticket."""

    mode: AnswerMode
    answered: bool
    doc_id: str | None
    doc_title: str | None
    doc_url: str | None
    confidence: float
    why: str
    at: datetime
    suggestions: tuple[Suggestion, ...] = ()
    # When the customer wrote back for more after the automatic answer.
    declined_at: datetime | None = None

    def suggestions_json(self) -> list[dict[str, Any]]:
        """The suggestions as stored."""
        return [{"doc_id": s.doc_id, "kind": s.kind.value, "title": s.title, "url": s.url,
                 "confidence": round(s.confidence, 4), "excerpt": s.excerpt}
                for s in self.suggestions]

    @staticmethod
    def suggestions_from(rows: Any) -> tuple[Suggestion, ...]:
        """Read back what ``suggestions_json`` stored."""
        return tuple(_suggestion(row) for row in rows or () if isinstance(row, Mapping))


def _suggestion(row: Mapping[str, Any]) -> Suggestion:
    return Suggestion(doc_id=str(row["doc_id"]), kind=DocKind(str(row["kind"])),
                      title=str(row["title"]), url=row.get("url"),
                      confidence=float(row["confidence"]), excerpt=str(row.get("excerpt", "")))


@dataclass(frozen=True, kw_only=True, slots=True)
class Response:
    """The write-backs and the record of one ticket's answer or suggestions."""

    actions: tuple[Action, ...] = ()
    record: AnswerRecord | None = None


def respond(
    ticket: Ticket,
    category_mode: AnswerMode,
    *,
    policy: AnswerPolicy,
    answerer: AnswerSource,
    refusal: str | None,
    answered_before: bool,
    now: datetime,
) -> Response:
    """Answer, suggest or stay out of ``ticket``; ``refusal`` says why it may not be answered."""
    if category_mode is AnswerMode.OFF or answered_before or not _open_question(ticket):
        return Response()
    found = answerer.answer(ticket)
    if category_mode is AnswerMode.ANSWER and refusal is None:
        refusal = _too_unsure(found, policy)
    if category_mode is AnswerMode.ANSWER and refusal is None and found.doc is not None:
        return _answered(found, now)
    why = (refusal or found.why) if category_mode is AnswerMode.ANSWER else found.why
    return _suggested(found, category_mode, why, now)


def _open_question(ticket: Ticket) -> bool:
    """A ticket still waiting for its first reply from a person."""
    if ticket.status in (Status.SOLVED, Status.CLOSED) or not ticket.customer_messages:
        return False
    return not any(m.author is Author.AGENT and m.public for m in ticket.messages)


def _too_unsure(found: Answer, policy: AnswerPolicy) -> str | None:
    if found.doc is None:
        return found.why or "no article answers it"
    if policy.min_confidence is not None and found.confidence < policy.min_confidence:
        return (f"the best article's confidence {found.confidence:.0%} is below the "
                f"{policy.min_confidence:.0%} this workspace asks for")
    return None


def _answered(found: Answer, now: datetime) -> Response:
    doc = found.doc
    assert doc is not None
    reply: dict[str, Any] = {"body": found.reply, "answer_doc": doc.id}
    if doc.kind is DocKind.MACRO:
        reply["macro"] = doc.id
    note = (f"Escalade answered this from “{doc.title}”{_link(doc.url)} "
            f"(confidence {found.confidence:.0%}). If the customer writes back for more, the "
            "ticket goes to Tier 2 with this noted.")
    actions = (
        Action(kind=ActionKind.PUBLIC_REPLY, target="helpdesk", payload=reply),
        Action(kind=ActionKind.ADD_TAGS, target="helpdesk", payload={"tags": [ANSWERED_TAG]}),
        Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk", payload={"body": note}),
    )
    record = AnswerRecord(mode=AnswerMode.ANSWER, answered=True, doc_id=doc.id,
                          doc_title=doc.title, doc_url=doc.url, confidence=found.confidence,
                          why=found.why, at=now, suggestions=found.suggestions)
    return Response(actions=actions, record=record)


def _suggested(found: Answer, mode: AnswerMode, why: str, now: datetime) -> Response:
    worth = [s for s in found.suggestions if s.confidence >= SUGGEST_FLOOR]
    record = AnswerRecord(mode=mode, answered=False, doc_id=None, doc_title=None, doc_url=None,
                          confidence=found.confidence, why=why, at=now,
                          suggestions=found.suggestions)
    if not worth:
        return Response(record=record)
    lines = ["Help-centre articles that may answer this:"]
    lines += [f"• “{s.title}” ({s.confidence:.0%}){_link(s.url)}"
              for s in worth[:_NOTE_SUGGESTIONS]]
    if mode is AnswerMode.ANSWER and why:
        lines.append(f"Escalade did not reply itself: {why}.")
    note = Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk",
                  payload={"body": "\n".join(lines)})
    return Response(actions=(note,), record=record)


def _link(url: str | None) -> str:
    return f" {url}" if url else ""


def knowledge_response(
    ticket: Ticket, decision: Decision, signals: Signals, *, matrix: Matrix,
    answerer: AnswerSource | None, answered: AnswerRecord | None, now: datetime,
) -> Response | None:
    """What the workspace's knowledge gives a decided ticket, by its matrix; None when off."""
    if answerer is None or not matrix.answers.enabled:
        return None
    mode = matrix.answers.mode_for(decision.category)
    refusal = gate(tier=decision.tier, signals=signals, account=ticket.account,
                   text=f"{ticket.subject}\n{customer_text(ticket)}")
    return respond(ticket, mode, policy=matrix.answers, answerer=answerer, refusal=refusal,
                   answered_before=answered is not None, now=now)


@dataclass(frozen=True, kw_only=True, slots=True)
class Declined:
    """The customer's message after an automatic answer, and what that answer was."""

    message: Message
    tried: str


def declined_answer(ticket: Ticket, answered: AnswerRecord | None) -> Declined | None:
    """The customer's first message asking for more after Escalade answered, or None."""
    if answered is None or not answered.answered:
        return None
    message = reply_after(ticket, answered.at)
    if message is None:
        return None
    tried = f"Escalade answered automatically with “{answered.doc_title}”{_link(answered.doc_url)}"
    return Declined(message=message, tried=tried)


def with_declined(signals: Signals, declined: Declined | None) -> Signals:
    """``signals`` knowing that the customer wrote back after the automatic answer."""
    if declined is None:
        return signals
    said = Evidence(kind="answer_declined", text=declined.message.body)
    return replace(signals, answer_declined=True, evidence=(*signals.evidence, said))
