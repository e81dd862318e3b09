"""Meaning-level cues with the default matrix's triggers: intent phrases, questions, senses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integration.detect import Detector
from integration.detect.text import reader
from integration.detect.triggers import LemmaMatcher, compile_phrases
from integration.matrix import default_matrix
from integration.models import Category

from .conftest import NOW, ticket


@pytest.fixture(scope="module")
def matrix_detector() -> Detector:
    return Detector(triggers=default_matrix().triggers)


def _ids(detector: Detector, body: str, subject: str = "Question") -> set[str]:
    return set(detector.detect(ticket(body, subject=subject)).trigger_ids)


def test_gap_patterns_match_inside_a_clause_only() -> None:
    matcher = LemmaMatcher()
    compile_phrases(reader(), matcher, "churn", ["look ... other|another tool|vendor"])
    hit = reader().read("We'll have to look at some other tools.")
    assert [m.key for m in matcher(hit.lemmas)] == ["churn"]
    miss = reader().read("Look at the chart, other tools are fine.")
    assert matcher(miss.lemmas) == []


@pytest.mark.parametrize(
    "body",
    [
        "If SSO isn't on the roadmap, we'll have to look at other tools before the rollout.",
        "We've decided to move our payments to another provider next quarter.",
        "How do we download all statements before our account is closed?",
        "Our board asked us to evaluate alternatives ahead of the renewal.",
    ],
)
def test_churn_intent_without_the_word_cancel(matrix_detector: Detector, body: str) -> None:
    assert "churn" in _ids(matrix_detector, body)


def test_plan_information_counts_only_in_a_question(matrix_detector: Detector) -> None:
    question = matrix_detector.detect(ticket("Does the Business plan include single sign-on?"))
    assert "plan_info" in question.trigger_ids
    assert question.category is Category.BILLING
    statement = matrix_detector.detect(ticket("Our invoice includes 45 seats but we have 38."))
    assert "plan_info" not in statement.trigger_ids


def test_phishing_email_is_a_security_incident(matrix_detector: Detector) -> None:
    signals = matrix_detector.detect(
        ticket(
            "Two cashiers got a phishing email and entered their passwords before we noticed.",
            subject="Phishing email pretending to be you",
        )
    )
    assert "security" in signals.trigger_ids
    assert signals.category is Category.SECURITY


def test_law_enforcement_request_is_legal(matrix_detector: Detector) -> None:
    body = "The police department asks you to preserve all records for this customer."
    signals = matrix_detector.detect(ticket(body, subject="Law-enforcement request"))
    assert "legal" in signals.trigger_ids
    assert signals.category is Category.LEGAL


@pytest.mark.parametrize(
    "body",
    [
        "If this is how you treat customers we will rethink the partnership.",
        "Leadership made this a condition for the renewal in January.",
    ],
)
def test_relationship_at_stake(matrix_detector: Detector, body: str) -> None:
    assert "relationship" in _ids(matrix_detector, body)


def test_a_question_about_a_security_setting_is_a_how_to(matrix_detector: Detector) -> None:
    signals = matrix_detector.detect(
        ticket("Is there a way to require 2FA for every member of our workspace?")
    )
    assert signals.category is Category.HOW_TO


def test_onboarding_question_and_onboarding_blocker(matrix_detector: Detector) -> None:
    question = matrix_detector.detect(
        ticket("We just signed up. Which data source should we pick for a spreadsheet?")
    )
    assert question.category is Category.ONBOARDING
    assert "blocker" not in question.trigger_ids
    blocked = matrix_detector.detect(
        ticket("We just signed up and are stuck: domain verification keeps failing.")
    )
    assert blocked.category is Category.ONBOARDING
    assert "blocker" in blocked.trigger_ids


def test_feature_wish_is_not_a_bug(matrix_detector: Detector) -> None:
    signals = matrix_detector.detect(ticket("Any chance of a dark mode? Not urgent, just a wish!"))
    assert signals.category is Category.FEATURE_REQUEST


def test_two_different_bugs_from_one_account_are_not_a_repeat(
    matrix_detector: Detector,
) -> None:
    history = [
        ticket(
            "Report builder crashes when I add a third filter.",
            subject="Crash",
            id="h1",
            created_at=NOW - timedelta(days=3),
        ),
        ticket(
            "Domain verification fails with TXT record not found.",
            subject="Verification",
            id="h2",
            created_at=NOW - timedelta(days=2),
        ),
    ]
    current = ticket("The chart legend overlaps the axis labels in Firefox.", id="h3")
    assert matrix_detector.detect(current, history).repeat_contacts == 1
    again = [
        ticket(
            "Shop sync drops gift card orders.",
            subject="Sync missing orders",
            id=f"s{i}",
            created_at=NOW - timedelta(days=5 - i),
        )
        for i in range(2)
    ]
    third = ticket("Third time: the sync is still dropping gift card orders.", id="s3")
    assert matrix_detector.detect(third, again).repeat_contacts == 3
