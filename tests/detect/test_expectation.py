"""Calm complaints: a report of something broken, late or missing is scored below zero."""

from __future__ import annotations

import pytest

from integration.detect import Detector
from integration.detect.expectation import BREACH_SCORE, breach_sentence
from integration.detect.text import reader
from tests.detect.conftest import ticket


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ("@fibrenet internet has been dropping every evening this week",
         "@fibrenet internet has been dropping every evening this week"),
        ("Order 5512 still not here. Any update?", "Order 5512 still not here."),
        ("Hi. The export fails since Monday.", "The export fails since Monday."),
        ("We have had no signal in the whole street since noon", "We have had no signal"),
        ("I can't log in to the app.", "I can't log in to the app."),
        ("The parcel never arrived.", "The parcel never arrived."),
        ("Still waiting for my refund.", "Still waiting for my refund."),
    ],
)
def test_breaches_of_expectation_are_found(body: str, sentence: str) -> None:
    found = breach_sentence(reader().read(body))
    assert found is not None and found.startswith(sentence[:20])


@pytest.mark.parametrize(
    "body",
    [
        "How do I export a report to CSV?",
        "Which plan includes SSO? Thanks!",
        "I can log in again, thanks.",
        "The sync failed yesterday but it works now, thanks for the quick fix.",
        "Love the new dashboard, great job!",
    ],
)
def test_questions_praise_and_fixed_problems_are_not_breaches(body: str) -> None:
    assert breach_sentence(reader().read(body)) is None


def test_a_calm_problem_report_is_a_mild_complaint_not_frustration(detector: Detector) -> None:
    calm = detector.detect(ticket("Hello, my parcel 88123 never arrived. Could you check?"))
    assert calm.sentiment == BREACH_SCORE
    assert not calm.frustrated
    assert calm.message_sentiments[0].sentence == "Hello, my parcel 88123 never arrived."
    question = detector.detect(ticket("How do I add a teammate to our workspace?"))
    assert question.sentiment >= 0
    angry = detector.detect(ticket("Parcel never arrived AGAIN. This is a disgrace!!!"))
    assert angry.sentiment < BREACH_SCORE
