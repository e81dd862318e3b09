"""Automatic replies, announced tests and one user's failure ask for nothing a trigger says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integration.detect import Detector
from integration.detect.notices import only_me, read_notice
from integration.matrix import default_matrix
from integration.matrix.evaluate import evaluate
from integration.models import Category, Tier

from .conftest import ticket

MATRIX = default_matrix()


def _decide(detector: Detector, body: str, subject: str) -> tuple[Tier, Category, list[str]]:
    t = ticket(body, subject=subject)
    signals = detector.detect(t)
    decision = evaluate(MATRIX, t, signals, now=datetime(2026, 11, 2, 10, tzinfo=UTC),
                        with_actions=False)
    return decision.tier, signals.category, [e.text for e in signals.evidence]


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Automatic reply: your ticket #5512",
         "Thank you for your email. I am out of the office until Monday with limited access to "
         "email. For urgent refund, outage or security matters please call our duty manager."),
        ("Re: renewal",
         "I'm on leave until 4 January. If you are writing about a cancellation or a data "
         "breach, please contact my colleague Ana."),
    ],
)
def test_an_automatic_reply_is_acted_on_for_nothing(
    full: Detector, subject: str, body: str
) -> None:
    assert read_notice(subject, [body]) is not None
    tier, category, evidence = _decide(full, body, subject)
    assert (tier, category) == (Tier.ONE, Category.OTHER)
    assert any("automatic reply" in text for text in evidence)


@pytest.mark.parametrize(
    "body",
    [
        "FYI: our IT team runs a phishing simulation next Tuesday that imitates your login page. "
        "Nothing to do on your side.",
        "TEST TICKET from our new helpdesk: outage refund cancel lawyer. Please ignore and close.",
    ],
)
def test_an_announced_test_is_acted_on_for_nothing(full: Detector, body: str) -> None:
    tier, category, evidence = _decide(full, body, "Heads-up")
    assert (tier, category) == (Tier.ONE, Category.OTHER)
    assert any("announced test" in text for text in evidence)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        # A person writes, asks, and is away only as context.
        ("Out of office next week - outage today",
         "I'm away until Monday, but the portal is down for all of us right now. Can you help?"),
        # A test that went wrong is a report, not an announcement.
        ("Load test", "During our load test your API went down for every client at 10:02."),
    ],
)
def test_a_person_who_reports_something_is_no_notice(
    full: Detector, subject: str, body: str
) -> None:
    assert read_notice(subject, [body]) is None
    assert _decide(full, body, subject)[0] == Tier.THREE


def test_one_users_failure_is_a_bug_not_an_outage(full: Detector) -> None:
    body = ("is the app down? i just get a white page after login. my colleague at the next desk "
            "is in and working fine")
    assert only_me([body])
    tier, category, evidence = _decide(full, body, "app down?")
    assert (tier, category) == (Tier.TWO, Category.BUG)
    assert any("one user only" in text for text in evidence)


def test_asking_whether_it_is_just_me_is_no_answer(full: Detector) -> None:
    body = "is it just me or is everything down?? cant load anything, team too"
    assert not only_me([body])
    assert _decide(full, body, "down?")[0] == Tier.THREE
