"""Category on B2B SaaS language, with page priors and confidence."""

from __future__ import annotations

import pytest

from integration.detect import Detector
from integration.models import Category, Evidence

from .conftest import ticket


@pytest.mark.parametrize(
    ("subject", "body", "category"),
    [
        (
            "Charged twice",
            "We were charged twice for 12 seats on the last invoice.",
            Category.BILLING,
        ),
        (
            "VAT on invoice",
            "Our invoice is missing our VAT number, can you reissue it?",
            Category.BILLING,
        ),
        ("Refund please", "Please refund the annual plan we bought by mistake.", Category.REFUND),
        (
            "Cancel",
            "We want to cancel our subscription at the end of the term.",
            Category.CANCELLATION,
        ),
        (
            "SSO login",
            "Since we switched to Okta SSO nobody on my team can log in.",
            Category.ACCOUNT_ACCESS,
        ),
        (
            "Webhooks failing",
            "Webhook deliveries fail with 500 Internal Server Error since "
            "the last release. Steps to reproduce attached.",
            Category.BUG,
        ),
        ("App down", "The app is down, all users get 503 Service Unavailable.", Category.OUTAGE),
        ("Question", "How do I add a filter to a dashboard widget?", Category.HOW_TO),
        (
            "Idea",
            "It would be great if the dashboards could be exported to PDF.",
            Category.FEATURE_REQUEST,
        ),
        ("DPA", "Our legal team needs a signed DPA for GDPR before we roll out.", Category.LEGAL),
        (
            "Suspicious login",
            "We saw unauthorized access to an admin account from an unknown IP.",
            Category.SECURITY,
        ),
        (
            "Getting started",
            "We just signed up and need help with onboarding and importing our data.",
            Category.ONBOARDING,
        ),
        (
            "API integration",
            "The API returns a NullPointerException when we create a contact via the integration.",
            Category.BUG,
        ),
        ("Hello", "Thanks for the quick call yesterday.", Category.OTHER),
    ],
)
def test_b2b_categories(detector: Detector, subject: str, body: str, category: Category) -> None:
    signals = detector.detect(ticket(body, subject=subject))
    assert signals.category is category, signals.evidence
    assert 0.0 <= signals.category_confidence <= 1.0
    assert any(e.kind == "category" and e.text.startswith(category.value) for e in signals.evidence)


def test_confidence_is_higher_for_clear_text(detector: Detector) -> None:
    clear = detector.detect(
        ticket("Please refund us, we want our money back.", subject="Refund")
    ).category_confidence
    vague = detector.detect(ticket("Something about the plan.")).category_confidence
    assert clear > vague


def test_negated_cancel_is_not_cancellation(detector: Detector) -> None:
    signals = detector.detect(
        ticket("We do not want to cancel. We were charged twice on the invoice.")
    )
    assert signals.category is Category.BILLING


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("https://app.example.com/settings/billing", "billing"),
        ("https://app.example.com/account/invoices/42", "billing"),
        ("https://app.example.com/login?next=/", "account_access"),
        ("https://app.example.com/#/sso/setup", "account_access"),
        ("https://app.example.com/getting-started", "onboarding"),
        ("https://app.example.com/admin/audit-log", "security"),
        ("https://app.example.com/reports/weekly", None),
    ],
)
def test_page_hint(detector: Detector, url: str, hint: str | None) -> None:
    signals = detector.detect(ticket("Hi there", page_url=url))
    assert signals.page_hint == hint
    if hint:
        assert Evidence(kind="page", text=f"{hint}: {url}") in signals.evidence


def test_page_is_a_weak_prior(detector: Detector) -> None:
    weak = detector.detect(ticket("It does not work.", page_url="https://x.io/settings/billing"))
    assert weak.category is Category.BILLING or weak.category is Category.BUG
    strong = detector.detect(
        ticket("How do I reset my password?", page_url="https://x.io/settings/billing")
    )
    assert strong.category is Category.ACCOUNT_ACCESS
