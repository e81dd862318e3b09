"""A report the customer takes back is not escalated; what they still ask for is read."""

from __future__ import annotations

import pytest

from integration.detect import Detector
from integration.detect.retraction import taken_back, thin
from integration.matrix import default_matrix
from integration.matrix.evaluate import evaluate
from integration.models import Category, Tier

from .conftest import NOW, ticket


@pytest.fixture(scope="module")
def matrix_detector() -> Detector:
    return Detector(triggers=default_matrix().triggers)


@pytest.mark.parametrize(
    ("bodies", "message", "live"),
    [
        (["Reports time out for everyone.", "Never mind, it was our VPN. All good now."],
         1, "it was our VPN. All good now."),
        (["Our card was charged twice.", "Please ignore my previous email, the bank merged "
          "two lines. Could you send the March invoice again?"],
         1, "the bank merged two lines. Could you send the March invoice again?"),
        (["Kiosk app shows a blank page — false alarm, the tablet had no Wi-Fi"],
         0, "the tablet had no Wi-Fi"),
        (["Shipment never arrived!", "found it!! it was at reception. sorry"],
         1, "it was at reception. sorry"),
        # A message meant for someone else, even when that is said first.
        (["Sorry, this was meant for our payroll provider, not you. Forwarded by mistake. "
          "> Final reminder: legal action in 7 days."],
         0, "> Final reminder: legal action in 7 days."),
        (["is this the airline? my flight is cancelled",
          "oops wrong chat. anyway, how do I export my invoices?"],
         1, "anyway, how do I export my invoices?"),
    ],
)
def test_the_live_part_starts_after_the_words_that_take_the_report_back(
    bodies: list[str], message: int, live: str
) -> None:
    found = taken_back(bodies)
    assert found is not None
    assert found.message == message
    assert bodies[message][found.start:].lstrip(" ,.!-\u2014") == live


@pytest.mark.parametrize(
    "bodies",
    [
        # Nothing was reported before the words: nothing is taken back.
        ["Never mind the invoice, the whole platform is down."],
        # The problem stands.
        ["The sync failed overnight.", "This is not a false alarm, payroll depends on it."],
        ["Export is broken.", "Never mind, it's still failing after the restart."],
        # Loose words without a sign that all is well: "forget it" is anger here.
        ["Third time I ask about the refund.", "Forget it, we'll take our business elsewhere."],
        # "found it" as a discovery, and "ignore" as a verb about the product.
        ["I found it: error 0x45 in the log, the import dies at row 300."],
        ["The audit filter seems to ignore the end date."],
    ],
)
def test_words_that_do_not_take_a_report_back(bodies: list[str]) -> None:
    assert taken_back(bodies) is None


def test_thin_means_hardly_more_than_all_is_well() -> None:
    assert thin(["all good, sorry!"])
    assert thin(["", "thanks, works now"])
    assert not thin(["Could you send the March invoice to our new address?"])


def _tier(detector: Detector, *bodies: str, subject: str) -> tuple[Tier, Category, list[str]]:
    matrix = default_matrix()
    t = ticket(*bodies, subject=subject)
    signals = detector.detect(t, [])
    decision = evaluate(matrix, t, signals, now=NOW, with_actions=False)
    return decision.tier, signals.category, [e.kind for e in signals.evidence]


def test_an_outage_taken_back_is_a_routine_ticket(matrix_detector: Detector) -> None:
    reported = _tier(matrix_detector, "The whole portal is down for our staff, nothing loads.",
                     subject="Portal down")
    assert reported[0] == Tier.THREE
    tier, category, kinds = _tier(
        matrix_detector, "The whole portal is down for our staff, nothing loads.",
        "Never mind, it was our office firewall. Everything's fine now, sorry!",
        subject="Portal down")
    assert tier == Tier.ONE
    assert category == Category.OTHER
    assert "taken_back" in kinds


def test_what_is_still_asked_after_taking_back_is_read(matrix_detector: Detector) -> None:
    tier, category, _ = _tier(
        matrix_detector,
        "I asked for a refund of the May payment yesterday. Please ignore that, our accountant "
        "entered it twice on our side. What we do need: the May invoice addressed to our new "
        "legal entity, Harbor Freightworks Ltd.",
        subject="Refund request")
    assert tier == Tier.TWO
    assert category == Category.BILLING


@pytest.mark.parametrize(
    ("bodies", "category"),
    [
        # The customer's own explanation, nothing asked: nothing is left to act on.
        (["We'd like our money back for September, the seat price was wrong.",
          "Scratch that, I've found the credit note on the October invoice. All good, thanks!"],
         Category.OTHER),
        (["Hello, I see two charges of £12.99 this month for the music plan. Why?",
          "Ah, forget it — one of them is my partner's account, paid with the same card. Sorry!"],
         Category.OTHER),
        (["There's a login from Porto on my account this morning, we're a Leeds office. Can you "
          "check?", "Sorry, false alarm. Our designer is working from Porto this week and used "
          "the shared login. I'll get her an account."], Category.OTHER),
        # A question is left: a question about the product, not a report of a fault.
        (["All my client proofs disappeared from the dashboard!!",
          "False alarm, the filter was set to 'archived'. How do I make 'active' the default "
          "filter?"], Category.HOW_TO),
    ],
)
def test_a_report_taken_back_leaves_what_follows_it(
    matrix_detector: Detector, bodies: list[str], category: Category
) -> None:
    tier, found, kinds = _tier(matrix_detector, *bodies, subject="Help")
    assert "taken_back" in kinds
    assert (tier, found) == (Tier.ONE, category)


def test_a_problem_still_reported_after_taking_back_stands(matrix_detector: Detector) -> None:
    tier, category, _ = _tier(
        matrix_detector,
        "The export button does nothing.",
        "Never mind the export, sorry. But the invoices page now fails with error 500 for "
        "everyone on our team.",
        subject="Export")
    assert tier >= Tier.TWO
    assert category in (Category.BUG, Category.OUTAGE)
