"""The learned tier model: what detection hands the matrix, and how the model is trained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy
import pytest

from integration.decide import build_detector
from integration.detect.embedding import softmax
from integration.detect.tiers import TIERS_FILE, TierModel, reads_as_english
from integration.detect.training.tiers import Example, examples, known_rules, train
from integration.errors import ConfigurationError
from integration.matrix import default_matrix
from integration.models import Category

from .conftest import ticket

MATRIX = default_matrix()


def test_the_shipped_model_knows_every_rule_and_bump_of_the_default_matrix() -> None:
    # A rule added to the default matrix without retraining would be one the model never saw:
    # it then never overrules it, but the training script must be run again.
    model = TierModel(TIERS_FILE)
    assert known_rules(MATRIX) <= model.rules
    assert model.weights.shape == (model.weights.shape[0], 3) and model.dim > 0


def test_an_english_ticket_carries_the_models_probabilities_for_each_rules_tier() -> None:
    detector = build_detector(MATRIX)
    found = detector.read(ticket("We would like to merge our two workspaces into one and keep "
                                 "the history of both. Can your team do that for us?",
                                 subject="Merge two workspaces")).signals.tier_reading
    assert found is not None and len(found.given) == 3
    for row in found.given:
        assert abs(sum(row) - 1.0) < 1e-9 and all(0.0 <= p <= 1.0 for p in row)
    assert found.knows == TierModel(TIERS_FILE).rules


def test_the_summed_rows_are_the_feature_vector_times_the_weights() -> None:
    from dataclasses import replace

    from integration.detect.tiers import features
    from integration.models import Account

    model = TierModel(TIERS_FILE)
    detector = build_detector(MATRIX)
    item = replace(ticket("Please cancel our subscription at the end of this month.",
                          subject="Cancellation"),
                   account=Account(id="a1", plan="enterprise", health=0.3))
    signals = detector.read(item).signals
    assert signals.trigger_ids  # a trigger row is part of the sum
    vector = numpy.linspace(-0.1, 0.1, model.dim)
    whole = features(item, signals, vector, triggers=model.triggers, dim=model.dim)
    assert numpy.allclose(model.logits(item, signals, vector), whole @ model.weights + model.bias)
    assert numpy.allclose(model.logits(item, signals, None),
                          features(item, signals, None, triggers=model.triggers, dim=model.dim)
                          @ model.weights + model.bias)
    # Each rules' tier adds its own row and its row within the ticket's category.
    reading = model.read(item, signals, vector)
    at = list(Category).index(signals.category) * 3
    for tier in range(3):
        logits = (whole @ model.weights + model.bias + model.by_rules_tier[tier]
                  + model.by_category_and_rules_tier[at + tier])
        assert numpy.allclose(reading.given[tier], softmax(logits.tolist()))


def test_what_was_only_mentioned_and_the_tone_count_in_the_sum() -> None:
    from dataclasses import replace

    from integration.detect.tiers import features

    model = TierModel(TIERS_FILE)
    signals = build_detector(MATRIX).read(ticket("How do I export the report?")).signals
    item = ticket("How do I export the report?")
    calm = features(item, signals, None, triggers=model.triggers, dim=model.dim)
    upset = features(item, replace(signals, frustrated=True, mentioned=("refund",)), None,
                     triggers=model.triggers, dim=model.dim)
    assert "refund" in model.triggers and (upset - calm).sum() == 2.0
    assert not numpy.allclose(model.logits(item, replace(signals, mentioned=("refund",)), None),
                              model.logits(item, signals, None))


def test_what_the_ticket_says_of_earlier_contacts_counts_in_the_sum() -> None:
    from datetime import timedelta

    from integration.detect.tiers import CONTACTS, features

    from .conftest import NOW, message

    model = TierModel(TIERS_FILE)
    detector = build_detector(MATRIX)

    def head(item: object) -> list[float]:
        signals = detector.read(item).signals  # type: ignore[arg-type]
        row = features(item, signals, None, triggers=model.triggers,  # type: ignore[arg-type]
                       dim=model.dim)
        start = len(row) - model.dim - len(CONTACTS)
        return [float(v) for v in row[start:start + len(CONTACTS)]]

    bodies = ("Can you update the address on our invoice?", "Any news on this?",
              "Still the old address on the new invoice.")
    same_hour = ticket(*bodies)
    over_days = ticket(messages=[message(b, id=f"m{n}", at=NOW + timedelta(days=3 * n))
                                 for n, b in enumerate(bodies)])
    said = ticket("Third time of asking: please change the address on our invoice.")
    assert head(same_hour) == [0.0, 0.0]
    assert head(over_days) == [1.0, 0.0]
    assert head(said) == [0.0, 1.0]


def test_a_ticket_in_another_language_is_left_to_the_rules() -> None:
    detector = build_detector(MATRIX)
    found = detector.read(ticket("A minha conta foi hackeada ontem e alteraram o e-mail da "
                                 "conta de administração sem a nossa autorização.",
                                 subject="Conta")).signals
    assert found.tier_reading is None


@pytest.mark.parametrize(("texts", "english"), [
    ([["reset", "link", "?"]], True),  # too short to tell
    ([["we", "have", "been", "charged", "twice", "for", "the", "same", "invoice", "this",
       "month"]], True),
    ([["hiermit", "kündigen", "wir", "unseren", "vertrag", "zum", "monatsende", "bitte",
       "bestätigen", "sie", "die", "kündigung"]], False),
])
def test_english_is_told_by_its_common_words(texts: list[list[str]], english: bool) -> None:
    assert reads_as_english(texts) is english


def test_a_broken_model_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "tiers.npz"
    with pytest.raises(ConfigurationError, match=str(missing)):
        TierModel(missing)
    with missing.open("wb") as handle:
        numpy.savez(handle, weights=numpy.zeros((5, 3)), by_rules_tier=numpy.zeros((3, 3)),
                    by_category_and_rules_tier=numpy.zeros((36, 3)), bias=numpy.zeros(3),
                    triggers=numpy.array(["churn"]), dim=numpy.array(4),
                    rules=numpy.array(["default_tier"]))
    with pytest.raises(ConfigurationError, match="expected"):
        TierModel(missing)


def _example(x: list[float], rules_tier: int, expected: int, group: str) -> Example:
    return Example(x=numpy.array(x), rules_tier=rules_tier, expected=expected, group=group,
                   b2b=True)


def test_training_learns_when_the_rules_tier_is_wrong() -> None:
    # The first feature marks tickets the rules put at tier 1 that are tier 2 work.
    rows = [_example([1.0, 0.0], 1, 2, "a") for _ in range(30)]
    rows += [_example([0.0, 1.0], 1, 1, "b") for _ in range(30)]
    weights, bias = train(rows, l2=0.001)
    # The features, the rules' tier, and the rules' tier beside each leading (category) feature.
    assert weights.shape == (2 + 3 + 2 * 3, 3)

    def design(x: list[float]) -> numpy.ndarray:
        tier = numpy.array([1.0, 0.0, 0.0])
        return numpy.concatenate([x, tier, numpy.outer(x, tier).ravel()])

    assert int((design([1.0, 0.0]) @ weights + bias).argmax()) == 1  # tier 2
    assert int((design([0.0, 1.0]) @ weights + bias).argmax()) == 0  # tier 1, as the rules said


def test_examples_are_read_as_at_run_time(tmp_path: Path) -> None:
    from integration.models import format_time

    lines = []
    for n, (subject, body, tier) in enumerate([
        ("Export", "How do I export our invoices to CSV from the billing page?", 1),
        ("Kündigung", "Hiermit kündigen wir unseren Vertrag zum Monatsende, bitte bestätigen "
                      "Sie die Kündigung schriftlich.", 3),
    ]):
        item = ticket(body, subject=subject, id=str(n))
        data = item.to_dict()
        data["created_at"] = data["updated_at"] = format_time(item.created_at)
        lines.append(json.dumps({**data, "expected": {"category": "how_to", "tier": tier,
                                                      "complaint": False}}))
    path = tmp_path / "b2b_saas_z.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, triggers = examples([path], MATRIX)
    assert [r.expected for r in rows] == [1, 3] and {r.group for r in rows} == {"z"}
    assert triggers == tuple(sorted(triggers)) and rows[0].b2b
    # The German ticket is never given to the model at run time: nor is it trained on.
    assert [r.applies for r in rows] == [True, False]
    assert len(rows[0].x) == len(rows[1].x)


def test_the_decision_log_keeps_what_the_model_said_not_what_it_knows() -> None:
    from integration.store import signals_to_json

    detector = build_detector(MATRIX)
    signals = detector.read(ticket("Please cancel our subscription at the end of this month.",
                                   subject="Cancellation")).signals
    assert signals.tier_reading is not None
    stored = json.loads(json.dumps(signals_to_json(signals)))
    assert stored["tier_reading"] == {"given": [list(row) for row in signals.tier_reading.given]}
