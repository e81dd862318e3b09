"""Hand-built tickets and signals for the matrix tests (no detection involved)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from integration.models import (
    Account,
    Author,
    Category,
    Channel,
    Message,
    Person,
    Priority,
    Signals,
    Status,
    Ticket,
    TriggerHit,
)

# Monday 2 November 2026, 09:14 UTC (10:14 in Berlin).
CREATED = datetime(2026, 11, 2, 9, 14, tzinfo=UTC)
NOW = CREATED + timedelta(minutes=5)


def make_ticket(
    *,
    account: Account | None = None,
    messages: tuple[Message, ...] = (),
    priority: Priority = Priority.NORMAL,
    tags: tuple[str, ...] = (),
    created_at: datetime = CREATED,
    **overrides: Any,
) -> Ticket:
    """A ticket with sensible defaults; keyword overrides win."""
    fields: dict[str, Any] = {
        "tenant": "acme",
        "helpdesk": "zendesk",
        "id": "4711",
        "subject": "Help needed",
        "status": Status.OPEN,
        "priority": priority,
        "channel": Channel.EMAIL,
        "created_at": created_at,
        "updated_at": created_at,
        "requester": Person(id="u1", email="dana@bigco.com", name="Dana"),
        "account": account,
        "messages": messages,
        "tags": tags,
    }
    fields.update(overrides)
    return Ticket(**fields)


def account(
    *,
    plan: str = "pro",
    arr: float | None = 20_000,
    health: float | None = 0.8,
    renewal_date: date | None = None,
) -> Account:
    """An account; defaults are a healthy mid-size customer."""
    return Account(id="c9", name="BigCo", plan=plan, arr=arr, health=health, owner="am@ourco.com",
                   renewal_date=renewal_date)


def hit(trigger: str, match: str, sentence: str | None = None) -> TriggerHit:
    """A trigger hit as detection reports it."""
    return TriggerHit(trigger=trigger, match=match, sentence=sentence or f"Text with {match}.")


def signals(
    category: Category = Category.HOW_TO, *triggers: TriggerHit, **overrides: Any
) -> Signals:
    """Signals for ``category`` with the given trigger hits."""
    return Signals(category=category, triggers=triggers, **overrides)


def customer_message(index: int, at: datetime, body: str = "Any update?") -> Message:
    """A customer message at ``at``."""
    return Message(id=f"m{index}", author=Author.CUSTOMER, body=body, created_at=at)
