"""The demo workspace replayed through the real pipeline, and the start page that shows it."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from integration import store
from integration.demo import demo_tickets
from integration.demo.seed import seed_demo
from integration.worker import Workers
from tests.conftest import make_ticket, post_sandbox, sandbox_body


def test_empty_start_page_says_how_to_begin(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "escalade demo" in page


def test_demo_replay_shows_tier_reasons_and_write_backs(client: Any, runtime: Any) -> None:
    report = seed_demo(runtime)
    tickets = demo_tickets()
    assert report["accepted"] == len(tickets) >= 40
    assert report["decided"] == len(tickets)
    with store.session_scope(runtime.sessions) as s:
        delivered = s.scalar(select(func.count()).select_from(store.OutboxRow)
                             .where(store.OutboxRow.status == "delivered"))
        tiers = set(s.scalars(select(store.TicketRow.tier)))
    assert delivered == report["delivered"] >= len(tickets)
    assert tiers == {1, 2, 3, None}  # None: the past tickets stored for the audit

    page = client.get("/").get_data(as_text=True)
    second = client.get("/?page=2").get_data(as_text=True)
    assert page.count('<tr class="tier-') == 50  # one page
    assert page.count('<tr class="tier-') + second.count('<tr class="tier-') == len(tickets)
    assert f"Showing 1–50 of {len(tickets)} tickets" in page
    assert f"Showing 51–{len(tickets)} of {len(tickets)} tickets" in second
    for ticket in tickets[-5:]:
        assert f"#{ticket.id}" in page + second
    assert "tags +escalade_tier_3" in page  # exactly what was written back
    assert re.search(r"<code>[a-z0-9_.]+</code> [A-Za-z]", page), "rules with their reasons"
    # The SLA clock of each ticket: its state and, while it runs, the due time in the
    # workspace's business time zone (the demo's matrix: Europe/Berlin).
    with store.session_scope(runtime.sessions) as s:
        states = set(s.scalars(select(store.TicketRow.sla_state)
                               .where(store.TicketRow.tier.is_not(None))))
    assert states and None not in states
    assert re.search(r'<span class="sla sla-(ok|warning)">SLA \w+</span> due '
                     r"\w{3} \d{1,2} \w{3} \d\d:\d\d CES?T</small>", page)
    assert " UTC</small>" not in page + second

    again = seed_demo(runtime)
    assert (again["accepted"], again["decided"]) == (0, 0)


def test_background_workers_process_without_being_called(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    workers = Workers(runtime, count=1, poll_seconds=0.05)
    workers.start()
    try:
        post_sandbox(client, sandbox_body(make_ticket(), delivery_id="w1"))
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            with store.session_scope(runtime.sessions) as s:
                status = s.scalar(select(store.OutboxRow.status))
            if status == "delivered":
                break
            time.sleep(0.05)
    finally:
        workers.stop()
    assert status == "delivered"


def test_only_the_demo_is_public_and_each_demo_ticket_opens_its_sidebar(
    client: Any, runtime: Any
) -> None:
    seed_demo(runtime)
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="acme", name="Acme", helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": "x"}, settings={}, cipher=runtime.cipher)
        acme = store.get_tenant(s, "acme")
        assert acme is not None
        # A real helpdesk's ticket must not show on the public page.
        real = store.TicketRow(
            tenant_id=acme.id, helpdesk="zendesk", external_id="777",
            data={"subject": "Private customer matter"}, status="open", tier=3,
            created_at=datetime.now(UTC), updated_at=datetime.now(UTC))
        s.add(real)
    page = client.get("/").get_data(as_text=True)
    assert "Private customer matter" not in page
    assert "sign in" in page
    links = re.findall(r'href="([^"]*/sidebar/sandbox/demo/tickets/[^"]+)"', page)
    assert links
    sidebar = client.get(links[0].replace("&amp;", "&"))
    assert sidebar.status_code == 200 and 'id="tier-badge"' in sidebar.get_data(as_text=True)
