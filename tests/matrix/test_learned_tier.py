"""The learned tier model's second opinion: when the matrix lets it change a tier, and how."""

from __future__ import annotations

from dataclasses import replace

import pytest

from integration.analytics.review.calibration import calibrated
from integration.matrix import Matrix, default_matrix, evaluate
from integration.matrix.evaluate import LEARNED_TIER
from integration.matrix.loader import DEFAULT_PATH
from integration.models import Category, Signals, Tier, TierReading
from tests.matrix.factories import NOW, hit, make_ticket, signals
from tests.matrix.test_loader import issues

MATRIX = default_matrix()
KNOWS = frozenset({"routine_request", "default_tier", "churn_risk", "troubleshooting",
                   "refund_demand"})


def _reading(probs: tuple[float, float, float], knows: frozenset[str] = KNOWS) -> TierReading:
    """The same probabilities whatever tier the rules choose."""
    return TierReading(given=(probs, probs, probs), knows=knows)


def _decide(found: Signals, matrix: Matrix = MATRIX) -> tuple[Tier, dict[str, str]]:
    decision = evaluate(matrix, make_ticket(), found, now=NOW, with_actions=False)
    return decision.tier, {r.rule_id: r.reason for r in decision.rules}


def test_a_sure_model_raises_a_routine_question_and_says_how_sure() -> None:
    tier, reasons = _decide(signals(Category.OTHER, tier_reading=_reading((0.2, 0.75, 0.05))))
    assert tier is Tier.TWO
    assert reasons[LEARNED_TIER] == ("A model trained on labeled tickets reads this as tier 2 "
                                     "work (75% sure) where the rules give tier 1")
    assert "routine_request" in reasons  # the rule it overruled is still cited


def test_an_unsure_model_leaves_the_rules_tier() -> None:
    tier, reasons = _decide(signals(Category.OTHER, tier_reading=_reading((0.45, 0.48, 0.07))))
    assert tier is Tier.ONE and LEARNED_TIER not in reasons


def test_taking_a_ticket_out_of_tier_3_needs_more_and_more_again_against_a_live_trigger() -> None:
    cancel = hit("churn", "cancel")
    # Category cancellation without a trigger: tier 3 by churn_risk; out of it needs 0.7.
    assert _decide(signals(Category.CANCELLATION,
                           tier_reading=_reading((0.65, 0.3, 0.05))))[0] is Tier.THREE
    assert _decide(signals(Category.CANCELLATION,
                           tier_reading=_reading((0.72, 0.2, 0.08))))[0] is Tier.ONE
    # With the customer's own "cancel" read as live, 0.72 is not enough; 0.85 is.
    assert _decide(signals(Category.CANCELLATION, cancel,
                           tier_reading=_reading((0.72, 0.2, 0.08))))[0] is Tier.THREE
    assert _decide(signals(Category.CANCELLATION, cancel,
                           tier_reading=_reading((0.85, 0.1, 0.05))))[0] is Tier.ONE


@pytest.mark.parametrize("why", ["off", "page", "declined", "unknown rule", "calibrated"])
def test_the_rules_tier_stands_where_the_model_has_no_say(why: str) -> None:
    reading = _reading((0.05, 0.9, 0.05))
    found = signals(Category.OTHER, tier_reading=reading, category_confidence=0.5)
    matrix = MATRIX
    if why == "off":
        matrix = replace(MATRIX, learned_tier=None)
    elif why == "page":
        found = replace(found, page_rule="billing_settings")
    elif why == "declined":
        found = replace(found, answer_declined=True)
    elif why == "unknown rule":
        # A rule the model never saw (an admin's own) decided: the admin's call.
        found = replace(found, tier_reading=_reading((0.05, 0.9, 0.05), knows=frozenset()))
    else:
        # A tenant calibrated to its agents: the model needs the category as sure as the rules.
        matrix = calibrated(MATRIX, 0.7)
    tier, reasons = _decide(found, matrix)
    assert LEARNED_TIER not in reasons
    assert tier is (Tier.TWO if why == "declined" else Tier.ONE)
    if why == "calibrated":
        sure = replace(found, category_confidence=0.9)
        assert _decide(sure, matrix)[1].get(LEARNED_TIER), "a sure category lets it speak"


def test_the_default_matrix_turns_it_on_with_its_thresholds() -> None:
    learned = MATRIX.learned_tier
    assert learned is not None
    assert (learned.at, learned.out_of_3_at, learned.against_a_trigger_at) == (0.5, 0.7, 0.8)
    assert learned.needed(2, triggered=True) == 0.5
    assert learned.needed(3, triggered=False) == 0.7
    assert learned.needed(3, triggered=True) == 0.8


def test_a_threshold_below_a_coin_toss_is_refused_naming_the_field() -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    bad = text.replace("    min_probability: 0.5\n", "    min_probability: 0.3\n")
    assert bad != text
    (issue,) = issues(bad)
    assert "learned_tier" in issue.field and "min_probability" in issue.field


def test_learned_tier_is_a_reserved_rule_id() -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    bad = text.replace("      - id: contract_dispute\n", "      - id: learned_tier\n")
    assert any("learned_tier" in issue.message or "learned_tier" in issue.field
               for issue in issues(bad))
