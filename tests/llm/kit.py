"""What the language-model tests share: a ticket, and a reader pointed at the fake server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.registry import build_llm_client
from integration.llm import LlmReader, LlmSettings, Meter
from integration.models import Author, Channel, Message, Person, Priority, Status, Ticket
from tests.llm.openai_server import KEY, FakeOpenAI

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MODEL = "test-model"


def ticket(*bodies: str, subject: str = "Charged twice", ticket_id: str = "1") -> Ticket:
    """A ticket whose customer wrote ``bodies``, one message each."""
    return Ticket(
        tenant="acme", helpdesk="zendesk", id=ticket_id, subject=subject,
        status=Status.OPEN, priority=Priority.NORMAL, channel=Channel.EMAIL,
        created_at=T0, updated_at=T0, requester=Person(id="9", email="jo@customer.io"),
        messages=tuple(
            Message(id=str(i), author=Author.CUSTOMER, body=body, public=True,
                    created_at=T0 + timedelta(minutes=i))
            for i, body in enumerate(bodies)
        ),
    )


def reader(fake: FakeOpenAI, *, meter: Meter | None = None, **settings: Any) -> LlmReader:
    """The tenant's reader as the runtime builds it, talking to ``fake``."""
    checked = LlmSettings.parse({"base_url": fake.url, "model": MODEL, **settings})
    client = build_llm_client(checked.provider, base_url=checked.base_url, api_key=KEY,
                              timeout=checked.timeout_seconds)
    return LlmReader(settings=checked, client=client, meter=meter or Meter(), tenant="acme")
