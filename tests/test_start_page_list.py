"""The start page past a demo: filters, search, pages, currency, helpdesk links, few queries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from integration import store
from integration.models import Category, Decision, Priority, RuleHit, Ticket, Tier
from integration.store.people import set_admin
from tests.conftest import make_ticket

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Berlin
ADMIN, PASSWORD = "ops@example.com", "correct horse battery"
ROW = re.compile(r'<tr class="tier-\d" id="ticket-([\w-]+)-([\w-]+)">')


def add_tenant(runtime: Any, slug: str, *, helpdesk: str = "sandbox",
               settings: dict[str, Any] | None = None) -> int:
    with store.session_scope(runtime.sessions) as s:
        secrets = {"webhook_secret": "w" * 32}
        if helpdesk == "zendesk":
            secrets |= {"email": "bot@acme.example", "api_token": "zd-token"}
        row = store.add_tenant(
            s, slug=slug, name=slug.title(), helpdesk=helpdesk,
            base_url="https://acme.zendesk.com" if helpdesk == "zendesk" else None,
            secrets=secrets, settings=settings or {}, cipher=runtime.cipher)
        return int(row.id)


def add_ticket(runtime: Any, tenant_id: int, n: int, *, slug: str = "demo",
               helpdesk: str = "sandbox", tier: int | None = 2, status: str = "open",
               category: str = "billing", subject: str | None = None, account: str = "Acme",
               arr: int = 42000, minutes_ago: int | None = None,
               sla_state: str | None = "ok") -> None:
    """A ticket stored the way the pipeline stores it, with one decision and its write-back."""
    at = NOW - timedelta(minutes=n if minutes_ago is None else minutes_ago)
    ticket = Ticket.from_dict(make_ticket(
        tenant=slug, helpdesk=helpdesk, id=str(n), status=status,
        subject=subject or f"Question number {n}", created_at=at.isoformat(),
        updated_at=at.isoformat(),
        requester={"id": f"u{n}", "email": f"person{n}@client{n % 3}.example",
                   "name": f"Person {n}"},
        account={"id": f"org-{account}", "name": account, "plan": "pro", "arr": arr},
        messages=[{"id": f"m{n}", "author": "customer", "public": True, "body": "Help",
                   "created_at": at.isoformat()}]))
    with store.session_scope(runtime.sessions) as s:
        row = store.upsert_ticket(s, tenant_id=tenant_id, ticket=ticket, tier=tier,
                                  priority="high", category=category,
                                  sla_due_at=NOW + timedelta(hours=3), input_fingerprint=None)
        row.sla_state = sla_state if tier is not None else None
        row.sla_warn_at = NOW + timedelta(hours=2)
        if tier is None:
            return
        decision = store.add_decision(s, tenant_id=tenant_id, ticket_id=row.id, decided_at=at,
                                      decision=Decision(
                                          ticket_id=str(n), tier=Tier(tier),
                                          priority=Priority.HIGH, category=Category(category),
                                          sentiment=0.0, matrix_version="v1-test", triggers=(),
                                          rules=(RuleHit(rule_id="billing_adjustment",
                                                         reason="Billing adjustment"),)))
        s.add(store.OutboxRow(
            tenant_id=tenant_id, decision_id=decision.id, ticket_id=row.id, target="helpdesk",
            ticket_external_id=str(n), idempotency_key=f"{slug}:{n}", status="delivered",
            attempts=1, next_attempt_at=at, created_at=at,
            actions=[{"kind": "add_tags", "target": "helpdesk",
                      "payload": {"tags": [f"escalade_tier_{tier}"]}}]))


@pytest.fixture
def frozen(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(runtime, "now", lambda: NOW)
    return runtime


def rows(html: str) -> list[tuple[str, str]]:
    return ROW.findall(html)


def sign_in(client: Any, runtime: Any) -> None:
    with store.session_scope(runtime.sessions) as s:
        set_admin(s, email=ADMIN, password=PASSWORD, now=datetime.now(UTC))
    page = client.get("/admin/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    answer = client.post("/admin/login", data={"csrf_token": token.group(1), "email": ADMIN,
                                               "password": PASSWORD})
    assert answer.status_code == 302


@contextmanager
def counted(runtime: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)


# --- pages ------------------------------------------------------------------------------------


def test_pages_of_fifty_in_a_stable_order_cover_every_ticket_once(
    client: Any, frozen: Any
) -> None:
    demo = add_tenant(frozen, "demo")
    for n in range(1, 121):
        add_ticket(frozen, demo, n, tier=(1, 2, 3)[n % 3])

    first, second, third = (client.get(f"/?page={p}").text for p in (1, 2, 3))

    assert "Showing 1–50 of 120 tickets" in first
    assert "Showing 101–120 of 120 tickets" in third
    listed = [t for page in (first, second, third) for _, t in rows(page)]
    assert len(listed) == len(set(listed)) == 120
    # Highest tier first, then the latest update: ticket 2 (tier 3, 2 minutes ago) leads.
    tiers = [(1, 2, 3)[int(t) % 3] for t in listed]
    assert tiers == sorted(tiers, reverse=True) and listed[:3] == ["2", "5", "8"]
    assert 'rel="next" href="/?page=2"' in first and 'rel="prev"' in second
    # A page past the end (the list shrank) shows the last one.
    assert rows(client.get("/?page=9").text) == rows(third)


def test_filters_and_search_narrow_the_list_and_its_counts(client: Any, frozen: Any) -> None:
    demo = add_tenant(frozen, "demo")
    add_ticket(frozen, demo, 1, tier=3, category="refund", subject="Refund our 100% overcharge",
               account="Northwind")
    add_ticket(frozen, demo, 2, tier=2, status="pending", category="bug",
               subject="Export crashes", account="Brightpath")
    add_ticket(frozen, demo, 3, tier=2, category="billing", subject="Invoice address",
               account="Northwind Freight")
    add_ticket(frozen, demo, 4, tier=1, category="how_to", subject="How to export",
               account="Cobalt")

    def listed(query: str) -> list[str]:
        return [t for _, t in rows(client.get(query).text)]

    assert listed("/?tier=2") == ["2", "3"]  # the latest update first
    assert listed("/?status=pending") == ["2"]
    assert listed("/?category=how_to") == ["4"]
    assert listed("/?tier=2&category=bug&status=pending") == ["2"]
    assert listed("/?q=EXPORT") == ["2", "4"]  # subject, any case
    assert listed("/?q=northwind") == ["1", "3"]  # account name
    assert listed("/?q=%234") == ["4"]  # "#4": the ticket id
    assert listed("/?q=person2%40client2") == ["2"]  # requester e-mail
    assert listed("/?q=100%25") == ["1"]  # a literal "%", not a wildcard
    assert listed("/?q=nobody") == []
    page = client.get("/?q=northwind").text
    assert "Showing 1–2 of 2 tickets" in page
    assert re.search(r"Tier 3: <strong>1</strong>.*Tier 2: <strong>1</strong>", page)
    assert 'value="northwind"' in page  # the form keeps what was asked
    assert "No ticket matches these filters" in client.get("/?q=nobody").text


@pytest.mark.parametrize(("query", "field"), [
    ("tier=7", "tier"), ("status=lost", "status"), ("helpdesk=jira", "helpdesk"),
    ("category=churn", "category"), ("page=0", "page"), ("page=two", "page"),
    ("q=" + "x" * 201, "q"),
])
def test_a_bad_filter_is_a_400_naming_the_field(client: Any, frozen: Any, query: str,
                                                field: str) -> None:
    add_ticket(frozen, add_tenant(frozen, "demo"), 1)

    response = client.get(f"/?{query}")

    assert response.status_code == 400
    assert f"<code>{field}</code>:" in response.text
    assert rows(response.text) == []


def test_history_imports_without_a_decision_are_listed_apart(client: Any, frozen: Any) -> None:
    demo = add_tenant(frozen, "demo")
    add_ticket(frozen, demo, 1, tier=2)
    add_ticket(frozen, demo, 2, tier=None)

    assert [t for _, t in rows(client.get("/").text)] == ["1"]
    assert [t for _, t in rows(client.get("/?tier=none").text)] == ["2"]


# --- what each row shows ----------------------------------------------------------------------


def test_arr_in_the_tenants_currency_helpdesk_links_and_local_due_times(
    client: Any, frozen: Any
) -> None:
    demo = add_tenant(frozen, "demo")
    acme = add_tenant(frozen, "acme", helpdesk="zendesk",
                      settings={"currency": "eur", "calendar": "business_us"})
    add_ticket(frozen, demo, 1, arr=42000)
    add_ticket(frozen, acme, 77, slug="acme", helpdesk="zendesk", arr=1250000)
    sign_in(client, frozen)

    page = client.get("/").text

    demo_row = page[page.index('id="ticket-demo-1"'):]
    acme_row = page[page.index('id="ticket-acme-77"'):]
    assert "ARR USD 42,000" in demo_row.split("</tr>")[0]  # no currency set: US dollars
    assert "ARR EUR 1,250,000" in acme_row.split("</tr>")[0]
    # The helpdesk's own ticket page, in a new tab; the sandbox has none: its sidebar.
    assert re.search(r'href="https://acme\.zendesk\.com/agent/tickets/77" target="_blank"',
                     acme_row)
    sidebar = re.search(r'href="(/sidebar/sandbox/demo/tickets/1\?t=[^"]+)"', demo_row)
    assert sidebar is not None
    assert client.get(sidebar.group(1).replace("&amp;", "&")).status_code == 200
    # Due three hours from 09:00 UTC, in each workspace's business time zone.
    assert "due Mon 7 Dec 13:00 CET" in demo_row.split("</tr>")[0]
    assert "due Mon 7 Dec 07:00 EST" in acme_row.split("</tr>")[0]


def test_only_the_demo_is_public(client: Any, frozen: Any) -> None:
    add_ticket(frozen, add_tenant(frozen, "demo"), 1)
    acme = add_tenant(frozen, "acme", helpdesk="zendesk")
    add_ticket(frozen, acme, 77, slug="acme", helpdesk="zendesk",
               subject="Private customer matter")
    sandbox_too = add_tenant(frozen, "trial")
    add_ticket(frozen, sandbox_too, 88, slug="trial", subject="Another sandbox")

    public = client.get("/").text
    assert rows(public) == [("demo", "1")]
    assert "Private customer matter" not in client.get("/?q=private").text
    sign_in(client, frozen)
    assert sorted(rows(client.get("/").text)) == [("acme", "77"), ("demo", "1"), ("trial", "88")]
    assert rows(client.get("/?helpdesk=zendesk").text) == [("acme", "77")]


def test_a_page_costs_the_same_few_queries_however_many_rows(client: Any, frozen: Any) -> None:
    demo = add_tenant(frozen, "demo")
    for n in range(1, 61):
        add_ticket(frozen, demo, n)
    client.get("/")  # the adapter cache warms up

    with counted(frozen) as few:
        assert len(rows(client.get("/?q=question+number+1").text)) == 11  # 1 and 10-19
    with counted(frozen) as many:
        assert len(rows(client.get("/").text)) == 50

    assert len(few) == len(many) <= 6
