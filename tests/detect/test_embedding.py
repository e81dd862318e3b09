"""Static embeddings and their heads: shipped files, probabilities, training, the blend."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy
import pytest

from integration.detect.classifier import MODEL_DIR, Blend, TextModel, default_model, mix_probs
from integration.detect.cues import DEFAULT_TRIGGERS
from integration.detect.detector import Detector
from integration.detect.embedding import (
    EMBED_DIR,
    EmbeddingModel,
    StaticEmbedder,
    default_embedding_model,
    load_heads,
    save_heads,
)
from integration.detect.training.embed import fit_heads, fit_softmax
from integration.errors import ConfigurationError
from integration.models import Category
from tests.detect.conftest import ticket

needs_shipped = pytest.mark.skipif(
    not (EMBED_DIR / "model.safetensors").exists(), reason="no embedding model shipped"
)


@needs_shipped
def test_shipped_files_load() -> None:
    model = default_embedding_model()
    facts = model.describe()
    assert facts["dim"] >= 64 and facts["vocabulary"] > 10_000
    assert set(model.heads.labels) == set(Category)


@needs_shipped
@pytest.mark.parametrize(
    "text",
    ["I want my money back for the duplicate charge", "", "how do i add a user to my team"],
)
def test_category_probabilities_sum_to_one(text: str) -> None:
    probs = default_embedding_model().category_probs(text)
    assert set(probs) == set(Category)
    assert abs(sum(probs.values()) - 1.0) < 1e-5
    assert all(0.0 <= p <= 1.0 for p in probs.values())


@needs_shipped
def test_one_text_reads_as_the_batch_heads_do() -> None:
    model = default_embedding_model()
    texts = ["our export has failed three times today , fix it", "how do i add a user"]
    vectors = model.embedder.encode(texts)
    for text, row, tone in zip(texts, model.heads.category(vectors),
                               model.heads.complaint(vectors), strict=True):
        probs = model.category_probs(text)
        assert [probs[c] for c in model.heads.labels] == pytest.approx(row.tolist(), abs=1e-5)
        assert model.complaint_probs([text]) == pytest.approx([float(tone)], abs=1e-5)


@needs_shipped
def test_clear_refund_demand_reads_as_refund() -> None:
    probs = default_embedding_model().category_probs(
        "you charged us twice this month , i want the second payment refunded to our card"
    )
    assert max(probs, key=lambda c: probs[c]) is Category.REFUND


@needs_shipped
def test_complaint_probabilities_order_angry_above_calm() -> None:
    angry, calm = default_embedding_model().complaint_probs(
        [
            "this is the third time your sync has lost our orders and nobody answers . useless",
            "could you send me the invoice for march ? thanks",
        ]
    )
    assert 0.0 <= calm < angry <= 1.0


@needs_shipped
def test_encoding_matches_model2vec() -> None:
    model2vec = pytest.importorskip("model2vec")
    texts = ["Refund the duplicate charge!!", "export fails: ECONNRESET at 09:14", "", "été naïve"]
    reference = model2vec.StaticModel.from_pretrained(str(EMBED_DIR)).encode(texts)
    ours = StaticEmbedder(EMBED_DIR).encode(texts)
    assert numpy.allclose(ours, reference.astype("float32"), atol=2e-3)


def test_missing_model_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        EmbeddingModel(tmp_path)


def test_softmax_training_separates_a_toy_set() -> None:
    rng = numpy.random.default_rng(0)
    centres = numpy.array([[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]])
    y = numpy.repeat(numpy.arange(3), 40)
    x = centres[y] + rng.normal(scale=0.5, size=(len(y), 3))
    w, b = fit_softmax(x, y, 3, l2=0.01)
    assert ((x @ w + b).argmax(axis=1) == y).mean() == 1.0


def test_heads_round_trip_and_separate(tmp_path: Path) -> None:
    rng = numpy.random.default_rng(1)
    cats = [Category.REFUND, Category.OUTAGE] * 30
    x = numpy.array([[2.0, -1.0] if c is Category.REFUND else [-2.0, 1.0] for c in cats])
    x = x + rng.normal(scale=0.3, size=x.shape)
    complaint = [c is Category.OUTAGE for c in cats]
    heads = fit_heads(x, cats, complaint, l2_category=0.01, l2_complaint=0.01)
    save_heads(heads, tmp_path / "heads.npz")
    loaded = load_heads(tmp_path / "heads.npz")
    probs = loaded.category(numpy.array([[2.0, -1.0], [-2.0, 1.0]]))
    assert numpy.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    refund, outage = loaded.labels.index(Category.REFUND), loaded.labels.index(Category.OUTAGE)
    assert probs[0].argmax() == refund and probs[1].argmax() == outage
    tone = loaded.complaint(numpy.array([[2.0, -1.0], [-2.0, 1.0]]))
    assert tone[0] < 0.5 < tone[1]


def test_mix_probs_weights_the_embedding_share() -> None:
    bow = {Category.BUG: 0.8, Category.OUTAGE: 0.2}
    emb = {Category.BUG: 0.2, Category.OUTAGE: 0.8}
    assert mix_probs(bow, emb, 0.0) == bow
    assert mix_probs(bow, None, 0.7) == bow
    mixed = mix_probs(bow, emb, 0.75)
    assert mixed[Category.OUTAGE] == pytest.approx(0.65)


def _model_copy(tmp_path: Path, **blend: float) -> Path:
    out = tmp_path / "model"
    shutil.copytree(MODEL_DIR, out)
    meta_path = out / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["escalade"]["blend"].update(blend)
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    return out


@needs_shipped
def test_blend_shares_are_read_from_meta(tmp_path: Path) -> None:
    model = TextModel(_model_copy(tmp_path, embedding_share=0.3, complaint_embedding_share=0.2))
    assert model.blend.embedding_share == 0.3
    assert model.blend.complaint_embedding_share == 0.2
    assert model.embedding is not None
    words = ["please", "refund", "the", "duplicate", "charge"]
    view = model.category_view(words)
    assert view.embedding is not None
    expected = mix_probs(view.bag_of_words, view.embedding, 0.3)
    assert all(abs(view.probs[c] - expected[c]) < 1e-9 for c in Category)


def test_embeddings_switch_off(tmp_path: Path) -> None:
    model = TextModel(_model_copy(tmp_path, embedding_share=0.5), embeddings=False)
    assert model.embedding is None
    assert model.blend == Blend(
        category_weight=model.blend.category_weight,
        complaint_above=model.blend.complaint_above,
        calm_below=model.blend.calm_below,
    )
    view = model.category_view(["refund", "please"])
    assert view.embedding is None and view.probs == view.bag_of_words


def test_share_without_shipped_files_fails_loudly(tmp_path: Path) -> None:
    out = _model_copy(tmp_path, embedding_share=0.5)
    shutil.rmtree(out / "embed", ignore_errors=True)
    with pytest.raises(ConfigurationError):
        TextModel(out)


@needs_shipped
def test_category_evidence_names_both_readings() -> None:
    model = default_model()
    if model.embedding is None:
        pytest.skip("cross-validation shipped the embeddings switched off")
    signals = Detector(triggers=DEFAULT_TRIGGERS).detect(
        ticket("Please refund the duplicate charge on invoice 4411.")
    )
    text = next(e.text for e in signals.evidence if e.kind == "category")
    assert text.startswith("refund: model p=") and "meaning" in text
