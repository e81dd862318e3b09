"""Tickets and decisions: latest state, repeat-contact history, the SLA sweep, the why."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from integration.errors import ValidationError
from integration.models import Category, Priority, Signals, Status, Tier, TriggerHit
from integration.store import (
    TicketRow,
    account_key,
    add_decision,
    decisions_for_ticket,
    get_ticket,
    requester_key,
    session_scope,
    ticket_history,
    tickets_due,
    upsert_ticket,
)
from tests.store.helpers import T0, Store, make_decision, make_ticket, new_tenant


def _upsert(store: Store, tenant_id: int, ticket_id: str = "4711", **kw: Any) -> int:
    ticket = make_ticket(ticket_id, **kw)
    with session_scope(store.factory) as s:
        row = upsert_ticket(
            s, tenant_id=tenant_id, ticket=ticket, tier=Tier.TWO, priority=Priority.HIGH,
            category=Category.BILLING, sla_due_at=ticket.created_at + timedelta(hours=4),
            input_fingerprint=f"fp-{ticket_id}",
        )
        return row.id


def test_upsert_inserts_then_updates_the_same_row(store: Store) -> None:
    tenant = new_tenant(store)
    first = _upsert(store, tenant)
    with session_scope(store.factory) as s:
        row = upsert_ticket(
            s, tenant_id=tenant, ticket=make_ticket(status=Status.SOLVED, body="fixed, thanks"),
            tier=3, priority="urgent", category="refund", sla_due_at=None, input_fingerprint="2",
        )
        assert row.id == first
    with store.reopened() as again, session_scope(again.factory) as s:
        reread = get_ticket(s, tenant, "zendesk", "4711")
        assert reread is not None
        assert (reread.status, reread.tier, reread.priority, reread.category,
                reread.sla_due_at) == (
            "solved", 3, "urgent", "refund", None,
        )
        assert row.data["messages"][0]["body"] == "fixed, thanks"
        assert (row.created_at, row.updated_at) == (T0, T0 + timedelta(minutes=5))
        assert s.scalar(select(func.count()).select_from(TicketRow)) == 1


def test_get_ticket_is_scoped_to_the_tenant(store: Store) -> None:
    acme, other = new_tenant(store, "acme"), new_tenant(store, "other")
    _upsert(store, acme)
    with session_scope(store.factory) as s:
        assert get_ticket(s, other, "zendesk", "4711") is None
        assert get_ticket(s, acme, "freshdesk", "4711") is None


def test_keys_compare_people_and_accounts() -> None:
    assert requester_key(make_ticket(email="Ops@BigCo.com ")) == "email:ops@bigco.com"
    assert requester_key(make_ticket(email=None)) == "id:zendesk:u-None"
    assert account_key(make_ticket(account_id="c9")) == "account:c9"
    assert account_key(make_ticket(account_id=None)) is None


def test_history_finds_the_requesters_and_accounts_other_tickets(store: Store) -> None:
    acme, other = new_tenant(store, "acme"), new_tenant(store, "other")
    day = timedelta(days=1)
    _upsert(store, acme, "1", email="dana@bigco.com", account_id=None, created_at=T0)
    _upsert(store, acme, "2", email="lee@bigco.com", account_id="c9", created_at=T0 + day)
    _upsert(store, acme, "3", email="x@else.com", account_id="c1", created_at=T0 + 2 * day)
    _upsert(store, other, "4", email="dana@bigco.com", account_id="c9", created_at=T0)
    current = make_ticket("5", email="dana@bigco.com", account_id="c9")
    with session_scope(store.factory) as s:
        first_contact = ticket_history(
            s, tenant_id=acme, requester_key=requester_key(current),
            account_key=account_key(current), exclude_id="5",
        )
    row_id = _upsert(store, acme, "5", email="dana@bigco.com", account_id="c9",
                     created_at=T0 + 3 * day)
    with session_scope(store.factory) as s:
        by_external_id, by_row_id = (
            ticket_history(
                s, tenant_id=acme, requester_key=requester_key(current),
                account_key=account_key(current), exclude_id=exclude,
            )
            for exclude in ("5", row_id)
        )
        assert [t.id for t in first_contact] == ["2", "1"]
        assert [t.id for t in by_external_id] == [t.id for t in by_row_id] == ["2", "1"]
        assert by_row_id[0].requester.email == "lee@bigco.com"
        recent = ticket_history(
            s, tenant_id=acme, requester_key=requester_key(current), account_key=None,
            exclude_id="5", since=T0 + day,
        )
        assert recent == []
        assert ticket_history(
            s, tenant_id=acme, requester_key=None, account_key=None, exclude_id=None
        ) == []


def test_sla_sweep_sees_open_tickets_due_soonest_first(store: Store) -> None:
    tenant = new_tenant(store)
    _upsert(store, tenant, "late", created_at=T0)
    _upsert(store, tenant, "later", created_at=T0 + timedelta(hours=1))
    _upsert(store, tenant, "future", created_at=T0 + timedelta(days=1))
    _upsert(store, tenant, "done", created_at=T0, status=Status.SOLVED)
    with session_scope(store.factory) as s:
        due = tickets_due(s, before=T0 + timedelta(hours=6))
        assert [t.external_id for t in due] == ["late", "later"]


def test_a_decision_records_its_rules_version_and_signals(store: Store) -> None:
    tenant = new_tenant(store)
    ticket_id = _upsert(store, tenant)
    signals = Signals(
        category=Category.REFUND, sentiment=-0.6,
        triggers=(TriggerHit(trigger="refund", match="refund", sentence="I want a refund"),),
    )
    with session_scope(store.factory) as s:
        add_decision(
            s, tenant_id=tenant, ticket_id=ticket_id, decision=make_decision(tier=Tier.TWO),
            decided_at=T0, previous_tier=None, signals=signals,
        )
        add_decision(
            s, tenant_id=tenant, ticket_id=ticket_id, decision=make_decision(tier=Tier.THREE),
            decided_at=T0 + timedelta(hours=4), previous_tier=Tier.TWO, cause="sla_sweep",
        )
    with store.reopened() as again, session_scope(again.factory) as s:
        latest, first = decisions_for_ticket(s, ticket_id)
        assert (latest.tier, latest.previous_tier, latest.cause) == (3, 2, "sla_sweep")
        assert first.matrix_version == "sha256:abc123"
        assert first.rules == [
            {"rule_id": "tier2.category", "reason": "billing issues need an agent"},
            {"rule_id": "bump.at_risk", "reason": "enterprise account at risk"},
        ]
        assert first.route == {"group": "billing", "assignee": None, "reason": "category billing"}
        assert first.signals["category"] == "refund"
        assert first.signals["triggers"][0]["sentence"] == "I want a refund"
        assert first.sla_due_at == T0 + timedelta(hours=4)


def test_a_decision_without_matrix_version_is_refused(store: Store) -> None:
    from dataclasses import replace

    tenant = new_tenant(store)
    ticket_id = _upsert(store, tenant)
    with pytest.raises(ValidationError, match="matrix_version"), session_scope(store.factory) as s:
        add_decision(
            s, tenant_id=tenant, ticket_id=ticket_id,
            decision=replace(make_decision(), matrix_version=""), decided_at=T0,
        )
