"""Answer one ticket from the knowledge index, or stay silent and say why.

Order of reading: the customer's words alone may rule an answer out (an action on the account,
a failure); then the index finds candidates by words and meaning; each candidate is read for
whether it states what is asked for the customer's case, and scored by the confidence model;
only the best candidate over the model's threshold is sent. A macro whose placeholders cannot
be filled is not sent. Silence still hands the agent the best suggestions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy

from integration.answer.confidence import ConfidenceModel, default_model
from integration.answer.gate import refusal
from integration.answer.index import PREFIX, Hit, KnowledgeIndex
from integration.answer.reply import MacroError, article_reply, macro_reply
from integration.answer.text import Asked, read_question, states_kind, stem
from integration.answer.types import Answer, DocKind, Suggestion
from integration.models import Ticket

__all__ = ["Answerer", "Candidate", "customer_text"]

_SUGGESTIONS = 3
_QUOTED_PASSAGES = 2
# Two words this close in meaning count as the same thing asked about ("attach" and
# "attachment", "SMS" and "text").
_NEAR_WORD = 0.45
# A name found in more than this share of the documents is the product's, not the customer's case.
_COMMON_SHARE = 0.1
_MONTHS = "january february march april may june july august september october november december"
_DAYS = "monday tuesday wednesday thursday friday saturday sunday"
_CALENDAR = frozenset(f"{_MONTHS} {_DAYS}".split(" "))


@dataclass(frozen=True, kw_only=True, slots=True)
class Candidate:
    """A document read against the question: its features, confidence and best passages."""

    doc: int
    features: tuple[float, ...]
    confidence: float
    passages: tuple[str, ...]
    # The named things asked about (a plan, a provider, a format) the document never mentions.
    unstated: tuple[str, ...] = ()


def customer_text(ticket: Ticket) -> str:
    """What the customer wrote, every message in order."""
    return "\n".join(m.body for m in ticket.customer_messages)


def _ignored(ticket: Ticket) -> frozenset[str]:
    """Words that name the customer, not their case (their name, their company)."""
    names = [ticket.requester.name or ""]
    if ticket.account is not None:
        names.append(ticket.account.name or "")
    return frozenset(w.lower() for name in names for w in name.replace(",", " ").split())


def _best_passages(index: KnowledgeIndex, doc: int, asked: Asked,
                   vector: numpy.ndarray) -> list[tuple[int, float, float]]:
    """The document's passages, the best match first (shared words, then meaning)."""
    scored = index.passage_scores(doc, asked.terms, vector)
    return sorted(scored, key=lambda s: -(s[1] + 0.5 * s[2]))


@dataclass(frozen=True, slots=True)
class _Question:
    """A question read once for every candidate: its words, their vectors and weights."""

    asked: Asked
    vector: numpy.ndarray
    focus: tuple[str, ...]
    stems: tuple[str, ...]
    focus_vectors: numpy.ndarray
    weights: numpy.ndarray
    specifics: frozenset[str]


def _distinctive(index: KnowledgeIndex, term: str) -> bool:
    """A named thing that singles out a case: not a number or a date, not the product itself."""
    if term.isdigit() or term in _CALENDAR:
        return False
    found = index.doc_bm25.postings.get(stem(term))
    return found is None or len(found[0]) <= _COMMON_SHARE * len(index.docs)


def _read(index: KnowledgeIndex, ticket: Ticket) -> _Question:
    body = customer_text(ticket)
    asked = read_question(ticket.subject, body, ignore=_ignored(ticket))
    stems = tuple(stem(w) for w in asked.focus)
    rare = max(index.doc_bm25.idf.values(), default=1.0)
    weights = numpy.array([index.doc_bm25.idf.get(s, rare) for s in stems], dtype="float32")
    return _Question(asked=asked, vector=index.vector(f"{ticket.subject}. {body}"),
                     focus=asked.focus, stems=stems,
                     focus_vectors=index.embedder.encode(list(asked.focus)), weights=weights,
                     specifics=frozenset(s for s in asked.specifics if _distinctive(index, s)))


def _focus(index: KnowledgeIndex, doc: int, question: _Question,
           passage: frozenset[str]) -> tuple[float, ...]:
    """How well the document covers each asked-about word: weakest, weighted mean, missing;
    the one sentence that covers most of them; and the asked-about words other documents
    name but this one does not (the trap of a same-topic article)."""
    if not question.focus or not len(index.doc_words[doc]):
        return 1.0, 1.0, 0.0, 1.0, 0.0, 0.0
    near = index.word_match(doc, question.focus_vectors)
    terms = index.doc_terms[doc]
    prefixes = index.doc_prefixes[doc]
    exact = numpy.array([s in terms or (len(s) >= PREFIX and s[:PREFIX] in prefixes)
                         for s in question.stems])
    match = numpy.where(exact, 1.0, near.max(axis=1))
    mean = float((match * question.weights).sum() / max(float(question.weights.sum()), 1e-6))
    missing = float(min(int((match < _NEAR_WORD).sum()), 3))
    in_passage = sum(1 for s in question.stems if s in passage) / len(question.stems)
    total = max(float(question.weights.sum()), 1e-6)
    places, starts = index.sentence_words[doc]
    sentence = 0.0
    if len(starts):
        # Each asked-about word's closest word in each sentence, all sentences at once.
        covered = numpy.minimum(numpy.maximum.reduceat(near[:, places], starts, axis=1), 1.0)
        sentence = float((question.weights @ covered).max()) / total
    elsewhere = sum(1 for s, m in zip(question.stems, match, strict=True)
                    if m < _NEAR_WORD and _distinctive(index, s)
                    and s in index.doc_bm25.postings)
    return float(match.min()), mean, missing, in_passage, sentence, float(min(elsewhere, 3))


def _features(index: KnowledgeIndex, hit: Hit, others: Sequence[Hit], question: _Question,
              *, first: bool) -> tuple[tuple[float, ...], list[str]]:
    """The candidate's features in ``FEATURES`` order, and its passages best first."""
    asked, vector = question.asked, question.vector
    wanted = set(asked.terms)
    passages = _best_passages(index, hit.doc, asked, vector)
    top = passages[0] if passages else (-1, 0.0, 0.0)
    texts = [index.passages[i].text for i, _, _ in passages]
    doc_terms = index.doc_terms[hit.doc]
    title = index.title_terms[hit.doc]
    specifics = question.specifics
    present = [s for s in specifics if stem(s) in doc_terms]
    stated = any(states_kind(asked.kind, t) for t in texts[:2]) if texts else False
    features = (
        hit.bm25,
        hit.bm25 - max((o.bm25 for o in others), default=0.0),
        hit.cosine,
        hit.cosine - max((o.cosine for o in others), default=0.0),
        top[2],
        top[1],
        len(wanted & doc_terms) / max(len(wanted), 1),
        len(title & wanted) / max(len(title), 1),
        len(present) / len(specifics) if specifics else 1.0,
        float(min(len(specifics) - len(present), 3)),
        float(stated),
        float(index.docs[hit.doc].kind is DocKind.MACRO),
        float(first),
        math.log1p(len(wanted)),
        *_focus(index, hit.doc, question, index.passage_terms[top[0]] if top[0] >= 0
                else frozenset()),
    )
    return features, texts


class Answerer:
    """Answers tickets from one workspace's knowledge index with one confidence model."""

    def __init__(self, index: KnowledgeIndex, model: ConfidenceModel | None = None) -> None:
        self.index = index
        self.model = model or default_model()

    def candidates(self, ticket: Ticket, *, limit: int = 5) -> list[Candidate]:
        """The documents found for the ticket, read and scored, the most confident first."""
        question = _read(self.index, ticket)
        hits = self.index.search(question.asked.terms, question.vector, limit=limit)
        out = []
        for n, hit in enumerate(hits):
            others = hits[:n] + hits[n + 1:]
            features, passages = _features(self.index, hit, others, question, first=n == 0)
            terms = self.index.doc_terms[hit.doc]
            out.append(Candidate(doc=hit.doc, features=features,
                                 confidence=self.model.probability(features),
                                 passages=tuple(passages),
                                 unstated=tuple(sorted(s for s in question.specifics
                                                       if stem(s) not in terms))))
        return sorted(out, key=lambda c: -c.confidence)

    def _suggestions(self, found: Sequence[Candidate]) -> tuple[Suggestion, ...]:
        out = []
        for candidate in found[:_SUGGESTIONS]:
            doc = self.index.docs[candidate.doc]
            out.append(Suggestion(doc_id=doc.id, kind=doc.kind, title=doc.title, url=doc.url,
                                  confidence=round(candidate.confidence, 3),
                                  excerpt=candidate.passages[0] if candidate.passages else ""))
        return tuple(out)

    def answer(self, ticket: Ticket, *, silence: str | None = None) -> Answer:
        """The answer to send, or silence with its reason; ``silence`` is the gate's reason."""
        found = self.candidates(ticket)
        suggestions = self._suggestions(found)
        best = found[0] if found else None
        confidence = round(best.confidence, 3) if best else 0.0
        reason = silence or refusal(f"{ticket.subject}\n{customer_text(ticket)}") \
            or self._unsure(best)
        if reason is not None or best is None:
            return Answer(doc=None, confidence=confidence, reply="", why=str(reason),
                          suggestions=suggestions)
        doc = self.index.docs[best.doc]
        try:
            if doc.kind is DocKind.MACRO:
                reply = macro_reply(ticket, doc)
            else:
                quoted = self._quoted(best)
                reply = article_reply(ticket, doc, quoted)
        except MacroError as err:
            return Answer(doc=None, confidence=confidence, reply="",
                          why=f"{doc.title}: {err}", suggestions=suggestions)
        return Answer(doc=doc, confidence=confidence, reply=reply,
                      why=f"\"{doc.title}\" states the answer (confidence {confidence:.2f})",
                      suggestions=suggestions)

    def _unsure(self, best: Candidate | None) -> str | None:
        """Why the best document is not sent: none found, a case it never names, low confidence."""
        if best is None:
            return "there is no help-centre article or macro to answer from"
        if best.unstated:
            title = self.index.docs[best.doc].title
            return f"\"{title}\" does not mention {', '.join(best.unstated)}, which is asked about"
        if best.confidence < self.model.threshold:
            return "no article or macro clearly states the answer to what is asked"
        return None

    def _quoted(self, best: Candidate) -> list[str]:
        """The best passages, in the order the article gives them."""
        chosen = set(best.passages[:_QUOTED_PASSAGES])
        in_order = [self.index.passages[i].text for i in self.index.by_doc[best.doc]]
        return [text for text in in_order if text in chosen]
