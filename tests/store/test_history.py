"""The stored history the audit and the replay read: the window, the tenant, batches, bad rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from integration.store import TicketRow, session_scope
from integration.store.backfill import import_ticket
from integration.store.history import count_history, history_floor, stored_history
from tests.store.helpers import T0, Store, make_ticket, new_tenant


def _import(store: Store, tenant_id: int, ticket_id: str, days_ago: int) -> None:
    ticket = make_ticket(ticket_id, created_at=T0 - timedelta(days=days_ago))
    with session_scope(store.factory) as s:
        assert import_ticket(s, tenant_id=tenant_id, ticket=ticket)


def test_reads_the_window_of_one_tenant_in_batches(store: Store) -> None:
    acme, other = new_tenant(store), new_tenant(store, slug="other")
    for n in range(7):
        _import(store, acme, f"a{n}", days_ago=n * 10)
    _import(store, other, "b0", days_ago=1)
    since = T0 - timedelta(days=35)

    got = [t.id for t in stored_history(store.factory, tenant_id=acme, since=since, batch=2)]

    assert got == ["a0", "a1", "a2", "a3"]
    with session_scope(store.factory) as s:
        assert count_history(s, tenant_id=acme, since=since) == 4
        assert count_history(s, tenant_id=other, since=since) == 1


def test_a_row_that_no_longer_reads_is_reported_not_dropped_silently(store: Store) -> None:
    acme = new_tenant(store)
    for n in range(3):
        _import(store, acme, f"a{n}", days_ago=n)
    with session_scope(store.factory) as s:
        s.execute(update(TicketRow).where(TicketRow.external_id == "a1")
                  .values(data={"id": "a1"}))
    skipped: list[tuple[str, str]] = []

    got = [t.id for t in stored_history(store.factory, tenant_id=acme, since=T0 - timedelta(days=9),
                                        on_skip=lambda i, why: skipped.append((i, why)))]

    assert got == ["a0", "a2"]
    assert [i for i, _ in skipped] == ["a1"]
    assert "does not read" in skipped[0][1]


def test_the_newest_tickets_of_every_tenant_can_be_read(store: Store) -> None:
    acme, other = new_tenant(store), new_tenant(store, slug="other")
    for n in range(4):
        _import(store, acme, f"a{n}", days_ago=n)
    _import(store, other, "b0", days_ago=1)
    since = T0 - timedelta(days=30)
    with session_scope(store.factory) as s:
        floor = history_floor(s, since=since, newest=3)
        assert history_floor(s, since=since, newest=50) == 0

    newest = [t.id for t in stored_history(store.factory, tenant_id=None, since=since,
                                           after_id=floor)]

    assert newest == ["a2", "a3", "b0"]
