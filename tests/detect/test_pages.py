"""Page-aware context comes from the matrix's page patterns."""

from __future__ import annotations

from integration.decide import build_detector
from integration.detect import Detector
from integration.matrix import default_matrix
from integration.models import Category, PageRule, Ticket
from tests.conftest import make_ticket


def _ticket(url: str) -> Ticket:
    return Ticket.from_dict(make_ticket(page_url=url))


def test_configured_pages_give_rule_urgency_and_hint() -> None:
    pages = [PageRule(id="reports", pattern=r"/reports?\b", category=Category.HOW_TO),
             PageRule(id="vault", pattern="vault", category=Category.SECURITY, urgency="high")]
    detector = Detector(triggers=(), pages=pages, model=False)
    signals = detector.detect(_ticket("https://app.example.com/workspace/vault#keys"))
    assert (signals.page_rule, signals.page_urgency, signals.page_hint) == (
        "vault", "high", "security")
    plain = detector.detect(_ticket("https://app.example.com/settings/billing"))
    assert (plain.page_rule, plain.page_hint) == (None, None)


def test_the_default_matrix_drives_the_detector() -> None:
    matrix = default_matrix()
    detector = build_detector(matrix)
    assert detector.repeat_window_days == matrix.repeat_window_days
    signals = detector.detect(_ticket("https://app.example.com/login?next=/home"))
    assert (signals.page_rule, signals.page_urgency, signals.page_hint) == (
        "sign_in", "high", "account_access")
