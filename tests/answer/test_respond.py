"""What a decided ticket gets from the team's knowledge: a reply, a note, or nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from integration.answer import Answer, DocKind, KnowledgeDoc, Suggestion
from integration.answer.followup import reply_after, settled
from integration.answer.respond import ANSWERED_TAG, AnswerRecord, respond
from integration.matrix.schema import AnswerMode, AnswerPolicy
from integration.models import ActionKind, Author, Message, Ticket
from tests.conftest import make_ticket

NOW = datetime(2026, 11, 2, 9, 20, tzinfo=UTC)
DOC = KnowledgeDoc(id="art-7", kind=DocKind.ARTICLE, title="Export a report to CSV",
                   body="1. Open the report. 2. Click Export.", url="https://help.example.com/7")
SUGGESTED = Suggestion(doc_id="art-7", kind=DocKind.ARTICLE, title=DOC.title, url=DOC.url,
                       confidence=0.91, excerpt="Click Export.")
WEAK = Suggestion(doc_id="art-9", kind=DocKind.ARTICLE, title="Reports overview", url=None,
                  confidence=0.1, excerpt="")


class Fixed:
    """An answerer that finds what it was told to, and counts the tickets it read."""

    def __init__(self, found: Answer) -> None:
        self.found = found
        self.read = 0

    def answer(self, ticket: Ticket) -> Answer:
        self.read += 1
        return self.found


CONFIDENT = Answer(doc=DOC, confidence=0.91, reply="Hi Dana, open the report and click Export.",
                   why="the article gives the steps", suggestions=(SUGGESTED, WEAK))
SILENT = Answer(doc=None, confidence=0.4, reply="",
                why="the article does not say how many rows an export holds",
                suggestions=(SUGGESTED, WEAK))


def ticket(**overrides: Any) -> Ticket:
    return Ticket.from_dict(make_ticket(**overrides))


def run(mode: AnswerMode, found: Answer = CONFIDENT, *, refusal: str | None = None,
        before: bool = False, policy: AnswerPolicy | None = None, **fields: Any) -> Any:
    return respond(ticket(**fields), mode, policy=policy or AnswerPolicy(), answerer=Fixed(found),
                   refusal=refusal, answered_before=before, now=NOW)


def kinds(response: Any) -> list[ActionKind]:
    return [a.kind for a in response.actions]


def test_answer_mode_replies_tags_and_tells_the_agent() -> None:
    response = run(AnswerMode.ANSWER)
    assert kinds(response) == [ActionKind.PUBLIC_REPLY, ActionKind.ADD_TAGS,
                               ActionKind.INTERNAL_NOTE]
    reply, tags, note = (a.payload for a in response.actions)
    assert reply == {"body": CONFIDENT.reply, "answer_doc": "art-7"}
    assert tags == {"tags": [ANSWERED_TAG]}
    assert "Export a report to CSV" in note["body"] and "Tier 2" in note["body"]
    assert response.record.answered and response.record.doc_id == "art-7"
    assert response.record.at == NOW


def test_a_macro_reply_names_the_macro_so_the_helpdesk_can_apply_its_own() -> None:
    macro = KnowledgeDoc(id="macro-3", kind=DocKind.MACRO, title="Export", body="Hi {{x}}")
    found = Answer(doc=macro, confidence=0.9, reply="Hi Dana", why="", suggestions=())
    reply = run(AnswerMode.ANSWER, found).actions[0].payload
    assert reply["macro"] == "macro-3"


def test_a_refused_ticket_gets_only_a_note_with_the_reason() -> None:
    response = run(AnswerMode.ANSWER, refusal="the customer is upset")
    assert kinds(response) == [ActionKind.INTERNAL_NOTE]
    body = response.actions[0].payload["body"]
    assert "Export a report to CSV" in body and "the customer is upset" in body
    assert "Reports overview" not in body  # below the floor
    assert not response.record.answered and response.record.why == "the customer is upset"


def test_silence_says_why_in_answer_mode() -> None:
    response = run(AnswerMode.ANSWER, SILENT)
    assert kinds(response) == [ActionKind.INTERNAL_NOTE]
    assert SILENT.why in response.actions[0].payload["body"]


def test_the_workspace_threshold_keeps_a_confident_answer_back() -> None:
    response = run(AnswerMode.ANSWER, policy=AnswerPolicy(min_confidence=0.95))
    assert kinds(response) == [ActionKind.INTERNAL_NOTE]
    assert "below the 95%" in response.record.why


def test_suggest_mode_never_replies() -> None:
    response = run(AnswerMode.SUGGEST)
    assert kinds(response) == [ActionKind.INTERNAL_NOTE]
    assert "did not reply" not in response.actions[0].payload["body"]
    assert response.record.mode is AnswerMode.SUGGEST


def test_nothing_worth_suggesting_writes_no_note_but_keeps_the_record() -> None:
    found = Answer(doc=None, confidence=0.1, reply="", why="nothing close", suggestions=(WEAK,))
    response = run(AnswerMode.SUGGEST, found)
    assert response.actions == () and response.record is not None


@pytest.mark.parametrize("case", ["off", "before", "agent_replied", "solved"])
def test_no_answer_when_off_already_done_or_a_person_is_on_it(case: str) -> None:
    fields: dict[str, Any] = {}
    if case == "agent_replied":
        fields["messages"] = [*make_ticket()["messages"], {
            "id": "m2", "author": "agent", "public": True, "body": "Looking now",
            "created_at": "2026-11-02T09:15:00Z"}]
    if case == "solved":
        fields["status"] = "solved"
    answerer = Fixed(CONFIDENT)
    response = respond(ticket(**fields), AnswerMode.OFF if case == "off" else AnswerMode.ANSWER,
                       policy=AnswerPolicy(), answerer=answerer, refusal=None,
                       answered_before=case == "before", now=NOW)
    assert response.actions == () and response.record is None and answerer.read == 0


def test_a_stored_record_reads_its_suggestions_back() -> None:
    record = run(AnswerMode.SUGGEST).record
    assert isinstance(record, AnswerRecord)
    assert AnswerRecord.suggestions_from(record.suggestions_json()) == record.suggestions


def message(body: str, minute: int = 30, author: Author = Author.CUSTOMER) -> Message:
    return Message(id=f"m{minute}", author=author, body=body,
                   created_at=datetime(2026, 11, 2, 9, minute, tzinfo=UTC))


@pytest.mark.parametrize("body", ["Thanks, that worked!", "thank you so much", "Perfect, sorted.",
                                  "Got it, cheers", "No worries, all good now thanks"])
def test_a_thank_you_settles_it(body: str) -> None:
    assert settled(message(body))


@pytest.mark.parametrize("body", [
    "Thanks but it still doesn't work", "That didn't help.", "thanks - what about the API?",
    "I tried that, same error", "Can I talk to a person", "ok",
    "Thank you. " + "We also have a different question about our invoices this month " * 3,
])
def test_anything_else_goes_to_a_person(body: str) -> None:
    assert not settled(message(body))


def test_the_first_reply_after_the_answer_counts_not_earlier_ones() -> None:
    answered_at = datetime(2026, 11, 2, 9, 20, tzinfo=UTC)
    base = ticket()
    earlier = Ticket.from_dict({**base.to_dict(), "messages": [
        m.to_dict() for m in (*base.messages, message("thanks", 25), message("still broken", 40))
    ]})
    assert reply_after(earlier, answered_at) == message("still broken", 40)
    assert reply_after(base, answered_at) is None
