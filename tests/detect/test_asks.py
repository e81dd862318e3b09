"""An information question is not a request: what ``read_ask`` decides and why."""

from __future__ import annotations

import pytest

from integration.detect import Detector
from integration.detect.asks import read_ask
from integration.detect.text import reader
from integration.models import Evidence
from tests.detect.conftest import ticket


def ask(*bodies: str, upset: bool = False) -> tuple[bool, str]:
    parse = reader().read
    result = read_ask([parse(body) for body in bodies], upset=upset)
    return result.inquiry, result.sentence


@pytest.mark.parametrize(
    "body",
    [
        "If we move from Starter to Pro on the 20th, do we pay the full month or the difference?",
        "Is there a discount for non-profit organisations? We can send our registration paper.",
        "annual vs monthly for 12 seats, whats the difference in total?",
        "Good morning, do you accept SEPA direct debit? Our bookkeeper prefers no cards.",
        "What is your refund policy for annual plans? Please let me know.",
        "Is our data encrypted at rest, and with what algorithm? Just filling in our inventory.",
        "How do I move my authenticator to a new phone?",
        # Done by the customer in the product, or asked about a thing: still questions.
        "Can we export the member list to a spreadsheet?",
        "Can it be used without an internet connection?",
    ],
)
def test_information_questions_are_inquiries(body: str) -> None:
    inquiry, sentence = ask(body)
    assert inquiry
    assert sentence.rstrip().endswith("?") or sentence.lower().startswith(("how", "what", "is"))


@pytest.mark.parametrize(
    ("body", "deciding"),
    [
        ("Can you send us your latest SOC 2 report?", "Can you send"),
        ("Could you confirm whether you are affected by the OpenSSL CVE?", "Could you confirm"),
        ("Can I get a refund for the unused months?", "Can I get a refund"),
        ("Is it possible for us to receive a credit note?", "receive a credit"),
        ("Please update the notice address in our agreement.", "Please update"),
        ("Send me the invoice again. Which address did you use?", "Send me the invoice"),
        ("We need the NDA signed before Friday. Who signs it?", "We need the NDA"),
        ("Why was I charged twice this month?", "charged twice"),
        ("Sync stopped since Monday. Is there a known issue?", "Sync stopped"),
        ("How long was it exposed and who accessed it?", "exposed"),
        ("Why is OUR data visible to other companies?", "OUR data"),
        ("The export fails with error 500. What should we do?", "export fails"),
        # Asked of us in the passive, or an operation only we can do on the account.
        ("The receipt shows our old address. Could it be reissued with the new one?",
         "Could it be reissued"),
        ("Can they be merged into one workspace?", "Can they be merged"),
        ("Can we transfer the licence to our sister company?", "Can we transfer"),
    ],
)
def test_requests_problems_and_alarm_are_not_inquiries(body: str, deciding: str) -> None:
    inquiry, sentence = ask(body)
    assert not inquiry
    assert deciding in sentence


def test_a_statement_without_a_question_is_not_an_inquiry() -> None:
    assert ask("We moved our offices to Leeds last month.") == (False, "")


@pytest.mark.parametrize(
    "body",
    [
        "Our auditor asked whether your invoices show the VAT rate per line.",
        "I was wondering how long you keep backups once a contract ends.",
        "We'd like to know if the Pro plan includes single sign-on. Thanks!",
    ],
)
def test_a_question_told_as_a_statement_is_an_inquiry(body: str) -> None:
    assert ask(body)[0]


@pytest.mark.parametrize(
    "body",
    [
        # A sign-off is no question, and wanting something done is a request.
        "We updated our billing address to 12 High Street. Let me know if you need anything.",
        "We'd like to cancel the add-on from next month.",
    ],
)
def test_a_sign_off_or_a_want_is_not_an_indirect_question(body: str) -> None:
    assert not ask(body)[0]


def test_an_upset_customer_is_never_an_inquiry() -> None:
    body = "Do you accept SEPA direct debit?"
    assert ask(body)[0]
    assert not ask(body, upset=True)[0]


def test_every_message_counts() -> None:
    first = "Which plan includes audit logs?"
    assert ask(first)[0]
    assert not ask(first, "Also please add two seats to our plan.")[0]


def test_the_detector_reports_an_inquiry_with_its_sentence(detector: Detector) -> None:
    asked = detector.detect(ticket("Do you offer a discount for annual billing?"))
    assert asked.inquiry
    assert (
        Evidence(kind="ask", text="Do you offer a discount for annual billing?") in asked.evidence
    )
    angry = detector.detect(ticket("Do you even test this garbage?? Unacceptable!!!"))
    assert not angry.inquiry
    assert not any(e.kind == "ask" for e in angry.evidence)


def test_context_with_a_negation_does_not_spoil_a_policy_question() -> None:
    body = ("If we remove an add-on mid-term, is the unused part refunded automatically? "
            "Just trying to understand the policy, we're not changing anything yet.")
    assert ask(body)[0]
    assert not ask("Is the export broken again? It hasn't worked since Monday.")[0]


@pytest.mark.parametrize(
    "body",
    [
        "If my flight gets cancelled because of the strike, do I get a refund or a voucher?",
        "We're updating our continuity plan. If your EU region went down for a day, what would "
        "happen to bookings made in that time?",
        "In case the direct debit bounces during our bank switch, is there a grace period?",
    ],
)
def test_a_question_about_a_supposed_case_is_an_inquiry(body: str) -> None:
    inquiry, sentence = ask(body)
    assert inquiry
    assert sentence.lower().startswith(("if", "in case"))


def test_a_courtesy_condition_is_not_a_supposed_case() -> None:
    # "If possible" wraps a request; it supposes nothing.
    inquiry, sentence = ask("If possible, can you refund the duplicate charge?")
    assert not inquiry
    assert "refund" in sentence


@pytest.mark.parametrize(
    "body",
    [
        "Got your email that the double charge was refunded on Monday. How many days does it "
        "normally take to show on the card?",
        "The chargeback our bank raised by mistake was withdrawn on the 12th. Which invoice "
        "number should our bookkeeper note for September?",
    ],
)
def test_a_problem_already_put_right_is_context_for_the_question(body: str) -> None:
    inquiry, sentence = ask(body)
    assert inquiry
    assert sentence.rstrip().endswith("?")


@pytest.mark.parametrize(
    "body",
    [
        "The double charge was refunded on Monday, but my bank still shows it twice. Why?",
        "The refund was issued on the 3rd, but the duplicate charge is still on my statement.",
    ],
)
def test_a_fix_with_something_still_wrong_is_a_problem(body: str) -> None:
    inquiry, _ = ask(body)
    assert not inquiry


def test_what_an_end_user_asked_of_the_customer_is_context() -> None:
    inquiry, sentence = ask("A patient has asked our clinic for a copy of all the information "
                            "we hold about them. Can your system export one patient's records?")
    assert inquiry
    assert sentence.startswith("Can your system")
