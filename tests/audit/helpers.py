"""Small past tickets with known outcomes, and matrices that differ in one rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from integration.matrix import Matrix, load_matrix_text
from integration.models import (
    Account,
    Author,
    Channel,
    Message,
    Person,
    Priority,
    Status,
    Ticket,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"
DEFAULT_YAML = (
    Path(__file__).resolve().parents[2] / "integration" / "matrix" / "default.yaml"
).read_text(encoding="utf-8")
MONDAY = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def past_ticket(
    number: int,
    subject: str,
    body: str = "",
    *,
    at: datetime = MONDAY,
    escalated: bool = False,
    account: Account | None = None,
    channel: Channel = Channel.EMAIL,
    group: str | None = "support",
    csat: float | None = None,
    **outcomes: Any,
) -> Ticket:
    """A closed past ticket from its own requester, with ``outcomes`` in ``custom``."""
    messages = (
        (Message(id=f"{number}-1", author=Author.CUSTOMER, body=body, created_at=at),)
        if body else ()
    )
    return Ticket(
        tenant="acme", helpdesk="zendesk", id=str(number), subject=subject,
        status=Status.SOLVED, priority=Priority.NORMAL, channel=channel, created_at=at,
        updated_at=at + timedelta(hours=1),
        requester=Person(id=f"u{number}", email=f"u{number}@example.com"),
        messages=messages, account=account, group=group, csat=csat,
        custom={"escalated": escalated, **outcomes},
    )


def matrix_with_rule(rule_yaml: str, *, tier: int = 3) -> Matrix:
    """The default matrix with one more rule first in ``tier`` (indented as a list item)."""
    anchor = f"  {tier}:\n    rules:\n"
    assert anchor in DEFAULT_YAML
    text = DEFAULT_YAML.replace(anchor, anchor + rule_yaml, 1)
    return load_matrix_text(text, source="new.yaml")


def matrix_with_trigger(name: str, phrases: list[str]) -> Matrix:
    """The default matrix with one more trigger (so detection differs)."""
    anchor = "triggers:\n"
    extra = f"  {name}:\n    phrases: [{', '.join(phrases)}]\n"
    return load_matrix_text(DEFAULT_YAML.replace(anchor, anchor + extra, 1), source="new.yaml")
