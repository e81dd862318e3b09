"""Replay: both matrices over one history, tiers per day, alerts, agreement, changed tickets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import integration.decide
from integration.audit.progress import Progress
from integration.audit.replay import replay, replay_json
from integration.matrix import Matrix, default_matrix
from tests.audit.helpers import MONDAY, matrix_with_rule, matrix_with_trigger, past_ticket

BILLING_TO_TIER3 = """\
      - id: billing_is_urgent
        description: Any billing problem is urgent
        when: {trigger: [billing_issue]}
"""


def history() -> list[Any]:
    """Churn (escalated), double charge (escalated), how-to (not), next day a how-to."""
    return [
        past_ticket(1, "We want to cancel", "We will cancel our subscription before renewal.",
                    escalated=True),
        past_ticket(2, "Charged twice", "We were charged twice for the October invoice.",
                    at=MONDAY + timedelta(hours=2), escalated=True),
        past_ticket(3, "How do I add a seat?", "How do I add a user to our workspace?",
                    at=MONDAY + timedelta(hours=3)),
        past_ticket(4, "How do I export a report?", "Where is the export button?",
                    at=MONDAY + timedelta(days=1)),
    ]


@pytest.fixture(scope="module")
def current() -> Matrix:
    return default_matrix()


@pytest.fixture(scope="module")
def new() -> Matrix:
    return matrix_with_rule(BILLING_TO_TIER3)


def test_tiers_alerts_and_agreement_per_matrix(current: Matrix, new: Matrix) -> None:
    result = replay_json(replay(history(), new=new, current=current))
    assert result["tickets"] == 4
    assert result["escalations"] == 2
    assert result["days"] == ["2026-10-05", "2026-10-06"]
    assert result["current"]["by_day"] == {"2026-10-05": {"1": 1, "2": 1, "3": 1},
                                           "2026-10-06": {"1": 1, "2": 0, "3": 0}}
    assert result["new"]["by_day"]["2026-10-05"] == {"1": 1, "2": 0, "3": 2}
    assert result["current"]["tier3_alerts_by_day"] == {"2026-10-05": 1, "2026-10-06": 0}
    assert result["new"]["tier3_alerts_by_day"] == {"2026-10-05": 2, "2026-10-06": 0}
    # Current: tier 3 catches the churn only (1 of 2 escalations); new catches both.
    assert result["current"]["agreement"]["precision"] == 1.0
    assert result["current"]["agreement"]["recall"] == 0.5
    assert result["new"]["agreement"]["recall"] == 1.0
    assert result["new"]["agreement"]["false_positives"] == 0


def test_every_changed_ticket_with_the_rules_responsible(current: Matrix, new: Matrix) -> None:
    result = replay_json(replay(history(), new=new, current=current))
    assert result["changed"] == 1 and result["raised"] == 1 and result["lowered"] == 0
    (change,) = result["changes"]
    assert change["ticket"] == "2"
    assert (change["current_tier"], change["new_tier"]) == (2, 3)
    assert change["new_rules"] == ["billing_is_urgent"]
    assert change["current_rules"] == ["billing_adjustment"]
    assert change["responsible"] == ["billing_is_urgent", "billing_adjustment"]
    assert change["escalated"] is True
    assert result["rules_behind_changes"] == {"billing_is_urgent": 1, "billing_adjustment": 1}


def test_same_matrix_changes_nothing(current: Matrix) -> None:
    result = replay(history(), new=current, current=current)
    assert result.changed == 0 and result.changes == []
    assert result.new.tiers == result.current.tiers


def test_change_list_is_capped_but_the_count_is_exact(current: Matrix) -> None:
    everything_tier3 = matrix_with_rule(
        "      - id: all_urgent\n        description: Everything\n"
        "        when: {any: [{inquiry: true}, {not: {inquiry: true}}]}\n")
    result = replay(history(), new=everything_tier3, current=current, max_changes=1)
    assert result.changed == 3
    assert len(result.changes) == 1


def test_detection_runs_once_per_distinct_trigger_set(
    current: Matrix, new: Matrix, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Matrix] = []
    real = integration.decide.build_detector

    def counting(matrix: Matrix) -> Any:
        built.append(matrix)
        return real(matrix)

    monkeypatch.setattr(integration.decide, "build_detector", counting)
    assert replay(history(), new=new, current=current).detection_sets == 1
    assert len(built) == 1
    built.clear()
    other = matrix_with_trigger("seat_question", ["add a seat"])
    assert replay(history(), new=other, current=current).detection_sets == 2
    assert len(built) == 2


def test_progress_is_reported(current: Matrix) -> None:
    seen: list[Progress] = []
    replay(history(), new=current, current=current, on_progress=seen.append)
    assert [p.stage for p in seen] == ["reading", "done"]
    assert seen[-1].tickets == 4
