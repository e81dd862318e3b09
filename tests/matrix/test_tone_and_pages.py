"""A sharp drop in tone mid-conversation, and the page a customer writes from (default matrix)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integration.decide import build_detector, decide
from integration.matrix import Matrix, default_matrix, evaluate, load_matrix_text
from integration.models import Author, Category, Message, MessageSentiment, Tier
from sidebar_ui.sidebar_view import evidence_lines
from tests.matrix.factories import CREATED, NOW, make_ticket, signals
from tests.matrix.test_loader import VALID, issues, line_of

DROP = (MessageSentiment(message_id="m1", score=0.4, sentence="Thanks, that looks great!"),
        MessageSentiment(message_id="m2", score=-0.1, sentence="Hm, still checking."),
        MessageSentiment(message_id="m3", score=-0.7,
                         sentence="This is the third time it broke our export."))


def _rules(matrix: Matrix, **kw: object) -> tuple[Tier, dict[str, str]]:
    decision = evaluate(matrix, make_ticket(), signals(Category.HOW_TO, **kw), now=NOW)
    return decision.tier, {r.rule_id: r.reason for r in decision.rules}


def test_a_sharp_drop_in_tone_lifts_a_tier_1_question_and_says_where() -> None:
    tier, reasons = _rules(default_matrix(), sentiment=-0.2, sentiment_spike=True,
                           message_sentiments=DROP)
    assert tier is Tier.TWO
    assert reasons["tone"].endswith(
        "the customer's tone dropped sharply mid-conversation "
        '(-0.10 → -0.70: "This is the third time it broke our export.")')
    steady, _ = _rules(default_matrix(), sentiment=-0.2, message_sentiments=DROP)
    assert steady is Tier.ONE


def test_the_condition_is_checked_like_the_other_flags() -> None:
    text = VALID.replace("      - id: billing\n        when: {category: [billing]}",
                         "      - id: billing\n        when: {sentiment_spike: true}")
    matrix = load_matrix_text(text, source="m.yaml")
    assert _rules(matrix, sentiment_spike=True, message_sentiments=DROP)[0] is Tier.TWO
    assert _rules(matrix, sentiment_spike=False)[0] is not Tier.TWO
    bad = text.replace("{sentiment_spike: true}", "{sentiment_spike: 3}")
    (issue,) = issues(bad)
    assert issue.line == line_of(bad, "sentiment_spike: 3")
    assert "sentiment_spike" in issue.field


def test_the_handoff_note_and_the_sidebar_show_the_drop() -> None:
    matrix = default_matrix()
    t0 = CREATED
    messages = (
        Message(id="m1", author=Author.CUSTOMER, created_at=t0,
                body="Thanks a lot, the new dashboard looks great, really happy with it!"),
        Message(id="m2", author=Author.AGENT, created_at=t0 + timedelta(hours=1),
                body="Glad to hear it. Anything else?"),
        Message(id="m3", author=Author.CUSTOMER, created_at=t0 + timedelta(hours=2),
                body="Now the export is broken again and I am furious, this is useless garbage."),
    )
    ticket = make_ticket(subject="Dashboard export", messages=messages)
    sig, decision, *_ = decide(ticket, (), matrix=matrix, detector=build_detector(matrix),
                                now=NOW)
    if not sig.sentiment_spike:
        pytest.fail(f"no spike read: {[m.score for m in sig.message_sentiments]}")
    note = next(a.payload["body"] for a in decision.actions if a.kind.value == "internal_note")
    assert "tone dropped sharply (" in note
    stored = {"sentiment": sig.sentiment, "sentiment_spike": True, "message_sentiments": [
        {"message_id": m.message_id, "score": m.score, "sentence": m.sentence}
        for m in sig.message_sentiments]}
    lines = {line.kind: line for line in evidence_lines(stored)}
    assert lines["tone_drop"].text.startswith("dropped sharply mid-conversation (")


@pytest.mark.parametrize("url", [
    "https://app.example.com/settings/subscription/cancel",
    "https://app.example.com/account/close-account?step=2",
    "https://app.example.com/account/close?step=2",
])
def test_anything_written_from_the_cancellation_page_is_churn_risk(url: str) -> None:
    matrix = default_matrix()
    ticket = make_ticket(subject="Button does nothing", page_url=url, messages=(
        Message(id="m1", author=Author.CUSTOMER, created_at=CREATED,
                body="The confirm button on this page does nothing when I click it."),))
    sig, decision, *_ = decide(ticket, (), matrix=matrix, detector=build_detector(matrix),
                                now=NOW)
    assert sig.page_rule == "cancel_account"
    assert decision.tier is Tier.THREE
    assert "churn_risk" in [r.rule_id for r in decision.rules]


def test_a_report_page_is_not_the_cancellation_page() -> None:
    matrix = default_matrix()
    asked = Message(id="m1", author=Author.CUSTOMER, created_at=CREATED,
                    body="How do I change the time of a scheduled report?")
    ticket = make_ticket(subject="Scheduled report", messages=(asked,),
                         page_url="https://app.example.com/reports/42")
    sig, decision, *_ = decide(ticket, (), matrix=matrix, detector=build_detector(matrix),
                                now=NOW)
    assert sig.page_rule != "cancel_account" and decision.tier is Tier.ONE


def _decided(body: str, url: str) -> tuple[str | None, Tier, list[str]]:
    matrix = default_matrix()
    ticket = make_ticket(subject="Not working", page_url=url, messages=(
        Message(id="m1", author=Author.CUSTOMER, created_at=CREATED, body=body),))
    sig, decision, *_ = decide(ticket, (), matrix=matrix, detector=build_detector(matrix),
                                now=NOW)
    return sig.page_rule, decision.tier, [r.rule_id for r in decision.rules]


def test_an_action_failing_on_the_billing_page_needs_a_person() -> None:
    body = "I can't save the new card, it keeps failing."
    page, tier, rules = _decided(body, "https://app.example.com/settings/billing")
    assert page == "billing_settings" and tier is Tier.TWO
    assert "billing_page_failure" in rules
    _, _, elsewhere = _decided(body, "https://app.example.com/reports/42")
    assert "billing_page_failure" not in elsewhere


def test_a_security_setting_that_cannot_be_changed_needs_a_person() -> None:
    body = "I can't turn on two-factor for the team, the toggle keeps failing."
    page, tier, rules = _decided(body, "https://app.example.com/settings/security")
    assert page == "admin_security" and tier is Tier.TWO
    assert "security_setting_failure" in rules


def test_a_question_on_the_billing_page_stays_a_question() -> None:
    page, tier, rules = _decided("Where can I download last month's invoice?",
                                 "https://app.example.com/settings/billing")
    assert page == "billing_settings" and tier is Tier.ONE
    assert "billing_page_failure" not in rules


def test_a_form_failing_on_the_refund_page_is_a_refund_blocked() -> None:
    body = "The form says 'invalid amount' whatever I type."
    page, tier, rules = _decided(body, "https://app.example.com/billing/refund-request")
    assert page == "refund_request" and tier is Tier.THREE
    assert "refund_demand" in rules
    matrix = default_matrix()
    ticket = make_ticket(subject="Credit note", page_url="https://app.example.com/billing/"
                         "refund-request", messages=(Message(
                             id="m1", author=Author.CUSTOMER, created_at=CREATED,
                             body="What currency will the credit note be in?"),))
    sig, decision, *_ = decide(ticket, (), matrix=matrix, detector=build_detector(matrix),
                                now=NOW)
    assert sig.page_rule == "refund_request" and decision.tier is not Tier.THREE


def test_a_granted_refund_that_has_not_shown_yet_is_billing_work() -> None:
    matrix = default_matrix()
    ticket = make_ticket(subject="Refund not on statement", messages=(
        Message(id="m1", author=Author.CUSTOMER, created_at=CREATED,
                body="Your colleague confirmed the refund for the duplicate licence last "
                     "week. It hasn't reached our card yet. Could you send the reference?"),))
    sig, decision, *_ = decide(ticket, (), matrix=matrix, detector=build_detector(matrix),
                                now=NOW)
    assert "refund_granted" in sig.trigger_ids
    assert decision.tier is Tier.TWO
    assert "refund_demand" not in [r.rule_id for r in decision.rules]
