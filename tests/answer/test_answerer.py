"""Known answers on a small hand-written help centre: what is sent, and when Escalade is silent."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import replace

import pytest

from integration.answer import DocKind, KnowledgeDoc
from integration.answer.answerer import Answerer
from integration.answer.confidence import default_model
from integration.answer.index import KnowledgeIndex, split_passages
from integration.answer.reply import REACH_A_PERSON
from integration.models import Ticket

MakeTicket = Callable[..., Ticket]


def test_a_paraphrased_question_gets_the_steps_and_the_link(answerer: Answerer,
                                                            ticket: MakeTicket) -> None:
    found = answerer.answer(ticket("I forgot the password I use to sign in. How do I get a "
                                   "new one?", name="Dana Smith"))
    assert found.doc is not None and found.doc.id == "art-1"
    assert found.confidence >= default_model().threshold
    assert found.reply.startswith("Hi Dana,")
    assert "2. Enter the email address you sign in with." in found.reply
    assert "https://help.parcelhub.example.com/articles/1-resetting-your-password" in found.reply
    assert found.reply.rstrip().endswith(REACH_A_PERSON)
    # The steps that matter, not the whole article.
    assert "check your spam folder" not in found.reply


def test_a_question_about_a_stated_limit_is_answered(answerer: Answerer,
                                                     ticket: MakeTicket) -> None:
    found = answerer.answer(ticket("How long are audit log entries kept on the Pro plan?"))
    assert found.doc is not None and found.doc.id == "art-6"
    assert "90 days on Pro" in found.reply


@pytest.mark.parametrize("body", [
    "How many password reset emails can I request in a day?",
    "How long are shipment records kept?",
])
def test_a_limit_the_article_does_not_state_gets_silence(answerer: Answerer, ticket: MakeTicket,
                                                         body: str) -> None:
    found = answerer.answer(ticket(body))
    assert found.doc is None and found.reply == ""
    assert "no article or macro clearly states" in found.why
    # The agent still sees what was found.
    assert found.suggestions


def test_a_platform_the_article_does_not_name_gets_silence(answerer: Answerer,
                                                           ticket: MakeTicket) -> None:
    found = answerer.answer(ticket("Does the mobile app work on a Huawei HarmonyOS phone?"))
    assert found.doc is None
    assert "does not mention harmonyos, huawei" in found.why
    assert found.suggestions[0].doc_id == "art-5"


@pytest.mark.parametrize(("body", "why"), [
    ("Could you please extend our free trial by two weeks?", "asks us to do something"),
    ("Please upgrade our workspace to the Business plan.", "asks us to do something"),
    ("I want a refund for last month.", "asks us to do something"),
    ("Our exports stopped working this morning, how do I export shipments?", "went wrong"),
])
def test_an_action_request_or_a_failure_is_never_answered(answerer: Answerer,
                                                          ticket: MakeTicket, body: str,
                                                          why: str) -> None:
    found = answerer.answer(ticket(body))
    assert found.doc is None and why in found.why


def test_the_gate_reason_silences_even_a_clear_answer(answerer: Answerer,
                                                      ticket: MakeTicket) -> None:
    found = answerer.answer(ticket("How do I reset my password?"), silence="the customer is upset")
    assert found.doc is None and found.why == "the customer is upset"
    assert found.suggestions[0].doc_id == "art-1"


def test_a_macro_is_sent_with_its_placeholders_filled(answerer: Answerer,
                                                      ticket: MakeTicket) -> None:
    found = answerer.answer(ticket("Where can I download our invoices as PDF files?",
                                   name="Priya Natarajan", id="4711"))
    assert found.doc is not None and found.doc.kind is DocKind.MACRO
    assert found.reply.startswith("Hi Priya,\n\nYou can download every invoice as a PDF")
    assert "Your request number is 4711." in found.reply
    assert "{{" not in found.reply and found.reply.rstrip().endswith(REACH_A_PERSON)


def test_a_macro_with_a_placeholder_we_cannot_fill_is_not_sent(
        docs: list[KnowledgeDoc], ticket: MakeTicket) -> None:
    # A model that would send anything: only the placeholder can stop this macro.
    eager = replace(default_model(), threshold=0.0)
    macro = KnowledgeDoc(id="m-9", kind=DocKind.MACRO, title="Where to find invoices",
                         body="Hi {{ticket.requester.first_name}}, invoices are under Settings >"
                              " Billing > Invoices. {{dc.invoice_footer}}")
    answerer = Answerer(KnowledgeIndex.build([macro]), eager)
    found = answerer.answer(ticket("Where can I download our invoices?"))
    assert found.doc is None and found.reply == ""
    assert "{{dc.invoice_footer}}" in found.why


def test_the_index_survives_pickling(docs: list[KnowledgeDoc], ticket: MakeTicket) -> None:
    index = pickle.loads(pickle.dumps(KnowledgeIndex.build(docs)))
    found = Answerer(index).answer(ticket("How do I get a new password? I forgot mine."))
    assert found.doc is not None and found.doc.id == "art-1"


def test_an_empty_knowledge_base_is_silent(ticket: MakeTicket) -> None:
    found = Answerer(KnowledgeIndex.build([])).answer(ticket("How do I reset my password?"))
    assert found.doc is None and "no help-centre article" in found.why


def test_steps_stay_with_the_line_that_leads_them() -> None:
    passages = split_passages("Intro line.\n\nTo export:\n1. Open Shipments.\n2. Click Export.\n"
                              "\nExports hold up to 50,000 rows.")
    assert passages == ["Intro line.", "To export:\n1. Open Shipments.\n2. Click Export.",
                        "Exports hold up to 50,000 rows."]
