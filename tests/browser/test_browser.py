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


def _sandbox_workspace(server: DemoServer, slug: str) -> None:
    with store.session_scope(server.runtime.sessions) as s:
        if store.get_tenant(s, slug) is None:
            store.add_tenant(s, slug=slug, name=slug.title(), helpdesk="sandbox", base_url=None,
                             secrets={"webhook_secret": "w" * 32}, settings={},
                             cipher=server.runtime.cipher)


def test_admin_connects_jira_with_a_test_first(live_server: DemoServer,
                                               browser_page: Any) -> None:
    import responses

    _sandbox_workspace(live_server, "jira-check")
    page = browser_page
    hosts = _track_hosts(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/tenants/jira-check")
    assert page.get_attribute("#badge-jira", "data-state") == "off"
    page.fill("#jira-base_url", "https://acme.atlassian.net")
    page.fill("#jira-email", "bot@acme.example")
    page.fill("#jira-api_token", "jira-browser-token")
    page.fill("#jira-project", "PAY")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as jira:
        jira.get("https://acme.atlassian.net/rest/api/3/myself",
                 json={"accountId": "5b10", "displayName": "Escalade Bot"})
        page.click("#test-jira")
        result = page.locator("#result-jira")
        assert "Connection works: Jira https://acme.atlassian.net: connected as Escalade Bot" \
            in result.inner_text()
        assert "not saved yet" in result.inner_text()
        assert page.get_attribute("#badge-jira", "data-state") == "off"
        # Secrets typed before the test are not put back into the page: type them again.
        page.fill("#jira-email", "bot@acme.example")
        page.fill("#jira-api_token", "jira-browser-token")
        page.click("#save-jira")
        page.wait_for_url(f"{live_server.url}/admin/tenants/jira-check#jira")
    assert page.get_attribute("#badge-jira", "data-state") == "ok"
    assert "tested" in page.inner_text("#tested-jira")
    assert "jira-browser-token" not in page.content()
    config = None
    with store.session_scope(live_server.runtime.sessions) as s:
        tenant = store.get_tenant(s, "jira-check")
        assert tenant is not None
        config = live_server.runtime.connector_config(tenant, "jira")
    assert (config.settings["project"], config.base_url) == ("PAY", "https://acme.atlassian.net")
    assert config.credentials["api_token"] == "jira-browser-token"
    assert hosts == {"127.0.0.1"}


def test_admin_adds_a_freshdesk_workspace(live_server: DemoServer, browser_page: Any) -> None:
    import responses

    page = browser_page
    hosts = _track_hosts(page)
    sign_in(page, live_server)
    page.click("#add-workspace")
    page.select_option("#helpdesk", "freshdesk")
    # Only the chosen helpdesk's credentials are asked for.
    assert page.is_visible("#api_key") and not page.is_visible("#api_token")
    assert not page.is_visible("#access_token")
    page.fill("#slug", "fresh-acme")
    page.fill("#name", "Fresh Acme")
    page.fill("#base_url", "https://fresh-acme.freshdesk.com")
    page.fill("#api_key", "fd-browser-key")
    page.fill("#currency", "eur")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as freshdesk:
        freshdesk.get("https://fresh-acme.freshdesk.com/api/v2/agents/me",
                      json={"id": 5, "contact": {"name": "Escalade Bot"}})
        freshdesk.get("https://fresh-acme.freshdesk.com/api/v2/groups",
                      json=[{"id": 5003, "name": "Escalations"}, {"id": 5001, "name": "Support"}])
        page.click("#add-submit")
        page.wait_for_selector("#added-check")
    assert "Connection works: Freshdesk: signed in as Escalade Bot" in page.inner_text(
        "#added-check")
    secret = page.inner_text("#webhook-secret").strip()
    assert len(secret) >= 32
    assert page.inner_text("#webhook-url").endswith("/webhooks/freshdesk/fresh-acme")
    assert "Admin → Workflows → Automations" in page.inner_text("body")
    page.click("#open-workspace")
    page.wait_for_selector("#groups")
    assert secret not in page.content() and "fd-browser-key" not in page.content()
    assert page.get_attribute("#badge-helpdesk", "data-state") == "ok"
    assert page.input_value("#group-escalations") == "5003"  # same name, preselected
    with store.session_scope(live_server.runtime.sessions) as s:
        tenant = store.get_tenant(s, "fresh-acme")
        assert tenant is not None and tenant.settings["currency"] == "EUR"
        assert store.tenant_secrets(tenant, live_server.runtime.cipher)["webhook_secret"] == secret
    assert hosts == {"127.0.0.1"}


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
