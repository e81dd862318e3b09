"""Repeat-contact history reads each key's index newest first, whatever the tenant holds.

The plan, not a time: SQLite's EXPLAIN QUERY PLAN for every statement ``ticket_history``
runs must search a ``(tenant_id, key, created_at, id)`` index and need no sort. A plan that
scans the tenant's tickets (what an OR of the two keys gets) fails here long before anyone
notices events slowing down. ``bench/history.py`` measures it at 1,000,000 tickets.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event

from integration.store import (
    account_key,
    requester_key,
    session_scope,
    ticket_history,
    upsert_ticket,
)
from tests.store.helpers import T0, Store, make_ticket, new_tenant

INDEXES = ("ix_tickets_tenant_id_requester_key_created_at_id",
           "ix_tickets_tenant_id_account_key_created_at_id")


def _fill(store: Store, tenant_id: int) -> None:
    # What makes the OR slow in production: many tickets per requester and per account.
    with session_scope(store.factory) as s:
        for n in range(300):
            ticket = make_ticket(str(n), email=f"user{n % 10}@corp{n % 3}.example",
                                 account_id=f"c{n % 3}", created_at=T0 + timedelta(hours=n))
            upsert_ticket(s, tenant_id=tenant_id, ticket=ticket, tier=1, priority="normal",
                          category="question", sla_due_at=None, input_fingerprint=None)
        s.connection().exec_driver_sql("ANALYZE")


def _plans(store: Store, **query: Any) -> tuple[list[Any], list[list[str]]]:
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        with session_scope(store.factory) as s:
            found = ticket_history(s, **query)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    plans = []
    with store.engine.connect() as connection:
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append([str(row[-1]) for row in rows])
    return found, plans


def test_each_key_is_read_through_its_index_newest_first(sqlite_store: Store) -> None:
    tenant = new_tenant(sqlite_store)
    _fill(sqlite_store, tenant)
    current = make_ticket("new", email="user3@corp0.example", account_id="c1")
    found, plans = _plans(sqlite_store, tenant_id=tenant, requester_key=requester_key(current),
                          account_key=account_key(current), exclude_id="new", limit=10)

    (plan,) = plans  # one round trip
    for index in INDEXES:
        assert any(f"SEARCH tickets USING INDEX {index}" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan  # no sort
    assert not any(step.startswith("SCAN tickets") for step in plan), plan
    # Newest first, each ticket once, whether it matched by requester, account or both.
    assert len(found) == 10
    assert [t.created_at for t in found] == sorted((t.created_at for t in found), reverse=True)
    assert len({t.id for t in found}) == 10


def test_a_since_bound_and_an_excluded_row_keep_the_plan(sqlite_store: Store) -> None:
    tenant = new_tenant(sqlite_store)
    _fill(sqlite_store, tenant)
    current = make_ticket("7", email="user7@corp0.example", account_id="c7")
    found, plans = _plans(sqlite_store, tenant_id=tenant, requester_key=requester_key(current),
                          account_key=None, exclude_id=7, since=T0 + timedelta(days=3))
    assert len(plans) == 1
    assert any(f"USING INDEX {INDEXES[0]}" in step for step in plans[0]), plans
    assert not any("TEMP B-TREE" in step for step in plans[0]), plans
    assert all(t.created_at >= T0 + timedelta(days=3) for t in found)
