"""Sentiment per customer message, spikes and frustration."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integration.detect import Detector
from integration.detect.sentiment import score_doc
from integration.detect.text import reader
from integration.models import Author

from .conftest import NOW, message, ticket


def test_garbage_refund_now_is_clearly_negative(detector: Detector) -> None:
    signals = detector.detect(ticket("Your product is garbage and I want a refund NOW!!!"))
    assert signals.sentiment <= -0.6
    assert signals.frustrated
    assert signals.message_sentiments[0].sentence.startswith("Your product is garbage")


@pytest.mark.parametrize(
    "text",
    [
        "How do I add a user to my workspace?",
        "Hi! Could you please explain how to export invoices as CSV? Thanks a lot.",
        "Is it possible to connect our Slack workspace? We would like to get alerts.",
        "How do I fix the error when importing contacts?",
        "Is the Pro plan good enough for a team of 20?",
        "Honestly, thanks so much for the quick help!",
        "We're running a disaster-recovery test on Saturday. Which export includes photos?",
        # Short capitals are a name or an acronym, not shouting.
        "NEW VAT NUMBER FOR INVOICES",
    ],
)
def test_polite_questions_are_not_negative(detector: Detector, text: str) -> None:
    signals = detector.detect(ticket(text))
    assert signals.sentiment >= -0.05
    assert not signals.frustrated


@pytest.mark.parametrize(
    "text",
    [
        "Great, thanks for nothing.",
        "This is the third time I'm writing about this.",
        "This is unacceptable and a complete waste of time.",
        "I am NOT happy with this.",
        "We are fed up, we will take our business elsewhere.",
        "WHY IS THIS STILL BROKEN?!",
        "this damn export never works",
        "It is absurd that I have to write this again.",
        "honestly this is ridiculous, we were promised a smooth setup",
        "For a practice like ours this simply isn't good enough.",
        "Your support is pathetic.",
        "THE CARDS PRINTED WITH YESTERDAY'S NAMES. WHAT ARE WE PAYING FOR??",
    ],
)
def test_frustration_cues(detector: Detector, text: str) -> None:
    signals = detector.detect(ticket(text))
    assert signals.frustrated, signals.message_sentiments
    assert signals.sentiment < -0.3


def test_a_long_message_in_capitals_shouts_even_without_exclamations(detector: Detector) -> None:
    text = ("The invoices are printing our old VAT number again. We changed it in September. "
            "Sort it out today.")
    assert not detector.detect(ticket(text)).frustrated
    assert detector.detect(ticket(text.upper())).frustrated


def test_not_good_enough_for_a_purpose_is_a_wish_not_anger(detector: Detector) -> None:
    signals = detector.detect(ticket("The import is not good enough yet for our needs; could "
                                     "you add XML support?"))
    assert not signals.frustrated


def test_negation_flips_positive_words(detector: Detector) -> None:
    happy = detector.detect(ticket("I am happy with the new dashboard.")).sentiment
    unhappy = detector.detect(ticket("I am not happy with the new dashboard.")).sentiment
    assert happy > 0.3
    assert unhappy < -0.3


def test_one_score_per_customer_message_and_spike(detector: Detector) -> None:
    msgs = [
        message("Thanks, the new report looks good.", id="c1", at=NOW),
        message("Let me check.", id="a1", author=Author.AGENT, at=NOW + timedelta(hours=1)),
        message("It is broken AGAIN, this is ridiculous!!!", id="c2", at=NOW + timedelta(hours=2)),
    ]
    signals = detector.detect(ticket(messages=msgs))
    assert [s.message_id for s in signals.message_sentiments] == ["c1", "c2"]
    first, second = (s.score for s in signals.message_sentiments)
    assert first > 0 and second < -0.5
    assert signals.sentiment == second
    assert signals.sentiment_spike


def test_no_spike_when_tone_is_steady(detector: Detector) -> None:
    msgs = [
        message("How do I add a teammate?", id="c1", at=NOW),
        message("And how do I remove one?", id="c2", at=NOW + timedelta(hours=2)),
    ]
    signals = detector.detect(ticket(messages=msgs))
    assert not signals.sentiment_spike
    assert not signals.frustrated


def test_polite_signoff_does_not_cancel_anger(detector: Detector) -> None:
    signals = detector.detect(ticket("This is useless garbage. Thanks, have a great day!"))
    assert signals.sentiment < -0.4


def test_a_supposed_case_sets_no_mood() -> None:
    supposed = reader().read("If one of our analysts had their laptop stolen, how fast can an "
                             "admin kill all their sessions? Writing our runbook.")
    happened = reader().read("One of our analysts had their laptop stolen and we cannot kill "
                             "their sessions. This is a disaster.")
    assert score_doc(supposed)[0] >= 0
    assert score_doc(happened)[0] < 0


@pytest.mark.parametrize(
    ("text", "below"),
    [
        ("😡😡 where did the export button go?? you moved it AGAIN", -0.5),
        ("how do i GIFT a voucher to my friend 😤😤 no button anywhere 🤬 🙄", -0.5),
        ("invoice still missing 😒", -0.3),
    ],
)
def test_angry_emoji_carry_the_mood(text: str, below: float) -> None:
    score, _, _ = score_doc(reader().read(text))
    assert score < below


def test_happy_emoji_read_as_happy_with_or_without_a_variation_selector() -> None:
    plain = score_doc(reader().read("The new report works"))[0]
    for text in ("The new report works 🎉", "The new report works 👍", "The new report works ❤️"):
        assert score_doc(reader().read(text))[0] > plain
