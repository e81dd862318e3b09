"""Tenants: installs with encrypted credentials, isolated from each other."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from integration.crypto import SecretCipher, generate_key
from integration.errors import ConfigurationError, ValidationError
from integration.models import Action, ActionKind
from integration.outbox import enqueue
from integration.store import (
    DecisionRow,
    InboundEventRow,
    OutboxRow,
    TicketRow,
    add_decision,
    add_tenant,
    get_tenant,
    list_tenants,
    remove_tenant,
    session_scope,
    store_inbound_event,
    tenant_secrets,
    update_tenant,
    upsert_ticket,
)
from tests.store.helpers import T0, Store, make_decision, make_ticket, new_tenant


def test_add_and_read_back_a_tenant(store: Store) -> None:
    new_tenant(store, "acme")
    with session_scope(store.factory) as s:
        row = get_tenant(s, "acme")
        assert row is not None
        assert (row.name, row.helpdesk, row.base_url) == (
            "Acme", "zendesk", "https://acme.zendesk.com",
        )
        assert row.settings == {"tier_field_id": 360001}
        assert tenant_secrets(row, store.cipher) == {
            "api_token": "tok-acme-s3cr3t-value", "webhook_secret": "whsec",
        }
        assert get_tenant(s, "nope") is None


def test_the_database_never_holds_plaintext_secrets(store: Store) -> None:
    new_tenant(store, "acme")
    with store.engine.connect() as connection:
        stored = repr(connection.exec_driver_sql("SELECT * FROM tenants").all())
    assert "acme" in stored
    for plaintext in ("tok-acme-s3cr3t-value", "api_token", "webhook_secret", "whsec"):
        assert plaintext not in stored


def test_secrets_need_the_right_key(store: Store) -> None:
    new_tenant(store, "acme")
    with session_scope(store.factory) as s:
        row = get_tenant(s, "acme")
        assert row is not None
        with pytest.raises(ConfigurationError, match="tenant 'acme'"):
            tenant_secrets(row, SecretCipher([generate_key()]))


def test_update_merges_secrets_and_settings(store: Store) -> None:
    new_tenant(store, "acme")
    with session_scope(store.factory) as s:
        row = get_tenant(s, "acme")
        assert row is not None
        update_tenant(
            s, row, cipher=store.cipher, secrets={"api_token": "rotated-token-value"},
            settings={"connectors": ["slack"]},
        )
    with store.reopened() as again, session_scope(again.factory) as s:
        row = get_tenant(s, "acme")
        assert row is not None
        assert tenant_secrets(row, store.cipher) == {
            "api_token": "rotated-token-value", "webhook_secret": "whsec",
        }
        assert row.settings == {"tier_field_id": 360001, "connectors": ["slack"]}


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("slug", {"slug": "Acme Corp"}),
        ("slug", {"slug": "-acme"}),
        ("helpdesk", {"helpdesk": "servicenow"}),
        ("name", {"name": "  "}),
    ],
)
def test_bad_tenants_are_refused_naming_the_field(
    store: Store, field: str, kwargs: dict[str, str]
) -> None:
    args = {"slug": "acme", "name": "Acme", "helpdesk": "zendesk", **kwargs}
    with pytest.raises(ValidationError) as info, session_scope(store.factory) as s:
        add_tenant(
            s, base_url=None, secrets={}, settings={}, cipher=store.cipher, now=T0, **args
        )
    assert info.value.field == field


def test_duplicate_slug_is_refused(store: Store) -> None:
    new_tenant(store, "acme")
    with pytest.raises(ValidationError, match="already exists"):
        new_tenant(store, "acme")


def test_list_tenants_by_slug(store: Store) -> None:
    for slug in ("zeta", "acme", "mid"):
        new_tenant(store, slug)
    with session_scope(store.factory) as s:
        assert [t.slug for t in list_tenants(s)] == ["acme", "mid", "zeta"]


def _fill(store: Store, tenant_id: int, slug: str) -> None:
    with session_scope(store.factory) as s:
        event, _ = store_inbound_event(
            s, tenant_id=tenant_id, source="zendesk", delivery_id="d1",
            event_type="ticket.created", ticket_external_id="1", body="{}", now=T0,
        )
        ticket = upsert_ticket(
            s, tenant_id=tenant_id, ticket=make_ticket("1", tenant=slug), tier=2,
            priority="high", category="billing", sla_due_at=T0 + timedelta(hours=4),
            input_fingerprint="f",
        )
        decision = add_decision(
            s, tenant_id=tenant_id, ticket_id=ticket.id, decision=make_decision("1"),
            decided_at=T0, event_id=event.id,
        )
        enqueue(
            s, tenant_id=tenant_id, target="helpdesk", ticket_external_id="1",
            actions=[Action(kind=ActionKind.ADD_TAGS, target="helpdesk", payload={"tags": ["x"]})],
            idempotency_key=f"{slug}:1", decision_id=decision.id, ticket_id=ticket.id, now=T0,
        )


def test_remove_tenant_deletes_its_data_and_only_its_data(store: Store) -> None:
    acme, other = new_tenant(store, "acme"), new_tenant(store, "other")
    _fill(store, acme, "acme")
    _fill(store, other, "other")
    with session_scope(store.factory) as s:
        assert remove_tenant(s, "acme") is True
        assert remove_tenant(s, "acme") is False
    with session_scope(store.factory) as s:
        for model in (InboundEventRow, TicketRow, DecisionRow, OutboxRow):
            owners = s.execute(select(model.tenant_id, func.count()).group_by(model.tenant_id))
            assert dict(owners.all()) == {other: 1}, model.__tablename__
        assert [t.slug for t in list_tenants(s)] == ["other"]
