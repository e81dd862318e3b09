"""A small hand-written help centre (Parcelhub, made up) and tickets written against it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from integration.answer import KnowledgeDoc
from integration.answer.answerer import Answerer
from integration.answer.index import KnowledgeIndex
from integration.models import Ticket

KB = Path(__file__).resolve().parent / "data" / "kb.jsonl"


def ticket_data(body: str, *, subject: str = "Question", id: str = "t1", name: str = "Dana Smith",
                health: float | None = 0.9, **extra: Any) -> dict[str, Any]:
    """A normalized ticket line with one customer message."""
    data: dict[str, Any] = {
        "tenant": "eval", "helpdesk": "sandbox", "id": id, "subject": subject,
        "status": "open", "priority": "normal", "channel": "email",
        "created_at": "2026-11-02T09:14:00Z", "updated_at": "2026-11-02T09:14:00Z",
        "requester": {"id": f"u-{id}", "email": f"{id}@acme-freight.example.com", "name": name},
        "account": {"id": f"c-{id}", "name": "Acme Freight", "plan": "pro", "health": health},
        "messages": [{"id": f"{id}-m1", "author": "customer", "public": True, "body": body,
                      "created_at": "2026-11-02T09:14:00Z"}],
        "tags": [],
    }
    data.update(extra)
    return data


@pytest.fixture(scope="session")
def docs() -> list[KnowledgeDoc]:
    return [KnowledgeDoc.from_dict(json.loads(line))
            for line in KB.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def answerer(docs: list[KnowledgeDoc]) -> Answerer:
    return Answerer(KnowledgeIndex.build(docs))


@pytest.fixture
def ticket() -> Callable[..., Ticket]:
    def make(body: str, **kwargs: Any) -> Ticket:
        return Ticket.from_dict(ticket_data(body, **kwargs))
    return make
