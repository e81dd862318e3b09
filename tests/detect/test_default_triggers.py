"""The default matrix's triggers read as meant: who writes is not a threat, churn said plainly,
a refund already granted, a password reset typed in a hurry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integration.decide import build_detector
from integration.detect import Detector
from integration.matrix import default_matrix
from integration.matrix.evaluate import evaluate

from .conftest import ticket


@pytest.fixture(scope="module")
def default_detector() -> Detector:
    return build_detector(default_matrix())


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("If this isn't there by March we'll have to move to a vendor that offers it.", "churn"),
        ("Fix it by Friday or we're switching to a tool that actually makes sense.", "churn"),
        ("Our auditors need a credit memo for the refund you processed in September.",
         "refund_granted"),
        ("Your colleague confirmed the $180 refund was issued on Oct 2.", "refund_granted"),
        ("pw reset pls, cant log in", "password_reset"),
        ("If this is not fixed we will involve our legal department.", "legal"),
        ("I lost my card on the train this morning. Please freeze it now.", "security"),
        ("@TelcoOne porting my number to another network this week. Bye.", "churn"),
        ("64p a litre? At that price I'll be looking elsewhere for the winter order.", "churn"),
        ("Third late delivery this month, we'll take our business elsewhere.", "churn"),
    ],
)
def test_meant_triggers_fire(default_detector: Detector, text: str, trigger: str) -> None:
    assert trigger in default_detector.detect(ticket(text)).trigger_ids


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("Before our roadmap session our legal team needs a mutual NDA in place.", "legal"),
        ("Please update the notice address: Legal Department, 400 Harbour Street.", "legal"),
        ("We want to switch to a plan that includes SSO.", "churn"),
        ("The password reset link expired, can I get a new one?", "access_blocked"),
    ],
)
def test_who_writes_and_routine_words_do_not_fire(
    default_detector: Detector, text: str, trigger: str
) -> None:
    assert trigger not in default_detector.detect(ticket(text)).trigger_ids


def _tier(detector: Detector, text: str) -> int:
    t = ticket(text)
    decision = evaluate(default_matrix(), t, detector.detect(t),
                        now=datetime(2026, 11, 2, 10, 0, tzinfo=UTC), with_actions=False)
    return int(decision.tier)


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        # Data-protection paperwork asked for as routine is contract admin.
        ("Our privacy office asks for a copy of the DPA we signed with you. Could you send it?",
         2),
        ("Please send your current list of sub-processors for our annual review.", 2),
        # Only asking what the published terms say is information.
        ("Our attorney is reviewing your terms of service before we sign up. Which law governs "
         "them?", 1),
        # A charge made in error, to be put right: billing work, not a refund demand...
        ("The card was charged twice on 3 March, £49 each. Can you check and reverse one?", 2),
        ("My account was charged for a day I wasn't there. Please reverse the charge.", 2),
        # ...unless the customer asks for their money back.
        ("We were charged twice this month and we want our money back today.", 3),
    ],
)
def test_routine_paperwork_and_charge_corrections_are_tier_two(
    default_detector: Detector, text: str, tier: int
) -> None:
    assert _tier(default_detector, text) == tier


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        # A lock the customer set off by mistyping lifts by itself or with a reset.
        ("I entered my app PIN wrong 3 times and now it says locked. How do I unlock it?", 1),
        ("How long is someone locked out after five wrong passwords? It's for our handbook.", 1),
        # An account locked by the vendor or an admin is agent work.
        ("Our account is locked and says 'suspended by administrator'. Nobody here did that.", 2),
        # A reset is self-service until the customer says it was tried and did not help.
        ("I forgot my password, how do I reset it?", 1),
        ("Our drivers can't sign in with their work accounts. Resetting their passwords does "
         "nothing, the error comes first.", 2),
    ],
)
def test_a_lockout_timer_is_self_serve(default_detector: Detector, text: str, tier: int) -> None:
    assert _tier(default_detector, text) == tier


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        ("I can't log in, and resetting my password didn't help.", True),
        ("Resetting the passwords made no difference, same error.", True),
        ("I reset my password and it works now, thanks!", False),
        ("How do I reset my password? The link doesn't fit on my screen.", False),
    ],
)
def test_a_reset_that_did_not_help_is_not_self_service(
    default_detector: Detector, text: str, blocked: bool
) -> None:
    assert ("access_blocked" in default_detector.detect(ticket(text)).trigger_ids) is blocked


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        # Production blocked at an enterprise account, said in the business's own words.
        ("Since this morning's release none of our 14 depots can close work orders. We can't "
         "release trains back into service without them.", 3),
        ("Picker app today: 0 of 1,180 harvest scans uploaded. Yesterday 1,164 of 1,171.", 3),
        # The same account with a bug that stops nothing stays tier 2.
        ("The tooltip on the depot filter shows the wrong date format.", 2),
    ],
)
def test_work_stopped_at_an_enterprise_account_is_tier_three(
    default_detector: Detector, text: str, tier: int
) -> None:
    from dataclasses import replace

    from integration.models import Account

    t = replace(ticket(text), account=Account(id="a1", plan="enterprise", arr=150_000.0,
                                              health=0.8))
    decision = evaluate(default_matrix(), t, default_detector.detect(t),
                        now=datetime(2026, 11, 2, 10, 0, tzinfo=UTC), with_actions=False)
    assert int(decision.tier) == tier, decision.rules


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        # A refund that was granted or has arrived is not a refund demand...
        ("The refund email came through this morning, cheers. When should we expect to see it "
         "back on the company card?", 1),
        # ...and one that is late is traced by billing, however annoyed the customer is.
        ("My refund of €64.90 was issued on the 3rd, but my bank says nothing has arrived. "
         "Could you send me the transaction reference?", 2),
        ("You confirmed my refund three weeks ago and it STILL hasn't arrived. This is "
         "ridiculous, where is my money?", 2),
        # Asking for the money is a demand.
        ("Please get my refund processed today, the product never worked.", 3),
        # An IP allow-list change is security paperwork, not an incident.
        ("Please add 203.0.113.40/29 to our admin IP allow-list and remove 198.51.100.12. New "
         "office line.", 2),
    ],
)
def test_granted_refunds_and_security_paperwork_are_not_tier_three(
    default_detector: Detector, text: str, tier: int
) -> None:
    assert _tier(default_detector, text) == tier
