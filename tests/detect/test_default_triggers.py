"""The default matrix's triggers read as meant: who writes is not a threat, churn said plainly,
a refund already granted, a password reset typed in a hurry."""

from __future__ import annotations

import pytest

from integration.decide import build_detector
from integration.detect import Detector
from integration.matrix import default_matrix

from .conftest import ticket


@pytest.fixture(scope="module")
def default_detector() -> Detector:
    return build_detector(default_matrix())


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("If this isn't there by March we'll have to move to a vendor that offers it.", "churn"),
        ("Fix it by Friday or we're switching to a tool that actually makes sense.", "churn"),
        ("Our auditors need a credit memo for the refund you processed in September.",
         "refund_granted"),
        ("Your colleague confirmed the $180 refund was issued on Oct 2.", "refund_granted"),
        ("pw reset pls, cant log in", "password_reset"),
        ("If this is not fixed we will involve our legal department.", "legal"),
        ("I lost my card on the train this morning. Please freeze it now.", "security"),
        ("@TelcoOne porting my number to another network this week. Bye.", "churn"),
    ],
)
def test_meant_triggers_fire(default_detector: Detector, text: str, trigger: str) -> None:
    assert trigger in default_detector.detect(ticket(text)).trigger_ids


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("Before our roadmap session our legal team needs a mutual NDA in place.", "legal"),
        ("Please update the notice address: Legal Department, 400 Harbour Street.", "legal"),
        ("We want to switch to a plan that includes SSO.", "churn"),
        ("The password reset link expired, can I get a new one?", "access_blocked"),
    ],
)
def test_who_writes_and_routine_words_do_not_fire(
    default_detector: Detector, text: str, trigger: str
) -> None:
    assert trigger not in default_detector.detect(ticket(text)).trigger_ids
