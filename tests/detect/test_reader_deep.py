"""The fine-tuned transformer reader: live or only mentioned, read from the words in context.

The pairs below were written for these tests (they are in no training file nor evaluation
set): the same trigger word said live, and only mentioned in a way the hashed reader alone
takes as live. Each fails if the transformer stops deciding.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy
import pytest

from integration.detect import Detector
from integration.detect import reader as reader_module
from integration.detect.reader import (
    DEEP_DIR,
    KIND_WORDS,
    DeepReader,
    HitReader,
    default_deep_reader,
    later_words,
    pair_text,
)
from integration.detect.text import reader
from integration.detect.training.reader import FAMILIES
from integration.detect.training.reader_transformer import MORE_PATH, pairs
from integration.errors import ConfigurationError
from integration.matrix import default_matrix

from .conftest import ticket

MATRIX = default_matrix()


@pytest.fixture(scope="module")
def deep() -> DeepReader:
    found = default_deep_reader()
    assert found is not None, f"the shipped transformer reader is missing from {DEEP_DIR}"
    return found


@pytest.fixture(scope="module")
def with_deep() -> Detector:
    return Detector(triggers=MATRIX.triggers, pages=MATRIX.pages,
                    hit_reader=HitReader(deep=True))


@pytest.fixture(scope="module")
def hashed_only() -> Detector:
    return Detector(triggers=MATRIX.triggers, pages=MATRIX.pages,
                    hit_reader=HitReader(deep=None))


# (trigger, live, the same word only mentioned) — messages of one ticket, customer's own.
PAIRS: list[tuple[str, list[str], list[str]]] = [
    ("security", ["Someone hacked our florist account and changed the payout bank details."],
     ["The florist next door got their shop account hacked, so I would like two-step login on "
      "mine. Where is it?"]),
]


@pytest.mark.parametrize(("trigger", "live", "mentioned"), PAIRS)
def test_the_transformer_tells_live_from_mentioned(
    with_deep: Detector, hashed_only: Detector, trigger: str, live: list[str],
    mentioned: list[str],
) -> None:
    assert trigger in with_deep.detect(ticket(*live)).trigger_ids
    assert trigger not in with_deep.detect(ticket(*mentioned)).trigger_ids
    # The hashed reader alone counts the mentioned one: the transformer made the difference.
    assert trigger in hashed_only.detect(ticket(*mentioned)).trigger_ids


def test_the_reason_names_the_kind_the_transformer_read(with_deep: Detector) -> None:
    signals = with_deep.detect(ticket(
        "We got the refund from you back in March, all settled. How do I add a second admin?"))
    ignored = [e.text for e in signals.evidence if e.kind == "trigger_ignored"]
    assert any("'refund' is past" in text for text in ignored), ignored


def test_pairs_of_one_run_read_as_each_alone(deep: DeepReader) -> None:
    doc = reader().read("The site is down for every store. Refund us for the lost day or we sue.")
    texts = [pair_text(doc, n, n + 1, key) for n, key in
             ((doc.lemmas.index("refund"), "refund"), (doc.lemmas.index("sue"), "legal"))]
    together = deep.probabilities(texts)
    alone = numpy.vstack([deep.probabilities([text]) for text in texts])
    assert together.shape == (2, len(deep.kinds))
    # Activations are quantized per run, so a batch shifts the figures by a hair, no more.
    assert numpy.allclose(together, alone, atol=0.01)
    assert (together.argmax(axis=1) == alone.argmax(axis=1)).all()


def test_the_pair_carries_the_match_its_context_and_later_words() -> None:
    docs = reader().read_all(["Hi there. Our app is down for everyone! Please help.",
                              "Never mind, it was our VPN."])
    doc = docs[0]
    start = doc.lemmas.index("down") - 1
    first, second = pair_text(doc, start, start + 2, "outage", later=later_words(docs[1:]))
    assert first.startswith("outage: is down | later: never mind")
    assert second == "Hi there. Our app [ is down ] for everyone! Please help."


def test_without_the_model_files_the_hashed_reader_decides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(reader_module, "DEEP_DIR", tmp_path / "absent")
    default_deep_reader.cache_clear()
    try:
        assert default_deep_reader() is None
        hit_reader = HitReader(deep=True)
        doc = reader().read("Please refund the duplicate payment today.")
        start = doc.lemmas.index("refund")
        assert hit_reader.read(doc, start, start + 1, "refund").counts
        assert hit_reader.deep is None
    finally:
        default_deep_reader.cache_clear()


def test_a_broken_model_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    (tmp_path / "meta.json").write_text('{"kinds": ["live"], "live_at": 0.5}', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=str(tmp_path)):
        DeepReader(tmp_path)


def test_the_transformer_loads_once_and_only_when_a_match_needs_it() -> None:
    hit_reader = HitReader(deep=True)
    assert hit_reader._deep is True, "nothing loaded before the first match"
    doc = reader().read("We will cancel the contract at the end of the month.")
    start = doc.lemmas.index("cancel")
    hit_reader.read(doc, start, start + 1, "churn")
    loaded = hit_reader.deep
    assert isinstance(loaded, DeepReader) and default_deep_reader() is loaded


def test_outside_the_unsure_band_the_hashed_verdict_stands(deep: DeepReader) -> None:
    doc = reader().read("We will cancel the contract at the end of the month.")
    start = doc.lemmas.index("cancel")
    never = HitReader(deep=deep, unsure=(2.0, 3.0))
    alone = HitReader(deep=None)
    assert never.read(doc, start, start + 1, "churn") == alone.read(doc, start, start + 1, "churn")


def test_the_shipped_model_knows_every_kind(deep: DeepReader) -> None:
    assert set(deep.kinds) == set(KIND_WORDS) and deep.kinds[0] == "live"
    assert 0.0 < deep.live_at < 1.0
    size = sum(p.stat().st_size for p in DEEP_DIR.iterdir())
    assert size < 30 * 2**20


def test_every_written_example_gives_a_pair() -> None:
    rows = [json.loads(line) for line in MORE_PATH.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        assert row["kind"] == "hit" and row["trigger"] in FAMILIES, row
        assert row["label"] in KIND_WORDS, row
        assert pairs([row]), f"no trigger match in {row['messages']}"


def test_the_second_look_is_on_unless_the_deployment_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(reader_module.DEEP_SETTING, raising=False)
    assert isinstance(reader_module.default_hit_reader().deep, DeepReader)
    for off in ("off", "0", "False", " no "):
        monkeypatch.setenv(reader_module.DEEP_SETTING, off)
        assert reader_module.default_hit_reader().deep is None, off
    monkeypatch.setenv(reader_module.DEEP_SETTING, "on")
    assert isinstance(reader_module.default_hit_reader().deep, DeepReader)
