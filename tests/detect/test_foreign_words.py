"""A ticket written in German, French, Spanish, Italian or Portuguese is read by its obvious words.

The default matrix lists each Tier-3 trigger's plainest words in those languages too, so an
outage, a cancellation, a refund, a lawyer or a hacked account is not scored as a calm
question just because it is not in English.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integration.decide import build_detector
from integration.matrix import default_matrix, evaluate
from integration.models import Tier

from .conftest import ticket

MATRIX = default_matrix()
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("trigger", "subject", "body"),
    [
        ("outage", "Portal nicht erreichbar", "Seit heute früh ist das Portal für alle "
         "Filialen nicht erreichbar. Bitte dringend prüfen."),
        ("outage", "Plateforme en panne", "Depuis 8h la plateforme est en panne pour toute "
         "notre équipe."),
        ("churn", "Kündigung", "Hiermit möchten wir unseren Vertrag zum Monatsende kündigen."),
        ("churn", "Baja", "Quiero cerrar mi cuenta y darse de baja del servicio, gracias."),
        ("refund", "Rimborso", "Vorrei il rimborso del secondo addebito sulla mia carta."),
        ("legal", "Aviso", "Si no lo solucionan esta semana, mi abogado tomará acciones "
         "legales."),
        ("security", "Conta", "A minha conta foi hackeada ontem e alteraram o e-mail."),
    ],
)
def test_a_tier_3_word_in_another_language_escalates(trigger: str, subject: str,
                                                      body: str) -> None:
    detector = build_detector(MATRIX)
    item = ticket(body, subject=subject)
    signals = detector.detect(item)
    assert trigger in signals.trigger_ids
    assert evaluate(MATRIX, item, signals, now=NOW, with_actions=False).tier is Tier.THREE


def test_an_english_ticket_is_untouched_by_the_other_languages() -> None:
    detector = build_detector(MATRIX)
    item = ticket("How do I export last month's invoices to CSV?", subject="Export")
    assert not detector.detect(item).trigger_ids
