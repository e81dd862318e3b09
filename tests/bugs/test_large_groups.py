"""A ticket joining a large bug group: the group is counted in SQL, its report quotes a sample.

An outage can put thousands of tickets in one group. Each new one must cost what joining a
group of thirty costs: counted by the store, drafted from the first and newest tickets.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from integration import store
from integration.bugs import service
from integration.bugs.totals import totals_of
from integration.models import Category, Signals, Ticket
from integration.store.bugs import BugGroupRow, group_totals, link_ticket
from tests.conftest import make_ticket

NOW = datetime.now(UTC).replace(microsecond=0)


def _ticket(n: int, *, account: int | None, plan: str = "pro", arr: float | None = 20000,
            hours_ago: float = 1.0) -> Ticket:
    at = (NOW - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")
    return Ticket.from_dict(make_ticket(
        id=str(900 + n), subject="CSV export fails", created_at=at, updated_at=at,
        requester={"id": f"u{n}", "email": f"ops{n}@customer.example", "name": f"Sam {n}"},
        account=({"id": f"acct-{account}", "name": f"Customer {account}", "plan": plan,
                  "arr": arr} if account is not None else None),
        messages=[{"id": f"{n}-m1", "author": "customer", "public": True, "created_at": at,
                   "body": f"Step {n}: when I click Export CSV the export fails with HTTP 500."}]))


def _store(s: Any, tenant_id: int, ticket: Ticket, tier: int | None) -> store.TicketRow:
    return store.upsert_ticket(s, tenant_id=tenant_id, ticket=ticket, tier=tier, priority=None,
                               category=None, sla_due_at=None, input_fingerprint=None)


def _tenant(s: Any, slug: str) -> Any:
    return s.scalars(select(store.TenantRow).where(store.TenantRow.slug == slug)).one()


def test_the_store_counts_a_group_as_its_tickets_do(runtime: Any, sandbox_tenant: str) -> None:
    tickets = [
        (_ticket(0, account=1, hours_ago=50), 2),
        (_ticket(1, account=1, hours_ago=2, arr=35000), 3),  # the account's larger ARR counts
        (_ticket(2, account=2, plan="enterprise", arr=None, hours_ago=30), 2),
        (_ticket(3, account=3, hours_ago=5), None),
        (_ticket(4, account=None, hours_ago=1), 1),  # no account: the requester counts
        (_ticket(5, account=None, hours_ago=70), 2),
        (_ticket(6, account=4, plan="enterprise", arr=120000, hours_ago=0.5), 2),
    ]
    since = NOW - timedelta(hours=24)
    with store.session_scope(runtime.sessions) as s:
        tenant = _tenant(s, sandbox_tenant)
        for ticket, tier in tickets:
            row = _store(s, tenant.id, ticket, tier)
            group = link_ticket(s, tenant_id=tenant.id, tenant_slug=tenant.slug, group_key="g1",
                                ticket_id=row.id, title=ticket.subject, matched_on="test",
                                now=NOW)
        counted = group_totals(s, group.id, since=since)
    expected = totals_of(tickets, since=since)
    assert counted == expected
    assert (counted.tickets, counted.accounts, counted.recent_accounts) == (7, 6, 4)
    assert counted.enterprise == ("Customer 2", "Customer 4") and counted.tier_3
    assert counted.arr == 35000 + 20000 + 120000  # none known for acct-2 or the requesters


class _OneGroup:
    """Every ticket joins one group: what is tested here is what happens after grouping."""

    def assign(self, s: Any, tenant_id: int, ticket: Ticket) -> tuple[str, str]:
        return "export-500", "error http_500"


@pytest.fixture
def jira_tenant(runtime: Any, sandbox_tenant: str) -> Any:
    with store.session_scope(runtime.sessions) as s:
        tenant = _tenant(s, sandbox_tenant)
        context = runtime.tenant_context(tenant)
    return dataclasses.replace(context, connected=frozenset({"jira"}))


def _join(runtime: Any, tenant: Any, ticket: Ticket) -> list[str]:
    with store.session_scope(runtime.sessions) as s:
        assigned = service.assign(s, tenant, _OneGroup(),  # type: ignore[arg-type]
                                  ticket=ticket, signals=Signals(category=Category.BUG))
        row = _store(s, tenant.id, ticket, 2)
        return service.on_ticket(s, tenant, assigned, row=row, ticket=ticket, now=NOW)


def _last_report(runtime: Any) -> dict[str, Any]:
    with store.session_scope(runtime.sessions) as s:
        row = s.scalars(select(store.OutboxRow).where(store.OutboxRow.target == "jira")
                        .order_by(store.OutboxRow.id.desc())).first()
        assert row is not None
        return dict(row.actions[0]["payload"]["report"])


def test_a_ticket_joining_a_large_group_reads_a_sample_and_counts_all(
    runtime: Any, jira_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = service.SAMPLE_FIRST + service.SAMPLE_NEWEST + 15
    for n in range(size - 1):
        _join(runtime, jira_tenant, _ticket(n, account=n, hours_ago=10 - n * 0.1))
    read: list[int] = []
    group_items = service._group_items

    def counting(tenant: Any, members: Any) -> Any:
        read.append(len(members))
        return group_items(tenant, members)

    monkeypatch.setattr(service, "_group_items", counting)
    # The newest to join was written hours ago, among the group's middle tickets: it is still
    # quoted and linked.
    late = _ticket(size - 1, account=size - 1, hours_ago=6.95)
    done = _join(runtime, jira_tenant, late)

    assert any("report queued for jira" in line for line in done)
    # The report read the group's first and newest tickets and this one, not the whole group.
    assert read == [service.SAMPLE_FIRST + service.SAMPLE_NEWEST + 1]
    report = _last_report(runtime)
    assert (report["customer_total"], report["ticket_total"]) == (size, size)
    assert report["title"].endswith(f"({size} accounts)")
    assert report["summary"].startswith(f"{size} tickets from {size} customers")
    assert sum(report["frequency"].values()) == size
    assert len(report["customers"]) == service.SAMPLE_FIRST + service.SAMPLE_NEWEST + 1
    assert "Customer 44" in {c["name"] for c in report["customers"]}
    # Already filed: only the newest tickets and the late one are linked this time.
    links = report["ticket_links"]
    assert len(links) == service.SAMPLE_NEWEST + 1
    assert any(f"/{900 + size - 1}" in link for link in links)
    with store.session_scope(runtime.sessions) as s:
        group = s.scalars(select(BugGroupRow)).one()
        assert group.status == "reported"


def test_the_first_report_of_a_group_links_its_sample(runtime: Any, jira_tenant: Any) -> None:
    for n in range(2):
        assert not any("report queued" in line
                       for line in _join(runtime, jira_tenant, _ticket(n, account=n)))
    done = _join(runtime, jira_tenant, _ticket(2, account=2))
    assert any("3 accounts hit within 24 h" in line for line in done)
    report = _last_report(runtime)
    assert len(report["ticket_links"]) == 3 and report["customer_total"] == 3
