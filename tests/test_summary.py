"""Extractive summaries: quoted from the ticket only, stripped, bounded, safe on garbage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integration.errors import ConfigurationError
from integration.models import Author, Channel, Message, Person, Priority, Status, Ticket
from integration.summary import (
    MAX_SENTENCE_CHARS,
    ExtractiveSummarizer,
    Summary,
    SummaryProvider,
    summarize,
    summarizer_from_settings,
)

T0 = datetime(2024, 3, 6, 9, 0, tzinfo=UTC)


def ticket(*messages: tuple[Author, str] | tuple[Author, str, bool], subject: str = "") -> Ticket:
    return Ticket(
        tenant="acme",
        helpdesk="zendesk",
        id="1",
        subject=subject,
        status=Status.OPEN,
        priority=Priority.NORMAL,
        channel=Channel.EMAIL,
        created_at=T0,
        updated_at=T0,
        requester=Person(id="9", email="jo@customer.io"),
        messages=tuple(
            Message(
                id=str(i),
                author=m[0],
                body=m[1],
                public=m[2] if len(m) > 2 else True,
                created_at=T0 + timedelta(minutes=i),
            )
            for i, m in enumerate(messages)
        ),
    )


def normalized(text: str) -> str:
    return " ".join(text.split())


def quoted_parts(summary: Summary) -> list[str]:
    return [
        p.removesuffix("…")
        for p in (summary.wants, *summary.tried, *summary.bot_answered, summary.customer_words)
        if p
    ]


def assert_quoted(summary: Summary, source: Ticket) -> None:
    """Every sentence of the summary occurs in the ticket: it invents nothing."""
    corpus = [normalized(source.subject)] + [normalized(m.body) for m in source.messages]
    for part in quoted_parts(summary):
        assert any(part in text for text in corpus), part
    for line in summary.text.splitlines():
        label, _, rest = line.partition(": ")
        assert label in {"Wants", "Tried", "Bot answered", "In their words"}, line
        assert any(rest.strip('"').removesuffix("…") in text for text in corpus), line


BILLING = ticket(
    (
        Author.CUSTOMER,
        "Hi team,\n\nWe were charged twice for the March invoice.\n"
        "Can you refund the duplicate charge   to our card?\n"
        "I already tried removing the old card from the billing page.\n\n"
        "Thanks,\nJo Smith\nHead of Ops, Customer Inc.",
    ),
    (
        Author.BOT,
        "Hello! Refunds for duplicate charges are issued within 5 business days. "
        "You can also see invoices under Settings > Billing.",
    ),
    (Author.AGENT, "Internal: looks like a Stripe retry.", False),
    (
        Author.CUSTOMER,
        "This is the third time this happens and our finance team is furious!\n"
        "We also cleared the cache and logged out and back in, nothing changed.\n\n"
        "On Tue, Mar 5, 2024 at 10:00 AM Support <help@vendor.io> wrote:\n"
        "> Refunds for duplicate charges are issued within 5 business days.",
    ),
)


def test_parts_are_quoted_from_the_ticket() -> None:
    summary = summarize(BILLING)
    assert summary.wants == "Can you refund the duplicate charge to our card?"
    assert summary.tried == (
        "I already tried removing the old card from the billing page.",
        "We also cleared the cache and logged out and back in, nothing changed.",
    )
    assert summary.bot_answered == (
        "Refunds for duplicate charges are issued within 5 business days.",
    )
    assert summary.customer_words == (
        "This is the third time this happens and our finance team is furious!"
    )
    assert_quoted(summary, BILLING)
    assert summary.text == (
        "Wants: Can you refund the duplicate charge to our card?\n"
        "Tried: I already tried removing the old card from the billing page.\n"
        "Tried: We also cleared the cache and logged out and back in, nothing changed.\n"
        "Bot answered: Refunds for duplicate charges are issued within 5 business days.\n"
        'In their words: "This is the third time this happens and our finance team is furious!"'
    )


def test_quotes_signatures_and_disclaimers_are_stripped() -> None:
    source = ticket(
        (
            Author.CUSTOMER,
            "Our webhooks stopped firing since this morning.\n"
            "> Please restart the integration and try again.\n"
            "> Can you send us the logs?\n"
            "--\nJo Smith | CTO\nPlease call me at +1 555 0100.\n",
        ),
        (
            Author.CUSTOMER,
            "Why are exports failing for every user?\n\n"
            "CONFIDENTIALITY NOTICE: This e-mail is intended only for the addressee. "
            "Could you delete it if you are not the intended recipient?",
        ),
    )
    summary = summarize(source)
    text = summary.text
    assert "restart the integration" not in text
    assert "send us the logs" not in text
    assert "call me" not in text
    assert "intended" not in text
    assert summary.wants == "Why are exports failing for every user?"
    assert summary.tried == ()
    assert_quoted(summary, source)


def test_internal_and_agent_messages_are_not_bot_answers() -> None:
    source = ticket(
        (Author.CUSTOMER, "How do I add a teammate to my workspace?"),
        (Author.BOT, "Bot draft that was never sent.", False),
        (Author.AGENT, "Go to Settings, then Members."),
    )
    summary = summarize(source)
    assert summary.bot_answered == ()
    assert summary.wants == "How do I add a teammate to my workspace?"
    assert summary.customer_words == summary.wants
    assert "In their words" not in summary.text


def test_questions_from_the_customer_are_not_things_tried() -> None:
    source = ticket((Author.CUSTOMER, "Should I have restarted the app? It crashes on launch."))
    assert summarize(source).tried == ()


@pytest.mark.parametrize(
    "bodies",
    [
        (),
        ("",),
        ("   \n\n  ",),
        ("!!!! ???? ....  ### $$$ 1234",),
        ("> only a quoted line\n> and another",),
        ("Thanks!",),
    ],
)
def test_empty_or_garbage_ticket_gives_a_safe_summary(bodies: tuple[str, ...]) -> None:
    source = ticket(*((Author.CUSTOMER, b) for b in bodies))
    summary = summarize(source)
    assert summary == Summary(
        wants="",
        customer_words="",
        text="Nothing to summarize: the customer wrote no readable text.",
    )


def test_subject_stands_in_when_the_body_says_nothing() -> None:
    source = ticket((Author.CUSTOMER, "Thanks!"), subject="Cannot   log in to the admin console")
    summary = summarize(source)
    assert summary.wants == "Cannot log in to the admin console"
    assert_quoted(summary, source)


def test_long_tickets_are_bounded() -> None:
    long_sentence = "The export " + "really " * 120 + "fails."
    messages = [
        (Author.CUSTOMER, f"I tried step {n} of the guide. {long_sentence}") for n in range(80)
    ]
    messages += [(Author.BOT, f"Answer number {n} is here.") for n in range(10)]
    source = ticket(*messages)
    summary = summarize(source, max_sentences=2)
    assert summary.tried == ("I tried step 0 of the guide.", "I tried step 1 of the guide.")
    assert summary.bot_answered == ("Answer number 0 is here.", "Answer number 1 is here.")
    assert all(len(p) <= MAX_SENTENCE_CHARS + 1 for p in quoted_parts(summary))
    assert summary.wants.endswith("…")
    assert len(summary.text) < 2000
    assert_quoted(summary, source)


def test_first_message_ask_beats_later_chatter() -> None:
    source = ticket(
        (Author.CUSTOMER, "We moved offices last week. Please update the billing address on file."),
        (Author.CUSTOMER, "Any news on this one?"),
    )
    assert summarize(source).wants == "Please update the billing address on file."


def test_providers_from_settings() -> None:
    default = summarizer_from_settings({})
    assert isinstance(default, ExtractiveSummarizer)
    assert isinstance(default, SummaryProvider)
    assert default.summarize(BILLING) == summarize(BILLING)
    assert isinstance(
        summarizer_from_settings({"summary_provider": "extractive"}), ExtractiveSummarizer
    )


def test_llm_provider_needs_configuration_and_falls_back_to_extractive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(ConfigurationError, match="needs the llm setting"):
        summarizer_from_settings({"summary_provider": "llm"})
    with pytest.raises(ConfigurationError, match="summary_llm.model: expected a non-empty text"):
        summarizer_from_settings({"summary_provider": "openai", "summary_llm": {"model": 4}})
    with pytest.raises(ConfigurationError, match="use extractive or llm"):
        summarizer_from_settings({"summary_provider": "gpt"})
    with caplog.at_level("WARNING", logger="integration.summary"):
        # Well-formed, but no client could be built (say, its key is missing).
        llm = summarizer_from_settings(
            {"summary_provider": "openai", "summary_llm": {"model": "m", "api_key_env": "KEY"}}
        )
    assert isinstance(llm, ExtractiveSummarizer)
    assert llm.summarize(BILLING) == summarize(BILLING)
    assert "no language model client; the extractive summary is used" in caplog.text
