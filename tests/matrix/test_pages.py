"""Page-aware context in the matrix: validated patterns, and rules that use the page."""

from __future__ import annotations

from integration.matrix import default_matrix, evaluate, load_matrix_text
from integration.models import Category, Tier
from tests.matrix.factories import NOW, make_ticket, signals
from tests.matrix.test_loader import VALID, issues, line_of

PAGES = VALID.replace(
    "templates:",
    """pages:
  - {id: admin_security, match: "security|audit", category: security, urgency: high}
  - {id: checklist, match: "onboarding", category: onboarding}
detection:
  repeat_window_days: 30
templates:""",
).replace(
    "      - id: billing\n        when: {category: [billing]}",
    "      - id: billing\n        when: {category: [billing]}\n"
    "      - id: urgent_page\n        when: {page_urgency: [high]}",
)


def test_pages_and_detection_settings_compile() -> None:
    matrix = load_matrix_text(PAGES, source="matrix.yaml")
    assert [p.id for p in matrix.pages] == ["admin_security", "checklist"]
    assert matrix.pages[0].category is Category.SECURITY and matrix.pages[0].urgency == "high"
    assert matrix.pages[1].urgency == "normal"
    assert matrix.repeat_window_days == 30


def test_bad_regex_names_its_line() -> None:
    text = PAGES.replace('match: "onboarding"', 'match: "onboard(ing"')
    (issue,) = issues(text)
    assert issue.field == "pages.1.match"
    assert issue.line == line_of(text, "onboard(ing")
    assert "invalid regular expression" in issue.message


def test_unknown_urgency_and_page_are_errors() -> None:
    bad_urgency = PAGES.replace("urgency: high}", "urgency: urgentish}")
    assert any(i.field == "pages.0.urgency" for i in issues(bad_urgency))
    bad_page = PAGES.replace("{page_urgency: [high]}", "{page: [admin_securty]}")
    (issue,) = issues(bad_page)
    assert "unknown page 'admin_securty' (did you mean 'admin_security'?)" in issue.message


def test_rules_can_use_the_page_urgency() -> None:
    matrix = load_matrix_text(PAGES, source="matrix.yaml")
    ticket = make_ticket(page_url="https://app.example.com/admin/security")
    urgent = evaluate(matrix, ticket, signals(Category.HOW_TO, page_rule="admin_security",
                                               page_urgency="high"), now=NOW)
    assert urgent.tier is Tier.TWO
    assert any(r.rule_id == "urgent_page" and "page urgency high" in r.reason
               for r in urgent.rules)
    calm = evaluate(matrix, ticket, signals(Category.HOW_TO), now=NOW)
    assert calm.tier is Tier.ONE


def test_default_matrix_maps_the_product_pages() -> None:
    pages = {p.id: p for p in default_matrix().pages}
    assert pages["billing_settings"].category is Category.BILLING
    assert pages["sign_in"].category is Category.ACCOUNT_ACCESS
    assert pages["onboarding_checklist"].category is Category.ONBOARDING
    assert pages["admin_security"].urgency == "high"
