"""Macros keep the team's words with their placeholders filled from the ticket, or are not sent."""

from __future__ import annotations

from typing import Any

import pytest

from integration.answer.reply import SENDER, MacroError, placeholder_values, render_macro
from integration.models import Ticket
from tests.answer.conftest import ticket_data


def _values(**kwargs: Any) -> dict[str, str]:
    return placeholder_values(Ticket.from_dict(ticket_data("Hi", **kwargs)))


@pytest.mark.parametrize(("placeholder", "value"), [
    ("{{ticket.requester.first_name}}", "Dana"),
    ("{{ticket.requester.name}}", "Dana Smith"),
    ("{{requester.name}}", "Dana Smith"),
    ("{{ name }}", "Dana Smith"),
    ("{{ticket.id}}", "4711"),
    ("{{ticket.organization.name}}", "Acme Freight"),
    ("{{current_user.first_name}}", SENDER),
])
def test_placeholders_are_filled_from_the_ticket(placeholder: str, value: str) -> None:
    assert render_macro(f"Hi {placeholder}!", _values(id="4711")) == f"Hi {value}!"


def test_a_custom_field_of_the_ticket_fills_its_placeholder() -> None:
    values = _values(custom={"trial_end": "2026-12-01"})
    assert render_macro("Your trial ends {{ticket.custom.trial_end}}.", values) == \
        "Your trial ends 2026-12-01."


def test_a_fallback_is_used_when_the_value_is_unknown() -> None:
    assert render_macro('Hi {{first_name | fallback: "there"}}', {}) == "Hi there"


@pytest.mark.parametrize("body", [
    "Hi {{ticket.requester.first_name}}, {{dc.footer}}",
    "Hi {{ticket.custom.trial_end}}",
    "{% if ticket.status %}Open{% endif %}",
    "Hi {{ticket.requester.first_name}",
])
def test_an_unknown_placeholder_or_template_markup_is_refused(body: str) -> None:
    with pytest.raises(MacroError):
        render_macro(body, _values())


def test_text_around_placeholders_is_kept_as_written() -> None:
    body = "Hi {{ticket.requester.first_name}},\n\n  Go to Settings > Team.\n\nCheers"
    assert render_macro(body, _values()) == "Hi Dana,\n\n  Go to Settings > Team.\n\nCheers"
