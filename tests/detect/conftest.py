"""Shared builders for detection tests: a Detector with test-owned triggers, ticket factory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from integration.detect import Detector
from integration.matrix import default_matrix
from integration.models import (
    Account,
    Author,
    Channel,
    Message,
    Person,
    Priority,
    Status,
    Ticket,
    TriggerSpec,
)

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

TRIGGERS = (
    TriggerSpec(
        id="churn",
        lemmas=("cancel", "terminate", "churn"),
        phrases=("evaluating other vendors", "switch to a competitor", "not renew"),
    ),
    TriggerSpec(id="refund", lemmas=("refund", "chargeback"), phrases=("money back",)),
    TriggerSpec(
        id="legal",
        lemmas=("lawyer", "attorney", "sue", "lawsuit", "gdpr", "subpoena"),
        phrases=("legal action", "breach of contract", "law enforcement"),
    ),
    TriggerSpec(
        id="outage",
        lemmas=("outage", "503"),
        phrases=("is down", "not loading", "service unavailable"),
    ),
    TriggerSpec(
        id="security",
        lemmas=("breach", "hacked", "vulnerability", "phishing"),
        phrases=("unauthorized access",),
    ),
)


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector(triggers=TRIGGERS)


@pytest.fixture(scope="session")
def full() -> Detector:
    """The default matrix's triggers, read by the learned reader."""
    matrix = default_matrix()
    return Detector(triggers=matrix.triggers, pages=matrix.pages)


@pytest.fixture(scope="session")
def rules_only() -> Detector:
    """The default matrix's triggers and the rules alone, without the reader."""
    matrix = default_matrix()
    return Detector(triggers=matrix.triggers, pages=matrix.pages, hit_reader=False)


def message(
    body: str, *, id: str = "m1", author: Author = Author.CUSTOMER, at: datetime = NOW
) -> Message:
    return Message(id=id, author=author, body=body, created_at=at)


def ticket(
    *bodies: str,
    subject: str = "Question",
    id: str = "100",
    requester: str = "u1",
    email: str | None = None,
    account: str | None = None,
    status: Status = Status.OPEN,
    created_at: datetime = NOW,
    page_url: str | None = None,
    messages: Sequence[Message] | None = None,
) -> Ticket:
    msgs = (
        tuple(messages)
        if messages is not None
        else tuple(
            message(b, id=f"m{i}", at=created_at + timedelta(minutes=i))
            for i, b in enumerate(bodies, start=1)
        )
    )
    return Ticket(
        tenant="acme",
        helpdesk="zendesk",
        id=id,
        subject=subject,
        status=status,
        priority=Priority.NORMAL,
        channel=Channel.EMAIL,
        created_at=created_at,
        updated_at=created_at,
        requester=Person(id=requester, email=email),
        account=Account(id=account) if account else None,
        messages=msgs,
        page_url=page_url,
    )
