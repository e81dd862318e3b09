"""The gate: only a calm Tier-1 question for information, from an account not at risk."""

from __future__ import annotations

import pytest

from integration.answer.gate import gate, refusal
from integration.models import Account, Signals, Tier, TriggerHit

CALM = Signals(inquiry=True)
HEALTHY = Account(id="c1", health=0.8)


def test_a_calm_tier_1_question_may_be_answered() -> None:
    assert gate(tier=Tier.ONE, signals=CALM, account=HEALTHY,
                text="How do I export shipments?") is None
    assert gate(tier=Tier.ONE, signals=CALM, account=None) is None


@pytest.mark.parametrize("tier", [Tier.TWO, Tier.THREE])
def test_a_ticket_above_tier_1_goes_to_a_person(tier: Tier) -> None:
    assert gate(tier=tier, signals=CALM, account=HEALTHY) == \
        f"it is a Tier {int(tier)} ticket: a person handles it"


@pytest.mark.parametrize("signals", [
    Signals(sentiment=-0.6),
    Signals(frustrated=True),
    Signals(sentiment_spike=True),
])
def test_an_upset_customer_goes_to_a_person(signals: Signals) -> None:
    assert gate(tier=Tier.ONE, signals=signals, account=HEALTHY) == "the customer is upset"


def _hit(trigger: str) -> TriggerHit:
    return TriggerHit(trigger=trigger, match="x", sentence="x")


@pytest.mark.parametrize("signals", [
    Signals(triggers=(_hit("outage"),)),
    Signals(triggers=(_hit("refund"),)),
    Signals(severity="critical"),
    Signals(page_urgency="high"),
])
def test_anything_urgent_goes_to_a_person(signals: Signals) -> None:
    reason = gate(tier=Tier.ONE, signals=signals, account=HEALTHY)
    assert reason is not None
    assert "urgent" in reason or "severity" in reason


def test_the_password_reset_trigger_is_not_urgent() -> None:
    assert gate(tier=Tier.ONE, signals=Signals(triggers=(_hit("password_reset"),)),
                account=HEALTHY) is None


@pytest.mark.parametrize("account", [
    Account(id="c1", health=0.39),
    Account(id="c1", health=0.9, lifecycle="at_risk"),
])
def test_an_account_at_risk_goes_to_a_person(account: Account) -> None:
    reason = gate(tier=Tier.ONE, signals=CALM, account=account)
    assert reason is not None and reason.startswith("the account is at risk")


def test_health_at_the_line_is_not_at_risk() -> None:
    assert gate(tier=Tier.ONE, signals=CALM, account=Account(id="c1", health=0.4)) is None


@pytest.mark.parametrize("text", [
    "Can you extend our trial by a week?",
    "Please cancel our subscription at the end of the month.",
    "We'd like you to downgrade us to Starter.",
    "Could you delete all our data?",
    "Please add three seats to our plan.",
    "Can I get a refund for the unused months?",
    "I need a copy of the invoice reissued with our new VAT number, please reissue it.",
])
def test_an_action_on_the_account_is_refused(text: str) -> None:
    assert refusal(text) == \
        "the customer asks us to do something on the account, not for information"


@pytest.mark.parametrize("text", [
    "The dashboard is down for our whole team.",
    "Exports stopped working yesterday.",
    "We were charged twice this month.",
    "I think we've found a bug in the export.",
])
def test_a_failure_report_is_refused(text: str) -> None:
    assert refusal(text) == "the customer reports that something went wrong"


@pytest.mark.parametrize("text", [
    "How do I cancel my subscription?",
    "Can I downgrade to Starter in the middle of the month?",
    "What is your refund policy for annual plans?",
    "How many seats does the Pro plan include?",
    "Is there a way to delete old shipments myself?",
])
def test_a_question_about_an_action_is_information(text: str) -> None:
    assert refusal(text) is None
