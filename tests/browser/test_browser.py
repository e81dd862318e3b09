"""In a real browser: the matrix editor, the sidebar, an override, the start page's filters.

Debian's chromium driven by Playwright against the app served on 127.0.0.1 (``live.py``).
Every request the page makes is checked to stay on 127.0.0.1: no CDN, no fonts from afar.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from integration import store
from integration.store.people import overrides_for_ticket
from tests.browser.live import DemoServer, sidebar_url, sign_in, tier3_tickets


def _track_hosts(page: Any) -> set[str]:
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(urlsplit(req.url).hostname or req.url))
    return hosts


def _sidebar_or_skip(server: DemoServer, ticket_id: str) -> str:
    try:
        return sidebar_url(server, ticket_id)
    except ImportError as err:
        pytest.skip(f"the sidebar (sidebar_ui.auth) is not available: {err}")


def _ticket_row(server: DemoServer, ticket_id: str) -> tuple[int, list[str]]:
    with store.session_scope(server.runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        ticket = store.get_ticket(s, tenant.id, "sandbox", ticket_id)
        assert ticket is not None
        decisions = store.decisions_for_ticket(s, ticket.id, limit=1)
        reasons = [str(r["reason"]) for r in (decisions[0].rules if decisions else [])]
        return ticket.id, reasons


def test_matrix_editor_shows_a_bad_threshold_at_its_line(live_server: DemoServer,
                                                          browser_page: Any) -> None:
    page = browser_page
    hosts = _track_hosts(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/matrix")
    text = page.input_value("#matrix")
    assert "health_below: 0.4" in text
    bad = text.replace("health_below: 0.4", "health_below: 1.5")
    line = next(n for n, t in enumerate(bad.splitlines(), 1) if "health_below: 1.5" in t)
    page.fill("#matrix", bad)
    with page.expect_response(f"{live_server.url}/admin/matrix") as answer:
        page.click("#validate")
    assert answer.value.status == 422
    issue = page.locator(".issue").first
    assert f"line {line}" in issue.inner_text()
    assert "health_below" in issue.inner_text() and "out of range" in issue.inner_text()
    assert "bad" in (page.get_attribute(f"#L{line}", "class") or "")
    # The editor puts the cursor on the offending line.
    selected = page.evaluate(
        "() => { const a = document.getElementById('matrix');"
        " return [document.activeElement.id, a.value.slice(a.selectionStart, a.selectionEnd)]; }")
    assert selected[0] == "matrix" and "health_below: 1.5" in selected[1]
    assert hosts == {"127.0.0.1"}


@pytest.mark.viewport(320, 900)
def test_sidebar_shows_a_tier3_ticket_in_a_narrow_iframe_width(live_server: DemoServer,
                                                               browser_page: Any) -> None:
    tickets = tier3_tickets(live_server.runtime)
    assert tickets, "the demo workspace has Tier 3 tickets"
    url = _sidebar_or_skip(live_server, tickets[0])
    _, reasons = _ticket_row(live_server, tickets[0])
    page = browser_page
    hosts = _track_hosts(page)
    response = page.goto(url)
    assert response is not None and response.status == 200, "GET /sidebar/... must answer 200"
    assert "3" in page.inner_text("#tier-badge")
    body = page.inner_text("body")
    assert reasons and any(reason in body for reason in reasons)
    # Nothing wider than the 320 px sidebar: no horizontal scrolling.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
    assert page.is_visible("#override-form")
    assert hosts == {"127.0.0.1"}


@pytest.mark.viewport(320, 900)
def test_agent_overrides_the_tier_from_the_sidebar(live_server: DemoServer,
                                                   browser_page: Any) -> None:
    tickets = tier3_tickets(live_server.runtime)
    ticket_id = tickets[1] if len(tickets) > 1 else tickets[0]
    url = _sidebar_or_skip(live_server, ticket_id)
    row_id, _ = _ticket_row(live_server, ticket_id)
    page = browser_page
    response = page.goto(url)
    assert response is not None and response.status == 200, "GET /sidebar/... must answer 200"
    page.select_option("#override-tier", "2")
    reason = "Customer confirmed a workaround; not blocking production any more."
    page.fill("#override-reason", reason)
    page.click("#override-submit")
    result = page.locator("#override-result")
    result.wait_for(state="visible")
    page.wait_for_function(
        "() => document.getElementById('override-result').innerText.trim().length > 0")
    assert "2" in result.inner_text()
    with store.session_scope(live_server.runtime.sessions) as s:
        overrides = overrides_for_ticket(s, row_id)
        assert [(o.to_tier, o.reason) for o in overrides][:1] == [(2, reason)]


def test_start_page_filters_and_a_ticket_opens_its_sidebar(live_server: DemoServer,
                                                           browser_page: Any) -> None:
    page = browser_page
    hosts = _track_hosts(page)
    page.goto(f"{live_server.url}/")
    assert page.inner_text("#showing").startswith("Showing 1–50 of 58 tickets")

    page.select_option("#tier", "3")
    page.select_option("#category", "refund")
    page.click("#apply")
    page.wait_for_url("**/?*tier=3*")
    rows = page.locator("tbody tr")
    count = rows.count()
    assert count >= 2, "the demo has several Tier 3 refund demands"
    assert page.inner_text("#showing").startswith(f"Showing 1–{count} of {count} ticket")
    for n in range(count):
        assert "tier-3" in (rows.nth(n).get_attribute("class") or "")
        assert "refund" in rows.nth(n).locator("td.ticket small").first.inner_text()
    assert page.input_value("#category") == "refund"  # the form keeps the filter

    first = rows.first
    ticket_id = (first.get_attribute("id") or "").rsplit("-", 1)[-1]
    first.locator("a.ticket-link").click()
    page.wait_for_url(f"**/sidebar/sandbox/demo/tickets/{ticket_id}?*")
    assert "Tier 3" in page.inner_text("#tier-badge")
    assert page.is_visible("#timeline")
    assert hosts == {"127.0.0.1"}
