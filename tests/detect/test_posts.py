"""Public posts are read by the complaint convention; other channels keep the support one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy
import pytest

from integration.decide import build_detector
from integration.detect import Detector
from integration.detect.posts import POSTS_FILE, PostReader
from integration.detect.training.posts import Example, leave_one_set_out, train
from integration.errors import ConfigurationError
from integration.matrix import default_matrix
from integration.models import Channel, Ticket

from .conftest import ticket

MATRIX = default_matrix()


@pytest.fixture(scope="module")
def posts() -> Detector:
    return build_detector(MATRIX)


@pytest.fixture(scope="module")
def without() -> Detector:
    return Detector(triggers=MATRIX.triggers, pages=MATRIX.pages, post_reader=False)


def _post(text: str) -> Ticket:
    return replace(ticket(text, subject=""), channel=Channel.SOCIAL)


@pytest.mark.parametrize("text", [
    "@ParcelCo my parcel has been at the depot since Tuesday",
    "@StreamCo love paying extra for 4K so I can watch a buffering wheel in stunning detail",
    "@BankCo is it too much to ask for a reply to my messages?",
])
def test_a_post_that_reports_a_problem_is_a_complaint(posts: Detector, text: str) -> None:
    signals = posts.detect(_post(text))
    assert signals.sentiment < 0, signals.evidence
    assert not signals.frustrated  # a complaint, not anger: no tier moves for it
    assert any(e.kind == "sentiment" and "public post read as a complaint" in e.text
               for e in signals.evidence), signals.evidence


@pytest.mark.parametrize("text", [
    "@ParcelCo thanks, the parcel arrived this morning, great service",
    "@StreamCo what time does the new season start tonight?",
    "@GymCo can I freeze my membership over the summer?",
])
def test_a_post_that_praises_or_asks_is_no_complaint(posts: Detector, text: str) -> None:
    assert posts.detect(_post(text)).sentiment >= 0


def test_the_same_words_by_email_keep_the_support_convention(
    posts: Detector, without: Detector
) -> None:
    text = "My parcel has been at the depot since Tuesday, can you check where it is?"
    by_email = ticket(text)
    assert by_email.channel is not Channel.SOCIAL
    assert posts.detect(by_email) == without.detect(by_email)


def test_a_broken_post_model_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "posts.npz"
    with pytest.raises(ConfigurationError, match=str(missing)):
        PostReader(missing)
    with missing.open("wb") as handle:
        numpy.savez(handle, weights=numpy.zeros(5), bias=numpy.array(0.0), dim=numpy.array(4),
                    at=numpy.array(0.5))
    with pytest.raises(ConfigurationError, match="expected"):
        PostReader(missing)


def test_the_shipped_model_loads_with_its_threshold() -> None:
    model = PostReader(POSTS_FILE)
    assert model.dim > 0 and 0.0 < model.at < 1.0


def _rows(group: str) -> list[Example]:
    # The first feature marks complaints; the tone without the model misses half of them.
    return [Example(x=numpy.array([1.0, 0.0]), complaint=True, group=group,
                    sentiment=-0.2 if n % 2 else 0.0) for n in range(10)] + [
        Example(x=numpy.array([0.0, 1.0]), complaint=False, group=group, sentiment=0.0)
        for _ in range(10)]


def test_training_learns_what_the_tone_missed() -> None:
    rows = _rows("a") + _rows("b")
    weights, bias = train(rows, l2=0.001)
    assert float(numpy.array([1.0, 0.0]) @ weights) + bias > 0 > float(
        numpy.array([0.0, 1.0]) @ weights) + bias
    report = leave_one_set_out(rows, l2=0.001)
    assert report["all"]["without"]["recall"] == 0.5
    assert report["all"]["with_model"]["f1"] == 1.0 and set(report["by_set"]) == {"a", "b"}
