"""What the SLA sweep writes: warnings, breaches and time-based promotion (pure)."""

from __future__ import annotations

from datetime import timedelta

from integration.matrix import Matrix, load_matrix_text
from integration.matrix.breach import BREACH_RULE, Deadline, breach_decision, warning_actions
from integration.matrix.loader import DEFAULT_PATH
from integration.models import Action, ActionKind, Category, Priority, Tier
from tests.matrix.factories import NOW, account, make_ticket

DUE = NOW + timedelta(minutes=30)


def kinds(actions: tuple[Action, ...]) -> list[ActionKind]:
    return [a.kind for a in actions]


def test_warning_is_a_note_for_the_assignee_and_a_slack_alert_when_connected(
    matrix: Matrix,
) -> None:
    ticket = make_ticket(assignee="agent-7")
    deadline = Deadline(metric="first_response", due_at=DUE)
    quiet = warning_actions(matrix, ticket, tier=Tier.TWO, deadline=deadline, now=NOW)
    assert kinds(quiet) == [ActionKind.INTERNAL_NOTE]
    body = quiet[0].payload["body"]
    assert "@agent-7" in body and "first response" in body and "(in 30 min)" in body
    loud = warning_actions(matrix, ticket, tier=Tier.TWO, deadline=deadline, now=NOW,
                           connected=frozenset({"slack"}))
    assert kinds(loud) == [ActionKind.INTERNAL_NOTE, ActionKind.ALERT]
    assert loud[1].target == "slack" and loud[1].payload["kind"] == "sla_warning"


def test_tier_2_breach_is_promoted_to_tier_3_with_everything_tier_3_writes(
    matrix: Matrix,
) -> None:
    ticket = make_ticket(account=account(plan="pro", arr=20_000))
    deadline = Deadline(metric="first_response", due_at=NOW, blamed_tier=Tier.TWO)
    decision = breach_decision(
        matrix, ticket, tier=Tier.TWO, category=Category.BILLING, sentiment=-0.2,
        deadline=deadline, now=NOW + timedelta(seconds=5),
        connected=frozenset({"slack", "manager"}),
    )
    assert (decision.tier, decision.priority) == (Tier.THREE, Priority.URGENT)
    (hit,) = decision.rules
    assert hit.rule_id == BREACH_RULE
    assert "blamed on tier 2" in hit.reason and "promoted from tier 2 to tier 3" in hit.reason
    found = kinds(decision.actions)
    for kind in (ActionKind.ADD_TAGS, ActionKind.SET_PRIORITY, ActionKind.ASSIGN,
                 ActionKind.INTERNAL_NOTE, ActionKind.PUBLIC_REPLY):
        assert kind in found
    alerts = [a for a in decision.actions if a.kind is ActionKind.ALERT]
    assert sorted(a.target for a in alerts) == ["manager", "slack"]
    assert all(a.payload["tier"] == 3 for a in alerts)


def test_the_customer_is_told_only_when_the_matrix_asks(matrix: Matrix) -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    old = "on_breach: {promote_to: 3, alert: [slack, manager], acknowledge: true}"
    assert old in text
    silent = load_matrix_text(text.replace(old, "on_breach: {promote_to: 3}"))
    deadline = Deadline(metric="first_response", due_at=NOW)
    decision = breach_decision(silent, make_ticket(), tier=Tier.TWO, category=Category.BUG,
                               sentiment=0.0, deadline=deadline, now=NOW)
    assert decision.tier is Tier.THREE
    assert ActionKind.PUBLIC_REPLY not in kinds(decision.actions)


def test_breach_without_promotion_alerts_and_notes_only(matrix: Matrix) -> None:
    deadline = Deadline(metric="resolution", due_at=NOW, blamed_tier=Tier.THREE)
    decision = breach_decision(
        matrix, make_ticket(), tier=Tier.THREE, category=Category.OUTAGE, sentiment=-0.5,
        deadline=deadline, now=NOW, connected=frozenset({"slack"}),
    )
    assert decision.tier is Tier.THREE
    assert kinds(decision.actions) == [ActionKind.INTERNAL_NOTE, ActionKind.ALERT]
    assert "resolution was due" in decision.actions[0].payload["body"]
    assert decision.actions[1].payload["kind"] == "sla_breach"
    tier_1 = breach_decision(matrix, make_ticket(), tier=Tier.ONE, category=Category.HOW_TO,
                             sentiment=0.0, deadline=deadline, now=NOW,
                             connected=frozenset({"slack"}))
    assert tier_1.tier is Tier.ONE
    assert kinds(tier_1.actions) == [ActionKind.INTERNAL_NOTE]
