"""The demo workspace and the tricky fixtures: valid wire format, full coverage, sane labels."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from integration.demo import (
    DEMO_HELPDESK,
    DEMO_TENANT,
    demo_expected,
    demo_tickets,
    parse_expected,
    parse_tickets,
)
from integration.errors import ValidationError
from integration.models import Author, Category, Channel, Ticket

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tickets"
ALL_CATEGORIES = {c.value for c in Category}
EXAMPLE_DOMAIN = re.compile(r"(^|\.)example\.(com|org|net)$")


def tricky_tickets() -> list[Ticket]:
    path = FIXTURES / "tricky.jsonl"
    return parse_tickets(path.read_text(encoding="utf-8").splitlines(), source=path.name)


def tricky_expected() -> dict[str, dict[str, Any]]:
    path = FIXTURES / "tricky_expected.jsonl"
    return parse_expected(path.read_text(encoding="utf-8").splitlines(), source=path.name)


# The tickets, their labels by ticket id, and how many tickets the set must at least hold.
Dataset = tuple[list[Ticket], dict[str, dict[str, Any]], int]

DATASETS = {
    "demo": (demo_tickets, demo_expected, 48),
    "tricky": (tricky_tickets, tricky_expected, 30),
}


@pytest.fixture(params=sorted(DATASETS))
def dataset(
    request: pytest.FixtureRequest,
) -> Dataset:
    load_tickets, load_expected, minimum = DATASETS[request.param]
    return load_tickets(), load_expected(), minimum


def test_every_ticket_round_trips_through_the_wire_format(dataset: Dataset) -> None:
    tickets, _, minimum = dataset
    assert len(tickets) >= minimum
    for ticket in tickets:
        assert Ticket.from_dict(ticket.to_dict()) == ticket
        assert Ticket.from_dict(json.loads(json.dumps(ticket.to_dict()))) == ticket


def test_ids_are_unique_and_every_ticket_is_labeled(dataset: Dataset) -> None:
    tickets, expected, _ = dataset
    ids = [t.id for t in tickets]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(expected)


def test_every_category_and_tier_has_at_least_two_examples(dataset: Dataset) -> None:
    _, expected, _ = dataset
    categories = Counter(label["category"] for label in expected.values())
    tiers = Counter(label["tier"] for label in expected.values())
    if len(expected) >= 48:
        assert {c for c, n in categories.items() if n >= 2} == ALL_CATEGORIES
    assert {t for t, n in tiers.items() if n >= 2} == {1, 2, 3}
    assert {label["complaint"] for label in expected.values()} == {True, False}


def test_labels_follow_the_policy_where_it_leaves_no_choice(dataset: Dataset) -> None:
    _, expected, _ = dataset
    for ticket_id, label in expected.items():
        # Refund demands, outages, security incidents and churn are Tier 3 by definition.
        if label["category"] in {"refund", "outage", "security", "cancellation"}:
            assert label["tier"] == 3, ticket_id
        assert label["why"].strip().endswith("."), ticket_id
        assert "\n" not in label["why"], ticket_id


def test_tickets_are_fictional_and_well_formed(dataset: Dataset) -> None:
    tickets, _, _ = dataset
    for ticket in tickets:
        assert ticket.tenant == DEMO_TENANT
        assert ticket.helpdesk == DEMO_HELPDESK
        assert ticket.customer_messages, ticket.id
        assert ticket.requester.domain and EXAMPLE_DOMAIN.search(ticket.requester.domain)
        if ticket.account is not None:
            assert ticket.account.domain and EXAMPLE_DOMAIN.search(ticket.account.domain)
        times = [m.created_at for m in ticket.messages]
        assert times == sorted(times), ticket.id
        assert ticket.created_at == times[0] and ticket.updated_at == times[-1]
        assert datetime(2026, 11, 2, tzinfo=UTC) <= ticket.created_at
        assert ticket.updated_at < datetime(2026, 11, 21, tzinfo=UTC)


def test_demo_covers_channels_plans_pages_and_authors() -> None:
    tickets = demo_tickets()
    assert {Channel.EMAIL, Channel.WEB, Channel.CHAT, Channel.API} <= {t.channel for t in tickets}
    plans = {t.account.plan for t in tickets if t.account}
    assert {"free", "starter", "pro", "enterprise"} <= plans
    pages = {t.page_url for t in tickets if t.page_url}
    for path in ("/settings/billing", "/onboarding/checklist", "/admin/security"):
        assert f"https://app.example.com{path}" in pages
    authors = {m.author for t in tickets for m in t.messages}
    assert {Author.CUSTOMER, Author.AGENT, Author.BOT} <= authors
    assert any(not m.public for t in tickets for m in t.messages)
    assert len({t.created_at.date() for t in tickets}) >= 15
    assert len({t.created_at.hour for t in tickets}) >= 8


def test_demo_exercises_repeat_contact_across_tickets() -> None:
    tickets = demo_tickets()
    expected = demo_expected()
    by_requester: dict[str, list[Ticket]] = {}
    for ticket in tickets:
        by_requester.setdefault(ticket.requester.id, []).append(ticket)
    devon = sorted(by_requester["u-devon"], key=lambda t: t.created_at)
    assert [t.id for t in devon] == ["1022", "1031", "1040"]
    assert [expected[t.id]["tier"] for t in devon] == [2, 2, 3]
    assert {expected[t.id]["category"] for t in devon} == {"bug"}


def test_demo_exercises_a_multi_day_thread_without_a_fix() -> None:
    thread = next(t for t in demo_tickets() if t.id == "1017")
    days = {m.created_at.date() for m in thread.customer_messages}
    assert len(thread.customer_messages) >= 3 and len(days) >= 3
    assert demo_expected()["1017"]["tier"] == 3


def test_hard_cases_are_labeled_as_the_policy_reads() -> None:
    expected = demo_expected()
    text = {t.id: " ".join(m.body for m in t.messages) for t in demo_tickets()}
    assert "I do NOT want to cancel" in text["1010"] and expected["1010"]["category"] == "billing"
    assert "cancel a scheduled report" in text["1013"]
    assert (expected["1013"]["category"], expected["1013"]["tier"]) == ("how_to", 1)
    assert "review other vendors" in text["1011"]
    assert expected["1011"]["category"] == "cancellation"
    assert expected["1012"]["category"] == "how_to" and expected["1012"]["tier"] == 3
    assert expected["1014"]["tier"] == 1 and expected["1015"]["tier"] == 2
    assert "Traceback" in text["1020"]


def test_demo_and_tricky_ids_do_not_collide() -> None:
    assert not {t.id for t in demo_tickets()} & {t.id for t in tricky_tickets()}


def test_a_bad_line_is_reported_with_its_number_and_field() -> None:
    good = json.dumps(demo_tickets()[0].to_dict())
    bad = json.loads(good)
    del bad["messages"][0]["created_at"]
    with pytest.raises(ValidationError) as info:
        parse_tickets([good, "", json.dumps(bad)], source="mine.jsonl")
    assert info.value.line == 3
    assert info.value.field == "messages[0].created_at"
    assert "mine.jsonl" in str(info.value)


def test_a_bad_label_is_refused() -> None:
    line = json.dumps(
        {"id": "9", "expected": {"category": "churn", "tier": 3, "complaint": True}, "why": "x."}
    )
    with pytest.raises(ValidationError) as info:
        parse_expected([line])
    assert info.value.field == "expected.category"
    duplicate = json.dumps(
        {"id": "9", "expected": {"category": "other", "tier": 1, "complaint": False}, "why": "x."}
    )
    with pytest.raises(ValidationError, match="duplicate"):
        parse_expected([duplicate, duplicate])
