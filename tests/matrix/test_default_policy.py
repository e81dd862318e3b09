"""Every rule of the default escalation policy, on hand-built tickets and signals."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from integration.matrix import Matrix, check_file, evaluate, load_matrix_text
from integration.matrix.loader import DEFAULT_PATH
from integration.models import Category, Decision, Evidence, Signals, Ticket, Tier
from tests.matrix.factories import (
    CREATED,
    NOW,
    account,
    customer_message,
    hit,
    make_ticket,
    signals,
)


def decide(
    matrix: Matrix, sig: Signals, ticket: Ticket | None = None, previous_tier: Tier | None = None
) -> Decision:
    return evaluate(matrix, ticket or make_ticket(), sig, now=NOW, previous_tier=previous_tier)


def rule_ids(decision: Decision) -> list[str]:
    return [r.rule_id for r in decision.rules]


def test_default_matrix_validates_and_is_versioned(matrix: Matrix) -> None:
    assert check_file(DEFAULT_PATH) == []
    assert re.fullmatch(r"v1-[0-9a-f]{12}", matrix.version)
    assert {t.id for t in matrix.triggers} >= {"churn", "refund", "legal", "outage"}


# --- Tier 3 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "match", "rule"),
    [
        ("churn", "cancel", "churn_risk"),
        ("churn", "reviewing other vendors", "churn_risk"),
        ("refund", "refund", "refund_demand"),
        ("legal", "lawyer", "legal_or_compliance"),
        ("legal", "chargeback", "legal_or_compliance"),
        ("compliance", "gdpr", "legal_or_compliance"),
        ("outage", "is down", "outage"),
        ("security", "unauthorized access", "security_incident"),
        ("contract_dispute", "dispute", "contract_dispute"),
        ("relationship", "last straw", "relationship_at_stake"),
    ],
)
def test_tier_3_triggers_escalate_even_a_how_to(
    matrix: Matrix, trigger: str, match: str, rule: str
) -> None:
    decision = decide(matrix, signals(Category.HOW_TO, hit(trigger, match)))
    assert decision.tier is Tier.THREE
    assert rule_ids(decision) == [rule]


@pytest.mark.parametrize(
    ("category", "rule"),
    [
        (Category.CANCELLATION, "churn_risk"),
        (Category.REFUND, "refund_demand"),
        (Category.LEGAL, "legal_or_compliance"),
        (Category.OUTAGE, "outage"),
        (Category.SECURITY, "security_incident"),
    ],
)
def test_tier_3_categories(matrix: Matrix, category: Category, rule: str) -> None:
    decision = decide(matrix, signals(category))
    assert (decision.tier, rule_ids(decision)) == (Tier.THREE, [rule])


def test_a_cancellation_only_mentioned_is_no_churn_risk(matrix: Matrix) -> None:
    why = Evidence(kind="trigger_ignored",
                   text="churn: 'cancel' is negated in 'We are not looking to cancel.'")
    said = signals(Category.CANCELLATION, mentioned=("churn",), evidence=(why,))
    decision = decide(matrix, said)
    assert decision.tier is not Tier.THREE
    assert "churn_risk" not in rule_ids(decision)
    # A live churn word still escalates, whatever else was only mentioned.
    live = signals(Category.CANCELLATION, hit("churn", "cancel"), mentioned=("refund",))
    assert rule_ids(decide(matrix, live))[0] == "churn_risk"


def test_the_mentioned_condition_cites_the_reading(matrix: Matrix) -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace(
        "  3:\n    rules:\n",
        "  3:\n    rules:\n      - id: only_said\n        when: {mentioned: [refund]}\n", 1)
    custom = load_matrix_text(text)
    why = Evidence(kind="trigger_ignored", text="refund: 'refund' is past in 'We got the refund.'")
    decision = decide(custom, signals(Category.BILLING, mentioned=("refund",), evidence=(why,)))
    assert decision.rules[0].rule_id == "only_said"
    assert "'refund' only mentioned (refund: 'refund' is past" in decision.rules[0].reason
    assert "only_said" not in rule_ids(decide(custom, signals(Category.BILLING)))


def test_critical_bug_at_enterprise_is_tier_3_but_not_elsewhere(matrix: Matrix) -> None:
    sig = signals(Category.BUG, severity="critical")
    enterprise = make_ticket(account=account(plan="enterprise", health=0.9))
    pro = make_ticket(account=account(plan="pro"))
    assert decide(matrix, sig, enterprise).tier is Tier.THREE
    assert "critical_bug_enterprise" in rule_ids(decide(matrix, sig, enterprise))
    assert decide(matrix, sig, pro).tier is Tier.TWO
    data_loss = signals(Category.BUG, hit("critical_bug", "data loss"))
    assert decide(matrix, data_loss, enterprise).tier is Tier.THREE
    assert decide(matrix, data_loss, pro).tier is Tier.TWO


def test_several_tier_3_rules_are_all_cited(matrix: Matrix) -> None:
    sig = signals(Category.REFUND, hit("churn", "cancel"), hit("legal", "lawyer"))
    decision = decide(matrix, sig)
    assert rule_ids(decision) == ["churn_risk", "refund_demand", "legal_or_compliance"]


# --- Tier 2 and Tier 1 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "rule"),
    [
        (Category.BILLING, "billing_adjustment"),
        (Category.BUG, "troubleshooting"),
        (Category.ACCOUNT_ACCESS, "access_not_self_serve"),
    ],
)
def test_tier_2_categories(matrix: Matrix, category: Category, rule: str) -> None:
    decision = decide(matrix, signals(category))
    assert (decision.tier, rule_ids(decision)) == (Tier.TWO, [rule])


def test_onboarding_blocker_is_tier_2_but_an_onboarding_question_is_tier_1(
    matrix: Matrix,
) -> None:
    blocked = decide(matrix, signals(Category.ONBOARDING, hit("blocker", "stuck")))
    assert (blocked.tier, rule_ids(blocked)) == (Tier.TWO, ["onboarding_blocker"])
    question = decide(matrix, signals(Category.ONBOARDING))
    assert (question.tier, rule_ids(question)) == (Tier.ONE, ["routine_request"])


def test_routine_contract_change_is_tier_2_but_a_legal_threat_is_tier_3(matrix: Matrix) -> None:
    change = decide(matrix, signals(Category.LEGAL, hit("admin_change", "amendment")))
    assert (change.tier, rule_ids(change)) == (Tier.TWO, ["admin_change"])
    threat = signals(Category.LEGAL, hit("admin_change", "amendment"), hit("legal", "lawyer"))
    assert decide(matrix, threat).tier is Tier.THREE


def test_routine_admin_change_is_tier_2(matrix: Matrix) -> None:
    decision = decide(matrix, signals(Category.OTHER, hit("admin_change", "add seats")))
    assert (decision.tier, rule_ids(decision)) == (Tier.TWO, ["admin_change"])


@pytest.mark.parametrize("category", [Category.HOW_TO, Category.FEATURE_REQUEST, Category.OTHER])
def test_tier_1_routine_requests(matrix: Matrix, category: Category) -> None:
    decision = decide(matrix, signals(category))
    assert (decision.tier, rule_ids(decision)) == (Tier.ONE, ["routine_request"])


def test_password_reset_is_tier_1_but_access_a_reset_cannot_fix_is_tier_2(
    matrix: Matrix,
) -> None:
    reset = hit("password_reset", "reset my password")
    plain = decide(matrix, signals(Category.ACCOUNT_ACCESS, reset))
    assert (plain.tier, rule_ids(plain)) == (Tier.ONE, ["self_serve_password_reset"])
    for blocked in ("locked out", "sso", "2fa", "reset link expired"):
        sig = signals(Category.ACCOUNT_ACCESS, reset, hit("access_blocked", blocked))
        decision = decide(matrix, sig)
        assert (decision.tier, rule_ids(decision)) == (Tier.TWO, ["access_not_self_serve"])


def test_plan_information_question_stays_tier_1(matrix: Matrix) -> None:
    decision = decide(matrix, signals(Category.BILLING, hit("plan_info", "which plan")))
    assert decision.tier is Tier.ONE
    billing_issue = signals(
        Category.BILLING, hit("plan_info", "which plan"), hit("billing_issue", "charged twice")
    )
    assert decide(matrix, billing_issue).tier is Tier.TWO


@pytest.mark.parametrize(
    ("category", "triggers", "asked_tier", "action_tier", "action_rule"),
    [
        (Category.BILLING, (), Tier.ONE, Tier.TWO, "billing_adjustment"),
        (Category.REFUND, ("refund",), Tier.ONE, Tier.THREE, "refund_demand"),
        (Category.SECURITY, (), Tier.ONE, Tier.THREE, "security_incident"),
        (Category.ACCOUNT_ACCESS, ("access_blocked",), Tier.ONE, Tier.TWO, "access_not_self_serve"),
        (Category.OTHER, ("compliance",), Tier.ONE, Tier.THREE, "legal_or_compliance"),
    ],
)
def test_an_information_question_is_tier_1_and_the_same_topic_asked_as_action_is_not(
    matrix: Matrix,
    category: Category,
    triggers: tuple[str, ...],
    asked_tier: Tier,
    action_tier: Tier,
    action_rule: str,
) -> None:
    hits = [hit(t, t) for t in triggers]
    asked = decide(matrix, signals(category, *hits, inquiry=True))
    assert (asked.tier, rule_ids(asked)) == (asked_tier, ["routine_request"])
    assert any("only asks for information" in r for r in asked.reasons)
    acted = decide(matrix, signals(category, *hits))
    assert acted.tier is action_tier
    assert action_rule in rule_ids(acted)
    if category is Category.BILLING:
        assert "the customer asks for action or reports a problem" in acted.reasons[0]


def test_a_legal_threat_escalates_even_in_a_question(matrix: Matrix) -> None:
    decision = decide(matrix, signals(Category.LEGAL, hit("legal", "lawyer"), inquiry=True))
    assert (decision.tier, rule_ids(decision)) == (Tier.THREE, ["legal_or_compliance"])


def test_security_paperwork_is_tier_2_and_an_incident_is_tier_3(matrix: Matrix) -> None:
    review = decide(matrix, signals(Category.SECURITY, hit("security_review", "soc 2")))
    assert (review.tier, rule_ids(review)) == (Tier.TWO, ["security_review"])
    incident = signals(
        Category.SECURITY,
        hit("security_review", "pen test"),
        hit("security", "unauthorized access"),
    )
    assert rule_ids(decide(matrix, incident)) == ["security_incident"]


def test_a_legal_question_without_a_threat_is_information(matrix: Matrix) -> None:
    decision = decide(matrix, signals(Category.LEGAL, inquiry=True))
    assert (decision.tier, rule_ids(decision)) == (Tier.ONE, ["routine_request"])


# --- Account context ------------------------------------------------------------------------


def test_declining_usage_before_the_renewal_lifts_an_enterprise_tier_2_issue(
    matrix: Matrix,
) -> None:
    soon = (NOW + timedelta(days=45)).date()
    ticket = make_ticket(account=account(plan="enterprise", renewal_date=soon))
    declining = signals(Category.BUG, engagement_declining=True, engagement_trend=0.4)
    decision = decide(matrix, declining, ticket)
    assert decision.tier is Tier.THREE
    assert rule_ids(decision) == ["troubleshooting", "declining_before_renewal"]
    reason = decision.rules[-1].reason
    assert "logins at 40% of the previous 30 days" in reason and "in 45 days" in reason
    steady = signals(Category.BUG)
    assert decide(matrix, steady, ticket).tier is Tier.TWO
    late = make_ticket(account=account(plan="enterprise",
                                       renewal_date=(NOW + timedelta(days=200)).date()))
    assert decide(matrix, declining, late).tier is Tier.TWO
    pro = make_ticket(account=account(plan="pro", renewal_date=soon))
    assert decide(matrix, declining, pro).tier is Tier.TWO




def test_billing_for_enterprise_at_risk_is_tier_3(matrix: Matrix) -> None:
    ticket = make_ticket(account=account(plan="enterprise", health=0.3))
    decision = decide(matrix, signals(Category.BILLING), ticket)
    assert decision.tier is Tier.THREE
    assert rule_ids(decision) == ["billing_adjustment", "at_risk_enterprise"]
    assert "health 0.30 < 0.4" in decision.rules[1].reason


@pytest.mark.parametrize(
    ("plan", "health", "tier"),
    [("enterprise", 0.4, Tier.TWO), ("enterprise", None, Tier.TWO), ("pro", 0.1, Tier.TWO)],
)
def test_at_risk_needs_enterprise_and_health_below_0_4(
    matrix: Matrix, plan: str, health: float | None, tier: Tier
) -> None:
    ticket = make_ticket(account=account(plan=plan, health=health))
    assert decide(matrix, signals(Category.BILLING), ticket).tier is tier


def test_enterprise_at_risk_does_not_lift_a_calm_tier_1_issue(matrix: Matrix) -> None:
    ticket = make_ticket(account=account(plan="enterprise", health=0.2))
    assert decide(matrix, signals(Category.HOW_TO), ticket).tier is Tier.ONE


@pytest.mark.parametrize(
    ("arr", "frustrated", "sentiment", "tier"),
    [
        (150_000, True, 0.0, Tier.THREE),
        (100_001, False, -0.8, Tier.THREE),
        # "Above 100,000": an account at exactly 100,000 is not lifted by its tone.
        (100_000, True, -0.8, Tier.TWO),
        (150_000, False, -0.2, Tier.TWO),
        (99_999, True, -0.8, Tier.TWO),
    ],
)
def test_big_and_frustrated(
    matrix: Matrix, arr: float, frustrated: bool, sentiment: float, tier: Tier
) -> None:
    ticket = make_ticket(account=account(arr=arr))
    sig = signals(Category.BUG, frustrated=frustrated, sentiment=sentiment)
    decision = decide(matrix, sig, ticket)
    assert decision.tier is tier
    assert ("big_and_frustrated" in rule_ids(decision)) is (tier is Tier.THREE)


# --- Tone -----------------------------------------------------------------------------------


def test_how_to_with_angry_customer_is_tier_2(matrix: Matrix) -> None:
    angry = decide(matrix, signals(Category.HOW_TO, frustrated=True))
    assert (angry.tier, rule_ids(angry)) == (Tier.TWO, ["routine_request", "tone"])
    negative = decide(matrix, signals(Category.HOW_TO, sentiment=-0.7))
    assert negative.tier is Tier.TWO
    assert "sentiment -0.70 < -0.5" in negative.rules[-1].reason
    mild = decide(matrix, signals(Category.HOW_TO, sentiment=-0.3))
    assert mild.tier is Tier.ONE


# --- Repeat contact -------------------------------------------------------------------------


def test_third_contact_on_tier_2_issue_is_tier_3(matrix: Matrix) -> None:
    decision = decide(matrix, signals(Category.BILLING, repeat_contacts=3))
    assert decision.tier is Tier.THREE
    assert rule_ids(decision) == ["billing_adjustment", "repeat_contact"]
    assert "contact #3" in decision.rules[-1].reason


@pytest.mark.parametrize(
    ("category", "contacts", "tier"),
    [
        (Category.HOW_TO, 3, Tier.TWO),
        (Category.HOW_TO, 5, Tier.TWO),
        (Category.BILLING, 2, Tier.TWO),
        (Category.REFUND, 4, Tier.THREE),
    ],
)
def test_repeat_contact_moves_up_one_tier_at_most_3(
    matrix: Matrix, category: Category, contacts: int, tier: Tier
) -> None:
    assert decide(matrix, signals(category, repeat_contacts=contacts)).tier is tier


def test_several_customer_messages_over_days_move_up_one(matrix: Matrix) -> None:
    over_days = tuple(customer_message(i, CREATED + timedelta(days=i)) for i in range(3))
    same_hour = tuple(customer_message(i, CREATED + timedelta(minutes=i)) for i in range(3))
    slow = decide(matrix, signals(Category.BUG), make_ticket(messages=over_days))
    assert (slow.tier, rule_ids(slow)) == (Tier.THREE, ["troubleshooting", "repeat_contact"])
    assert "over 2.0 days" in slow.rules[-1].reason
    burst = decide(matrix, signals(Category.BUG), make_ticket(messages=same_hour))
    assert burst.tier is Tier.TWO


# --- Tier floor -----------------------------------------------------------------------------


def test_previous_tier_is_a_floor_and_is_cited(matrix: Matrix) -> None:
    decision = decide(matrix, signals(Category.HOW_TO), previous_tier=Tier.THREE)
    assert decision.tier is Tier.THREE
    assert rule_ids(decision) == ["routine_request", "tier_floor"]
    assert "rules alone say 1" in decision.rules[-1].reason


def test_a_lower_previous_tier_changes_nothing(matrix: Matrix) -> None:
    decision = decide(matrix, signals(Category.BILLING), previous_tier=Tier.ONE)
    assert (decision.tier, rule_ids(decision)) == (Tier.TWO, ["billing_adjustment"])


def test_a_refund_we_already_granted_is_billing_work_however_upset_the_customer_is(
    matrix: Matrix,
) -> None:
    granted = hit("refund_granted", "refund you processed")
    tracing = decide(matrix, signals(Category.REFUND, hit("refund", "refund"), granted))
    assert (tracing.tier, rule_ids(tracing)) == (Tier.TWO, ["billing_adjustment"])
    # "It hasn't shown on our statement yet" is a calm report: tracing it is billing work.
    not_yet = signals(Category.REFUND, hit("refund", "refund"), granted, sentiment=-0.15)
    assert rule_ids(decide(matrix, not_yet)) == ["billing_adjustment"]
    # Tone alone never makes tier 3: a late refund chased angrily is still traced by billing.
    upset = signals(Category.REFUND, hit("refund", "refund"), granted, sentiment=-0.7,
                    frustrated=True)
    assert rule_ids(decide(matrix, upset)) == ["billing_adjustment"]
    assert rule_ids(decide(matrix, signals(Category.REFUND, hit("refund", "refund"),
                                           sentiment=-0.45))) == ["refund_demand"]
