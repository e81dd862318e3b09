"""Tier overrides (review feedback) and admin users."""

from __future__ import annotations

import pytest

from integration.errors import ValidationError
from integration.models import Category, Priority, Tier
from integration.store import session_scope, upsert_ticket
from integration.store.people import (
    add_override,
    check_admin,
    overrides_for_ticket,
    set_admin,
)
from tests.store.helpers import T0, Store, make_ticket, new_tenant


def _ticket(store: Store, tenant_id: int) -> int:
    with session_scope(store.factory) as s:
        row = upsert_ticket(s, tenant_id=tenant_id, ticket=make_ticket("4711"), tier=Tier.THREE,
                            priority=Priority.URGENT, category=Category.REFUND,
                            sla_due_at=None, input_fingerprint="fp")
        return row.id


def test_an_override_needs_a_reason_and_a_real_tier(store: Store) -> None:
    tenant = new_tenant(store)
    ticket = _ticket(store, tenant)
    with session_scope(store.factory) as s:
        with pytest.raises(ValidationError) as err:
            add_override(s, tenant_id=tenant, ticket_id=ticket, from_tier=3, to_tier=2,
                         reason="  ", agent="ana", now=T0)
        assert err.value.field == "reason"
        with pytest.raises(ValidationError) as err:
            add_override(s, tenant_id=tenant, ticket_id=ticket, from_tier=3, to_tier=4,
                         reason="x", agent="ana", now=T0)
        assert err.value.field == "tier"
        add_override(s, tenant_id=tenant, ticket_id=ticket, from_tier=3, to_tier=2,
                     reason="Refund policy question, not a demand", agent="ana", now=T0)
    with session_scope(store.factory) as s:
        (row,) = overrides_for_ticket(s, ticket)
        assert (row.from_tier, row.to_tier, row.agent) == (3, 2, "ana")
        assert row.reason == "Refund policy question, not a demand"


def test_admin_password_is_hashed_and_checked(store: Store) -> None:
    with session_scope(store.factory) as s:
        with pytest.raises(ValidationError) as err:
            set_admin(s, email="admin@acme.example", password="short", now=T0)
        assert err.value.field == "password"
        row = set_admin(s, email="Admin@Acme.example", password="correct horse battery",
                        now=T0)
        assert row.email == "admin@acme.example"
        assert "correct horse" not in row.password_hash
    with session_scope(store.factory) as s:
        assert check_admin(s, email="admin@acme.example", password="wrong password!",
                           now=T0) is None
        assert check_admin(s, email="nobody@acme.example", password="correct horse battery",
                           now=T0) is None
        ok = check_admin(s, email="ADMIN@acme.example", password="correct horse battery",
                         now=T0)
        assert ok is not None and ok.last_login_at == T0
