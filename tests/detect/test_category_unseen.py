"""Category on tickets written apart from the training examples, of kinds the rules misread.

None of these texts is in ``integration/detect/data/train_examples.jsonl``; each was decided
wrong before the examples of 2026-12-06 taught the models these kinds of ticket.
"""

from __future__ import annotations

import pytest

from integration.detect import Detector
from integration.matrix import default_matrix
from integration.models import Category

from .conftest import ticket


@pytest.fixture(scope="module")
def matrix_detector() -> Detector:
    return Detector(triggers=default_matrix().triggers)


@pytest.mark.parametrize(
    ("subject", "body", "category"),
    [
        (
            "Question about the upgrade",
            "You've announced an upgrade on Sunday night. Will our scheduled reports still "
            "go out on Monday morning?",
            Category.HOW_TO,
        ),
        (
            "Holiday bookings",
            "Is the booking system going to be offline during your planned upgrade on "
            "Saturday? We take most bookings on weekends.",
            Category.HOW_TO,
        ),
        (
            "Renewal",
            "We've started collecting quotes from other suppliers ahead of our renewal in April.",
            Category.CANCELLATION,
        ),
        (
            "Odd activity",
            "A teammate who left in March appears as signed in from a laptop we don't "
            "recognise. We never gave anyone his password.",
            Category.SECURITY,
        ),
    ],
)
def test_kinds_the_rules_misread(
    matrix_detector: Detector, subject: str, body: str, category: Category
) -> None:
    assert matrix_detector.detect(ticket(body, subject=subject)).category is category
