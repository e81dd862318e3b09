"""The answer path's development data reads cleanly and its labels point at real documents."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from integration.answer import KnowledgeDoc
from integration.models import Ticket

DATA = Path(__file__).parent / "fixtures" / "answers_dev"
PRODUCTS = ("tallybook", "skylark", "geomesh")
FIRST = datetime(2026, 9, 1, tzinfo=UTC)
AFTER_LAST = datetime(2026, 12, 1, tzinfo=UTC)
LABEL_KEYS = ("expected", "kind", "why")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _doc_ids(product: str) -> set[str]:
    docs = [KnowledgeDoc.from_dict(row) for row in _lines(DATA / product / "kb.jsonl")]
    ids = {doc.id for doc in docs}
    assert len(ids) == len(docs), "document ids repeat"
    return ids


@pytest.mark.parametrize("product", PRODUCTS)
def test_documents_parse_with_unique_ids(product: str) -> None:
    assert len(_doc_ids(product)) >= 80


@pytest.mark.parametrize("product", PRODUCTS)
def test_tickets_parse_and_name_existing_documents(product: str) -> None:
    doc_ids = _doc_ids(product)
    rows = _lines(DATA / product / "tickets.jsonl")
    tickets = [Ticket.from_dict({k: v for k, v in row.items() if k not in LABEL_KEYS})
               for row in rows]
    assert len({t.id for t in tickets}) == len(tickets), "ticket ids repeat"
    for row in rows:
        expected = row["expected"]
        assert row["kind"] and row["why"], row["id"]
        assert expected["answerable"] == (expected["answer"] is not None), row["id"]
        assert expected["answer"] is None or expected["answer"] in doc_ids, row["id"]
        assert isinstance(expected["must_go_to_person"], bool), row["id"]


@pytest.mark.parametrize("product", PRODUCTS)
def test_ticket_times_lie_in_the_autumn_and_messages_follow_their_ticket(product: str) -> None:
    for row in _lines(DATA / product / "tickets.jsonl"):
        ticket = Ticket.from_dict({k: v for k, v in row.items() if k not in LABEL_KEYS})
        assert FIRST <= ticket.created_at <= ticket.updated_at < AFTER_LAST, ticket.id
        assert all(ticket.created_at <= m.created_at < AFTER_LAST for m in ticket.messages)


def test_every_class_is_present_in_every_product() -> None:
    for product in PRODUCTS:
        classes = {(r["expected"]["answerable"], r["expected"]["must_go_to_person"])
                   for r in _lines(DATA / product / "tickets.jsonl")}
        assert classes == {(True, False), (False, False), (True, True), (False, True)}, product
