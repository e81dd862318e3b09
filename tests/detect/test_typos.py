"""Trigger words misspelled by one slip still count; real words one slip away do not."""

from __future__ import annotations

import pytest

from integration.detect import Detector
from integration.detect.typos import known_words, slips

from .conftest import ticket


def test_one_slip_maps_back_to_the_trigger_word() -> None:
    found = slips(["cancel", "refund", "outage", "lawyer"])
    assert found["cancle"] == "cancel"  # two letters swapped
    assert found["refnd"] == "refund"  # one dropped
    assert found["outtage"] == "outage"  # one added
    assert found["lawer"] == "lawyer"


def test_real_words_and_short_words_are_not_slips() -> None:
    found = slips(["cancel", "lawyer", "sue", "hack"])
    assert "cancer" not in found  # a letter replaced is another word, not a slip
    assert "layer" not in found  # a word the vocabularies know
    assert not any(word in ("sue", "hack") for word in found.values())


def test_a_slip_two_trigger_words_share_belongs_to_neither() -> None:
    found = slips(["tested", "rested"], known=frozenset())
    assert "ested" not in found and found["tesetd"] == "tested"


def test_the_vocabularies_are_shipped() -> None:
    assert {"layer", "cancer", "house"} <= known_words()


@pytest.mark.parametrize(
    ("text", "trigger", "fires"),
    [
        ("pls cancle my membrship, cant aford it any more", "churn", True),
        ("we need a refnd for the double charge on friday", "refund", True),
        ("My mum has cancer, can I pause my membership for two months?", "churn", False),
        ("Is the layer order on the map saved per user?", "legal", False),
    ],
)
def test_the_detector_reads_slips(
    full: Detector, text: str, trigger: str, fires: bool
) -> None:
    assert (trigger in full.detect(ticket(text)).trigger_ids) is fires
