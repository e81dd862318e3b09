"""The start page's store: the search column, filled by every writer and by migration 0013."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from sqlalchemy import insert, select, text

import integration.store as st
from tests.store.helpers import T0, Store, make_ticket, new_tenant, sqlite_url


def test_migration_0013_fills_the_search_column_of_stored_tickets(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    (tmp_path / "var").mkdir()
    st.upgrade(url, "0008")
    engine = st.make_engine(url)
    data = {"id": "77", "subject": "Invoice WRONG", "account": {"name": "BigCo"},
            "requester": {"name": "Dana", "email": "ops@bigco.com"}}
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO tenants (id, slug, name, helpdesk, secrets, settings, created_at) "
            "VALUES (1, 'acme', 'Acme', 'zendesk', 'x', '{}', '2026-11-02 09:00:00')"))
        connection.execute(text(
            "INSERT INTO tickets (tenant_id, helpdesk, external_id, data, status, tier, "
            "created_at, updated_at) VALUES (1, 'zendesk', '77', :data, 'open', 2, "
            "'2026-11-02 09:00:00', '2026-11-02 09:00:00')"), {"data": json.dumps(data)})

    st.upgrade(url)

    with engine.connect() as connection:
        stored = connection.execute(text("SELECT search_text FROM tickets")).scalar_one()
    assert stored == "77\ninvoice wrong\nbigco\ndana\nops@bigco.com"
    with st.session_scope(st.make_session_factory(engine)) as s:
        found = st.ticket_page(s, st.TicketFilter(search="BIGCO")).rows
        assert [r.external_id for r in found] == ["77"]
    engine.dispose()


def test_both_writers_fill_the_search_column(store: Store) -> None:
    tenant = new_tenant(store)
    live = replace(make_ticket("1"), subject="Live one")
    imported = replace(make_ticket("2"), subject="Old one")
    with st.session_scope(store.factory) as s:
        st.upsert_ticket(s, tenant_id=tenant, ticket=live, tier=2, priority="high",
                         category="billing", sla_due_at=None, input_fingerprint=None)
        st.import_ticket(s, tenant_id=tenant, ticket=imported)
    with st.session_scope(store.factory) as s:
        texts = dict(s.execute(select(st.TicketRow.external_id, st.TicketRow.search_text)).all())
        undecided = st.ticket_page(s, st.TicketFilter(tier=st.UNDECIDED, search="old"))
        assert [r.external_id for r in undecided.rows] == ["2"]
        assert undecided.tier_counts == {st.UNDECIDED: 1}
    assert texts == {"1": "1\nlive one\nbigco\ndana\nops@bigco.com",
                     "2": "2\nold one\nbigco\ndana\nops@bigco.com"}


def test_a_ticket_with_no_decision_has_an_empty_story(store: Store) -> None:
    tenant = new_tenant(store)
    with store.engine.begin() as connection:
        connection.execute(insert(st.TicketRow), [{
            "tenant_id": tenant, "helpdesk": "zendesk", "external_id": "9", "data": {},
            "status": "open", "tier": 1, "search_text": "9\nbulk", "created_at": T0,
            "updated_at": T0}])
    with st.session_scope(store.factory) as s:
        page = st.ticket_page(s, st.TicketFilter(search="bulk"))
        stories = st.ticket_stories(s, [r.id for r in page.rows])
    assert page.total == 1 and stories[page.rows[0].id] == st.Story()
