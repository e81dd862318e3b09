"""The default matrix with a knowledge base: suggest, answer, hand over when it did not help."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from integration.answer import Answer, DocKind, Suggestion
from integration.answer.respond import ANSWERED_TAG, AnswerRecord
from integration.decide import Decided, build_detector, decide
from integration.enrich import Context
from integration.matrix import default_matrix
from integration.matrix.schema import AnswerMode, AnswerPolicy
from integration.models import ActionKind, Category, Ticket, Tier
from tests.answer.test_respond import CONFIDENT, DOC, Fixed
from tests.conftest import make_ticket

ASKED = datetime(2026, 11, 2, 9, 14, tzinfo=UTC)
NOW = ASKED + timedelta(minutes=1)


def matrix(mode: AnswerMode) -> Any:
    base = default_matrix()
    return replace(base, answers=AnswerPolicy(mode=mode))


def run(ticket: Ticket, mode: AnswerMode, *, answered: AnswerRecord | None = None,
        found: Answer = CONFIDENT, now: datetime = NOW) -> Decided:
    m = matrix(mode)
    return decide(ticket, [], matrix=m, detector=build_detector(m), now=now,
                  context=Context(answerer=Fixed(found), answered=answered))


def question(*replies: tuple[int, str]) -> Ticket:
    data = make_ticket()
    data["messages"] += [{"id": f"r{i}", "author": "customer", "public": True, "body": body,
                          "created_at": (ASKED + timedelta(minutes=m)).isoformat()}
                         for i, (m, body) in enumerate(replies)]
    return Ticket.from_dict(data)


def answered_record() -> AnswerRecord:
    return AnswerRecord(mode=AnswerMode.ANSWER, answered=True, doc_id=DOC.id,
                        doc_title=DOC.title, doc_url=DOC.url, confidence=0.91, why="", at=NOW)


def test_a_how_to_question_is_answered_in_answer_mode() -> None:
    decided = run(question(), AnswerMode.ANSWER)
    assert decided.decision.tier is Tier.ONE
    assert decided.answer is not None and decided.answer.record is not None
    assert decided.answer.record.answered
    assert ActionKind.PUBLIC_REPLY in [a.kind for a in decided.answer.actions]


def test_the_default_matrix_only_suggests() -> None:
    m = default_matrix()
    assert m.answers.mode_for(Category.HOW_TO) is AnswerMode.SUGGEST
    decided = decide(question(), [], matrix=m, detector=build_detector(m), now=NOW,
                     context=Context(answerer=Fixed(CONFIDENT)))
    assert decided.answer is not None
    assert [a.kind for a in decided.answer.actions] == [ActionKind.INTERNAL_NOTE]


def test_a_tier_2_matter_is_never_answered() -> None:
    data = make_ticket()
    data["messages"][0]["body"] = ("Your last invoice charged us twice for 40 seats, please "
                                   "correct the billing and refund the difference.")
    decided = run(Ticket.from_dict(data), AnswerMode.ANSWER)
    assert decided.decision.tier is not Tier.ONE
    assert decided.answer is not None
    assert ActionKind.PUBLIC_REPLY not in [a.kind for a in decided.answer.actions]
    assert decided.answer.record is not None and "Tier" in decided.answer.record.why


def test_writing_back_after_the_answer_goes_to_tier_2_with_what_was_tried() -> None:
    ticket = question((10, "That didn't help, the Export button is greyed out for me."))
    decided = run(ticket, AnswerMode.ANSWER, answered=answered_record(),
                  now=ASKED + timedelta(minutes=11))
    assert decided.decision.tier is Tier.TWO
    reasons = {r.rule_id: r.reason for r in decided.decision.rules}
    assert "answer_not_enough" in reasons
    assert "greyed out" in reasons["answer_not_enough"]
    assert decided.handoff is not None
    assert any("Export a report to CSV" in t for t in decided.handoff.tried)
    assert decided.answer_declined_at == ASKED + timedelta(minutes=10)
    # Not answered a second time.
    assert decided.answer is not None and decided.answer.actions == ()
    note = next(a for a in decided.decision.actions if a.kind is ActionKind.INTERNAL_NOTE)
    assert "Export a report to CSV" in note.payload["body"]


def test_a_thank_you_after_the_answer_keeps_tier_1() -> None:
    ticket = question((10, "Thanks, that worked!"))
    decided = run(ticket, AnswerMode.ANSWER, answered=answered_record(),
                  now=ASKED + timedelta(minutes=11))
    assert decided.decision.tier is Tier.ONE
    assert not decided.signals.answer_declined
    assert decided.answer_declined_at is None


def test_without_knowledge_nothing_changes() -> None:
    m = default_matrix()
    decided = decide(question(), [], matrix=m, detector=build_detector(m), now=NOW)
    assert decided.answer is None
    assert ANSWERED_TAG not in str(decided.decision.actions)


def test_suggestions_go_to_the_record_in_suggest_mode() -> None:
    extra = Suggestion(doc_id="m-1", kind=DocKind.MACRO, title="Exports macro", url=None,
                       confidence=0.6, excerpt="")
    found = replace(CONFIDENT, suggestions=(*CONFIDENT.suggestions, extra))
    decided = run(question(), AnswerMode.SUGGEST, found=found)
    assert decided.answer is not None and decided.answer.record is not None
    assert [s.doc_id for s in decided.answer.record.suggestions] == ["art-7", "art-9", "m-1"]
    body = decided.answer.actions[0].payload["body"]
    assert "Exports macro" in body and "Reports overview" not in body
