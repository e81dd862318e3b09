"""Inbound events: stored once per delivery, claimed by exactly one worker."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from integration.errors import ValidationError
from integration.store import (
    EventStatus,
    InboundEventRow,
    claim_pending_events,
    count_events,
    finish_event,
    get_event,
    list_events,
    retry_event,
    session_scope,
    store_inbound_event,
)
from tests.store.helpers import T0, Store, new_tenant


def _store(store: Store, tenant_id: int, delivery_id: str, **kw: str) -> tuple[int, bool]:
    with session_scope(store.factory) as s:
        row, inserted = store_inbound_event(
            s, tenant_id=tenant_id, source=kw.get("source", "zendesk"), delivery_id=delivery_id,
            event_type="ticket.updated", ticket_external_id="4711",
            body=kw.get("body", '{"ticket": 4711}'), now=T0,
        )
        return row.id, inserted


def test_an_event_is_stored_pending(store: Store) -> None:
    tenant = new_tenant(store)
    event_id, inserted = _store(store, tenant, "d-1")
    assert inserted
    with session_scope(store.factory) as s:
        row = get_event(s, event_id)
        assert row is not None
        assert (row.status, row.attempts, row.body) == ("pending", 0, '{"ticket": 4711}')
        assert row.received_at == T0


def test_a_duplicate_delivery_writes_nothing(store: Store) -> None:
    tenant = new_tenant(store)
    first, _ = _store(store, tenant, "d-1")
    again, inserted = _store(store, tenant, "d-1", body="a different body")
    assert (again, inserted) == (first, False)
    with session_scope(store.factory) as s:
        assert s.scalar(select(func.count()).select_from(InboundEventRow)) == 1
        row = get_event(s, first)
        assert row is not None and row.body == '{"ticket": 4711}'


def test_a_duplicate_does_not_spoil_the_callers_transaction(store: Store) -> None:
    tenant = new_tenant(store)
    _store(store, tenant, "d-1")
    with session_scope(store.factory) as s:
        store_inbound_event(
            s, tenant_id=tenant, source="zendesk", delivery_id="d-2", event_type="x",
            ticket_external_id=None, body="{}", now=T0,
        )
        _, inserted = store_inbound_event(
            s, tenant_id=tenant, source="zendesk", delivery_id="d-1", event_type="x",
            ticket_external_id=None, body="{}", now=T0,
        )
        assert not inserted
    with session_scope(store.factory) as s:
        assert s.scalar(select(func.count()).select_from(InboundEventRow)) == 2


def test_same_delivery_id_from_another_source_or_tenant_is_a_new_event(store: Store) -> None:
    acme, other = new_tenant(store, "acme"), new_tenant(store, "other")
    assert _store(store, acme, "d-1")[1]
    assert _store(store, acme, "d-1", source="slack")[1]
    assert _store(store, other, "d-1")[1]


def test_empty_delivery_id_is_refused(store: Store) -> None:
    tenant = new_tenant(store)
    with pytest.raises(ValidationError, match="delivery_id"):
        _store(store, tenant, "")


def test_claim_takes_due_events_once(store: Store) -> None:
    tenant = new_tenant(store)
    ids = [_store(store, tenant, f"d-{i}")[0] for i in range(3)]
    lease = timedelta(minutes=5)
    assert claim_pending_events(store.factory, now=T0, limit=2, lease=lease) == ids[:2]
    assert claim_pending_events(store.factory, now=T0, limit=5, lease=lease) == ids[2:]
    assert claim_pending_events(store.factory, now=T0, limit=5, lease=lease) == []
    with session_scope(store.factory) as s:
        assert count_events(s)["processing"] == 3


def test_an_expired_lease_is_claimed_again(store: Store) -> None:
    tenant = new_tenant(store)
    event_id, _ = _store(store, tenant, "d-1")
    lease = timedelta(minutes=5)
    assert claim_pending_events(store.factory, now=T0, lease=lease) == [event_id]
    assert claim_pending_events(store.factory, now=T0 + timedelta(minutes=4), lease=lease) == []
    later = T0 + timedelta(minutes=6)
    assert claim_pending_events(store.factory, now=later, lease=lease) == [event_id]
    with session_scope(store.factory) as s:
        row = get_event(s, event_id)
        assert row is not None and row.attempts == 2


def test_finished_events_are_not_claimed(store: Store) -> None:
    tenant = new_tenant(store)
    done, _ = _store(store, tenant, "d-1")
    ignored, _ = _store(store, tenant, "d-2")
    claim_pending_events(store.factory, now=T0)
    with session_scope(store.factory) as s:
        finish_event(s, done, status=EventStatus.DONE, now=T0)
        finish_event(s, ignored, status=EventStatus.IGNORED, now=T0, error="our own write")
    assert claim_pending_events(store.factory, now=T0 + timedelta(days=1)) == []
    with session_scope(store.factory) as s:
        row = get_event(s, ignored)
        assert row is not None
        assert (row.status, row.error, row.processed_at) == ("ignored", "our own write", T0)
        with pytest.raises(ValidationError):
            finish_event(s, done, status=EventStatus.PENDING, now=T0)


def test_retry_waits_then_gives_up(store: Store) -> None:
    tenant = new_tenant(store)
    event_id, _ = _store(store, tenant, "d-1")
    now = T0
    for attempt in (1, 2):
        assert claim_pending_events(store.factory, now=now) == [event_id]
        with session_scope(store.factory) as s:
            status = retry_event(
                s, event_id, error="helpdesk 503", now=now, delay=timedelta(minutes=1),
                max_attempts=2,
            )
        assert status is (EventStatus.PENDING if attempt == 1 else EventStatus.FAILED)
        assert claim_pending_events(store.factory, now=now + timedelta(seconds=59)) == []
        now += timedelta(minutes=1)
    with session_scope(store.factory) as s:
        row = get_event(s, event_id)
        assert row is not None
        assert row.error == "gave up after 2 attempts: helpdesk 503"
        assert [e.id for e in list_events(s, tenant_id=tenant, statuses=[EventStatus.FAILED])] == [
            event_id
        ]


def test_two_workers_never_claim_the_same_event(store: Store) -> None:
    tenant = new_tenant(store)
    with session_scope(store.factory) as s:
        for i in range(60):
            store_inbound_event(
                s, tenant_id=tenant, source="zendesk", delivery_id=f"d-{i}", event_type="x",
                ticket_external_id=None, body="{}", now=T0,
            )
    claimed: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def work(slot: int) -> None:
        with store.reopened() as mine:
            start.wait()
            while batch := claim_pending_events(mine.factory, now=T0, limit=3):
                claimed[slot].extend(batch)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = claimed[0] + claimed[1]
    assert sorted(every) == sorted(set(every))
    assert len(every) == 60
