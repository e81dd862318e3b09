"""The handoff summary written by the tenant's model, and every way it falls back."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from integration.llm import Meter
from integration.summary import LlmSummarizer, summarize
from tests.llm.kit import MODEL, T0, reader, ticket
from tests.llm.openai_server import KEY, FakeOpenAI, Reply, fake_openai

BILLING = ticket("We were charged twice for November. Please refund the second charge.")


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai() as server:
        yield server


def test_the_model_writes_the_text_and_says_so(fake: FakeOpenAI) -> None:
    summary = LlmSummarizer(reader(fake)).summarize(BILLING)
    assert summary.text == ("Summary written by test-model: The customer was charged twice "
                            "and wants a refund.")
    assert summary.written_by == MODEL
    # The quoted parts stay the customer's own words.
    assert summary.wants == summarize(BILLING).wants
    [request] = fake.requests
    assert request["model"] == MODEL
    assert "charged twice for November" in request["messages"][1]["content"]
    assert fake.keys == [KEY]


@pytest.mark.parametrize("failure", [
    Reply(status=500),
    Reply(status=429),
    Reply(delay=2.0),
    Reply(raw=b"<html>bad gateway</html>"),
    Reply(content=None, refusal="I can't help with that."),
    Reply(content="   "),
], ids=["http-500", "http-429", "timeout", "not-json", "refusal", "empty"])
def test_any_failure_gives_the_extractive_summary(fake: FakeOpenAI, failure: Reply) -> None:
    fake.script(failure)
    summary = LlmSummarizer(reader(fake, timeout_seconds=0.3)).summarize(BILLING)
    assert summary == summarize(BILLING)
    assert summary.written_by is None
    assert len(fake.requests) == 1  # asked once: no retries inside triage


def test_a_failed_answer_is_not_cached(fake: FakeOpenAI) -> None:
    model = LlmSummarizer(reader(fake))
    fake.script(Reply(status=500))
    assert model.summarize(BILLING).written_by is None
    assert model.summarize(BILLING).written_by == MODEL
    assert len(fake.requests) == 2


def test_the_same_ticket_is_answered_from_the_cache(fake: FakeOpenAI) -> None:
    meter = Meter()
    first = LlmSummarizer(reader(fake, meter=meter)).summarize(BILLING)
    # A rebuilt reader (settings saved again) keeps the tenant's meter and its cache.
    again = LlmSummarizer(reader(fake, meter=meter)).summarize(BILLING)
    assert again == first
    assert len(fake.requests) == 1
    other = ticket("Our invoice shows the wrong VAT number, please correct it.")
    LlmSummarizer(reader(fake, meter=meter)).summarize(other)
    assert len(fake.requests) == 2


def test_a_different_model_is_a_different_cache_entry(fake: FakeOpenAI) -> None:
    meter = Meter()
    LlmSummarizer(reader(fake, meter=meter)).summarize(BILLING)
    LlmSummarizer(reader(fake, meter=meter, model="other-model")).summarize(BILLING)
    assert [r["model"] for r in fake.requests] == [MODEL, "other-model"]


def test_over_the_rate_the_extractive_summary_is_used(fake: FakeOpenAI) -> None:
    now = [T0.timestamp()]
    meter = Meter(clock=lambda: now[0])
    model = LlmSummarizer(reader(fake, meter=meter, requests_per_minute=2))
    tickets = [ticket(f"Please fix export number {n} of the {w} report.", ticket_id=str(n))
               for n, w in enumerate(["sales", "usage", "billing"])]
    written = [model.summarize(t).written_by for t in tickets]
    assert written == [MODEL, MODEL, None]
    assert len(fake.requests) == 2
    now[0] += 61  # a minute later the third may be asked
    assert model.summarize(tickets[2]).written_by == MODEL
    assert len(fake.requests) == 3


def test_over_the_monthly_budget_the_extractive_summary_is_used(fake: FakeOpenAI) -> None:
    now = [T0.timestamp()]
    meter = Meter(clock=lambda: now[0])
    # Each answer costs 150 tokens (the server's usage); the budget allows two.
    model = LlmSummarizer(reader(fake, meter=meter, monthly_token_budget=300))
    tickets = [ticket(f"Please look at the {w} dashboard, it is empty.", ticket_id=w)
               for w in ("sales", "usage", "billing")]
    assert [model.summarize(t).written_by for t in tickets] == [MODEL, MODEL, None]
    assert meter.tokens_this_month() == 300
    assert len(fake.requests) == 2
    now[0] += 31 * 86400  # a new month: a new budget
    assert model.summarize(tickets[2]).written_by == MODEL


def test_redaction_sends_no_address_or_number(fake: FakeOpenAI) -> None:
    leaky = ticket(
        "Hi, I am jo.doe@bigco.com. The card 4111 1111 1111 1111 was charged twice, order "
        "98765432. Call me on +49 30 1234 5678 please.",
        subject="Refund for maria@bigco.com",
    )
    LlmSummarizer(reader(fake)).summarize(leaky)
    sent = fake.sent
    assert "@" not in sent
    assert not re.search(r"\d{4}", sent), sent
    assert "[email]" in sent and "[card number]" in sent and "[phone]" in sent
    assert "charged twice" in sent


def test_without_redaction_the_text_goes_as_written(fake: FakeOpenAI) -> None:
    LlmSummarizer(reader(fake, redact=False)).summarize(ticket("Order 98765432 is missing."))
    assert "98765432" in fake.sent


def test_redaction_keeps_dates_and_small_numbers() -> None:
    from integration.llm import redact

    text = ("Since 2026-11-02 the 3 exports fail for ops@bigco.example (order 48213377, "
            "card 5500-0000-0000-0004, phone (030) 555 01 23).")
    assert redact(text) == ("Since 2026-11-02 the 3 exports fail for [email] (order [number], "
                            "card [card number], phone [phone]).")
