"""The second reading: asked only when the local reading is unsure, acting only on real quotes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from integration.decide import SECOND_READING, Decided, build_detector, decide
from integration.enrich import Context
from integration.matrix import load_matrix_text
from integration.models import Category, Evidence, Signals, Tier, TriggerHit
from integration.second_reading import LlmSecondReader, doubtful_hits, doubts
from tests.llm.kit import T0, reader, ticket
from tests.llm.openai_server import FakeOpenAI, Reply, fake_openai

MATRIX = load_matrix_text("""\
version: 2
triggers:
  churn: {lemmas: [cancel], phrases: ["evaluating other vendors"]}
  refund: {lemmas: [refund]}
tiers:
  3:
    rules:
      - id: churn_or_refund
        when: {trigger: [churn, refund]}
    sla: {first_response: 1h}
  2:
    rules:
      - id: security
        when: {category: [security]}
    sla: {first_response: 4h}
  1:
    sla: {first_response: 24h}
""", source="m.yaml")
DETECTOR = build_detector(MATRIX)
# A condition the local reader still takes as live, so only a second reading can settle it.
HYPOTHETICAL = ticket("Our finance team wants to know the notice period if we cancel our "
                      "subscription.", subject="Contract question")
MONEY_BACK = ticket("The invoice was paid twice by our bank. Please send the second payment "
                    "back to us.", subject="Annual plan")


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai() as server:
        yield server


def answers(fake: FakeOpenAI, **answer: Any) -> None:
    body = {"category": "other", "category_quote": "", "triggers": [], "intent": None,
            "why": "The customer asks about the contract terms.", **answer}
    fake.answer = lambda _request: Reply(content=json.dumps(body))


def decided(fake: FakeOpenAI, source: Any, **settings: Any) -> Decided:
    second = LlmSecondReader(reader(fake, second_reading=True, **settings))
    return decide(source, [], matrix=MATRIX, detector=DETECTOR, now=T0,
                  context=Context(second_reader=second))


def test_a_doubtful_trigger_only_mentioned_is_dropped_and_the_reason_says_so(
    fake: FakeOpenAI,
) -> None:
    local = decide(HYPOTHETICAL, [], matrix=MATRIX, detector=DETECTOR, now=T0)
    assert local.decision.tier is Tier.THREE  # the keyword alone escalates it
    answers(fake, triggers=[{"id": "churn", "reading": "mentioned",
                             "quote": "if we cancel our subscription"}])
    result = decided(fake, HYPOTHETICAL)
    assert result.decision.tier is Tier.ONE
    assert "churn" not in result.signals.trigger_ids
    [reason] = [r.reason for r in result.decision.rules if r.rule_id == SECOND_READING]
    assert reason == ('second reading by test-model: "churn" is only mentioned, not meant: '
                      '"if we cancel our subscription" (The customer asks '
                      'about the contract terms.)')
    assert Evidence(kind="second_reading", text=reason) in result.signals.evidence
    [request] = fake.requests
    assert request["response_format"] == {"type": "json_object"}
    assert "cancel our subscription" in request["messages"][1]["content"]


@pytest.mark.parametrize("quote", [
    "We decided to cancel our subscription",  # not what the customer wrote
    "",
    "cancel",  # one word proves nothing
], ids=["invented", "missing", "one-word"])
def test_without_a_quote_from_the_ticket_nothing_changes(fake: FakeOpenAI, quote: str) -> None:
    answers(fake, triggers=[{"id": "churn", "reading": "mentioned", "quote": quote}])
    result = decided(fake, HYPOTHETICAL)
    assert result.decision.tier is Tier.THREE
    assert "churn" in result.signals.trigger_ids
    assert all(r.rule_id != SECOND_READING for r in result.decision.rules)
    assert len(fake.requests) == 1


def test_an_intent_without_keywords_is_added_with_its_quote(fake: FakeOpenAI) -> None:
    local = decide(MONEY_BACK, [], matrix=MATRIX, detector=DETECTOR, now=T0)
    assert local.decision.tier is Tier.ONE
    answers(fake, intent={"id": "refund", "quote": "Please send the second payment back to us"},
            why="They want the double payment returned.")
    result = decided(fake, MONEY_BACK, unsure_below=1.0)
    assert result.decision.tier is Tier.THREE
    hit = next(h for h in result.signals.triggers if h.trigger == "refund")
    assert hit.match == "Please send the second payment back to us"
    assert any(r.startswith('second reading by test-model: the customer means "refund" without '
                            'its keywords: "Please send the second payment back to us"')
               for r in result.decision.reasons)


def test_an_intent_the_matrix_does_not_know_is_ignored(fake: FakeOpenAI) -> None:
    answers(fake, intent={"id": "lawsuit", "quote": "Please send the second payment back to us"})
    result = decided(fake, MONEY_BACK, unsure_below=1.0)
    assert result.decision.tier is Tier.ONE
    assert result.signals.triggers == ()


def test_a_sure_trigger_is_kept_whatever_the_model_says(fake: FakeOpenAI) -> None:
    sure = ticket("Please cancel our subscription today.", subject="Cancel")
    assert not doubtful_hits(DETECTOR.detect(sure))
    answers(fake, triggers=[{"id": "churn", "reading": "mentioned",
                             "quote": "Please cancel our subscription today"}])
    result = decided(fake, sure, unsure_below=1.0)  # asked: the category is unsure
    assert len(fake.requests) == 1
    assert result.decision.tier is Tier.THREE
    assert "churn" in result.signals.trigger_ids


def test_a_sure_reading_is_never_sent(fake: FakeOpenAI) -> None:
    sure = ticket("Please cancel our subscription today.", subject="Cancel")
    result = decided(fake, sure, unsure_below=0.0)
    assert fake.requests == []
    assert result.decision.tier is Tier.THREE


def test_an_unsure_category_changes_only_with_a_quote(fake: FakeOpenAI) -> None:
    answers(fake, category="billing", category_quote="wants to know the notice period")
    assert DETECTOR.read(HYPOTHETICAL).signals.tier_reading is not None
    result = decided(fake, HYPOTHETICAL, unsure_below=1.0)
    assert result.signals.category is Category.BILLING
    # The learned tier model read the category the second reading replaced.
    assert result.signals.tier_reading is None
    assert any(r.startswith("second reading by test-model: category billing, not ")
               for r in result.decision.reasons)
    fake.requests.clear()
    answers(fake, category="security", category_quote="our account was hacked")
    result = decided(fake, HYPOTHETICAL, unsure_below=1.0, model="another-model")
    assert result.signals.category is not Category.SECURITY


@pytest.mark.parametrize("reply", [
    Reply(content="The customer only asks about the contract."),  # not JSON
    Reply(content='["churn"]'),  # JSON, but not the object asked for
    Reply(status=503),
    Reply(delay=2.0),
], ids=["prose", "wrong-shape", "http-503", "timeout"])
def test_a_failed_second_reading_keeps_the_local_one(fake: FakeOpenAI, reply: Reply) -> None:
    fake.script(reply)
    result = decided(fake, HYPOTHETICAL, timeout_seconds=0.3)
    assert result.decision.tier is Tier.THREE
    assert all(r.rule_id != SECOND_READING for r in result.decision.rules)


def test_the_second_reading_is_cached_by_its_redacted_text(fake: FakeOpenAI) -> None:
    answers(fake, triggers=[{"id": "churn", "reading": "mentioned",
                             "quote": "if we cancel our subscription"}])
    second = LlmSecondReader(reader(fake, second_reading=True))
    for _ in range(2):
        result = decide(HYPOTHETICAL, [], matrix=MATRIX, detector=DETECTOR, now=T0,
                        context=Context(second_reader=second))
        assert result.decision.tier is Tier.ONE
    assert len(fake.requests) == 1


def test_doubts_name_the_unsure_category_and_the_doubtful_trigger() -> None:
    hit = TriggerHit(trigger="churn", match="cancel", sentence="Would cancelling end it?")
    sure = TriggerHit(trigger="refund", match="refund", sentence="Refund the charge now.")
    signals = Signals(category=Category.BILLING, category_confidence=0.3, triggers=(hit, sure))
    assert doubts(signals, unsure_below=0.5) == (
        "category billing at confidence 0.30", "churn in 'Would cancelling end it?'")
    ignored = Evidence(kind="trigger_ignored",
                       text="refund: 'refund' negated in 'Refund the charge now.'")
    assert doubtful_hits(Signals(triggers=(sure,), evidence=(ignored,))) == (sure,)
    assert doubts(Signals(category_confidence=0.9, triggers=(sure,)), unsure_below=0.5) == ()
