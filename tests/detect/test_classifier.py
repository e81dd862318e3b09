"""The trained classifiers: shipped model, exact fast path, training script, blend, tone."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.detect.classifier import MODEL_DIR, TextModel, default_model, features
from integration.detect.cues import DEFAULT_TRIGGERS
from integration.detect.detector import Detector
from integration.detect.text import reader
from integration.models import Category
from tests.detect.conftest import ticket

# Written for this test, not taken from any training or evaluation file: the wording avoids
# the rule cue lists on purpose, which is where a trained classifier should earn its place.
CATEGORY_CASES = (
    (
        "Our finance team never received last quarter's statement and needs it for audit.",
        Category.BILLING,
    ),
    (
        "We were charged twice in March, please send the second payment back to our card.",
        Category.REFUND,
    ),
    (
        "We won't be continuing with you after this term ends, please confirm.",
        Category.CANCELLATION,
    ),
    (
        "The two-factor code never arrives so I can't get into my workspace.",
        Category.ACCOUNT_ACCESS,
    ),
    ("Totals on the revenue report are off by exactly one day since the update.", Category.BUG),
    ("Nothing loads for anyone on our team, every page just spins since 9am.", Category.OUTAGE),
    ("Where do I change which columns appear on the weekly summary email?", Category.HOW_TO),
    (
        "It would be great if dashboards could be shared with people outside our org.",
        Category.FEATURE_REQUEST,
    ),
    ("Please delete all personal data you hold about me under the GDPR.", Category.LEGAL),
    ("Someone signed in to our admin account from another country last night.", Category.SECURITY),
    ("We just signed the contract, who runs our kickoff and data migration?", Category.ONBOARDING),
    ("Just wanted to say your team was wonderful on the call today.", Category.OTHER),
)


@pytest.fixture(scope="module")
def with_model() -> Detector:
    return Detector(triggers=DEFAULT_TRIGGERS)


@pytest.fixture(scope="module")
def rules_only() -> Detector:
    return Detector(triggers=DEFAULT_TRIGGERS, model=False)


def test_model_loads_from_the_package() -> None:
    model = default_model()
    assert MODEL_DIR.is_dir() and (MODEL_DIR / "meta.json").exists()
    assert set(model.categories) == set(Category)
    meta = model.meta
    assert meta["data"]["project_examples"]["sha256"]
    assert 0.0 <= model.blend.category_weight <= 1.0
    assert "category_macro_f1" in meta["cross_validation"]


def test_fast_path_equals_the_pipeline() -> None:
    model = default_model()
    texts = [
        "I want my money back for the duplicate charge!!",
        "how do i export the number of active users to csv",
        "",
    ]
    lists = [features(reader().read_all([t])) for t in texts]
    slow = model.pipeline_scores(lists)
    for words, (cats, tone) in zip(lists, slow, strict=True):
        fast = model.category_probs(words)
        assert all(abs(fast[c] - cats[c]) < 1e-4 for c in cats)
        assert abs(model.complaint_probs([words])[0] - tone) < 1e-4


def test_classifier_beats_the_rules(with_model: Detector, rules_only: Detector) -> None:
    def right(detector: Detector) -> int:
        return sum(
            detector.detect(ticket(text)).category is category for text, category in CATEGORY_CASES
        )

    assert right(with_model) > right(rules_only)
    assert right(with_model) >= 8


def test_rules_only_detector_has_no_model_evidence(rules_only: Detector) -> None:
    signals = rules_only.detect(ticket("Please refund the duplicate charge."))
    assert signals.category is Category.REFUND
    text = next(e.text for e in signals.evidence if e.kind == "category")
    assert "model p=" not in text


def test_category_evidence_names_model_and_cue(with_model: Detector) -> None:
    signals = with_model.detect(ticket("Please refund the duplicate charge on invoice 4411."))
    assert signals.category is Category.REFUND
    text = next(e.text for e in signals.evidence if e.kind == "category")
    assert text.startswith("refund: model p=") and "refund" in text.split("cue", 1)[1]
    assert 0.0 < signals.category_confidence <= 0.99


def test_loud_complaint_is_clearly_negative(with_model: Detector) -> None:
    signals = with_model.detect(ticket("Your product is garbage and I want a refund NOW!!!"))
    assert signals.sentiment <= -0.5
    assert signals.frustrated


def test_complaint_without_lexicon_words_is_negative(with_model: Detector) -> None:
    text = (
        "Third week in a row the sync drops our orders and nobody from your side has said a word."
    )
    assert with_model.detect(ticket(text)).sentiment < 0
    evidence = [e for e in with_model.detect(ticket(text)).evidence if e.kind == "sentiment"]
    assert evidence and evidence[0].text


@pytest.mark.parametrize(
    "text",
    [
        "Could you send me the invoice for March? Thanks.",
        "How do I add a new admin to our workspace?",
        "Please update our billing address to 12 Example Street.",
    ],
)
def test_neutral_requests_stay_non_negative(with_model: Detector, text: str) -> None:
    signals = with_model.detect(ticket(text))
    assert signals.sentiment >= 0
    assert not signals.frustrated


def test_train_script_runs_end_to_end(tmp_path: Path) -> None:
    from integration.detect.training.train import main

    out = tmp_path / "model"
    code = main(
        [
            "--out",
            str(out),
            "--limit",
            "80",
            "--folds",
            "2",
            "--epochs",
            "2",
            "--bitext-per-category",
            "0",
            # The shipped static model, not a fresh distillation (a minute, and torch).
            "--embed",
            "reuse",
        ]
    )
    assert code == 0
    model = TextModel(out)
    assert model.meta["data"]["project_examples"]["used"] == 80
    assert model.meta["cross_validation"]["folds"] == 2
    probs = model.category_probs(["refund", "please"])
    assert abs(sum(probs.values()) - 1.0) < 1e-4
    figures = model.meta["cross_validation"]["category_macro_f1"]
    assert "blend_without_embeddings" in figures
    if (MODEL_DIR / "embed" / "model.safetensors").exists():
        assert model.meta["embedding"]["static"]["how"] == "reused"
        assert (out / "embed" / "heads.npz").exists() and "embedding_only" in figures
