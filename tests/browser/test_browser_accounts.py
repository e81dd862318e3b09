"""In a real browser: the at-risk accounts of the demo workspace, a reason followed to its
evidence, and that evidence to the ticket's timeline on the start page.

Every request stays on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.browser.live import DemoServer, sign_in


def test_an_admin_follows_a_reason_to_its_tickets_and_their_timeline(
        live_server: DemoServer, browser_page: Any) -> None:
    page = browser_page
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(urlsplit(req.url).hostname or req.url))
    sign_in(page, live_server)
    page.click("nav >> text=Accounts")
    if page.locator("#accounts").count() == 0:
        page.select_option("#tenant", "demo")
        page.click("button:has-text('Show')")
    assert "ARR at risk = ARR × score" in page.inner_text("#formula")
    first = page.locator("#accounts tbody tr").first
    # The demo's story: Halcyon writes more and more, has Tier 3s open and renews soon.
    assert first.get_attribute("id") == "account-org-halcyon"
    assert "at risk" in first.inner_text()
    assert first.locator(".weeks li").count() == 17

    reason = first.locator("a.reason[data-factor='tier3']")
    assert "Tier 3 tickets open" in reason.inner_text()
    reason.click()
    page.wait_for_url("**/admin/accounts/demo/org-halcyon#evidence-tier3")
    section = page.locator("#evidence-tier3")
    assert section.is_visible()
    tickets = section.locator("a.evidence-ticket")
    assert tickets.count() == 2
    label = tickets.first.inner_text()
    assert "No product activity data" in page.inner_text("#missing")
    assert page.locator("h2#timeline").is_visible()

    ticket_id = label.split()[0].lstrip("#")
    tickets.first.click()
    page.wait_for_selector(f"#ticket-demo-{ticket_id}")
    row = page.locator(f"#ticket-demo-{ticket_id}")
    assert row.locator(".timeline").count() == 1
    assert "Tier 3" in row.inner_text() or "tier-3" in (row.get_attribute("class") or "")
    assert hosts == {"127.0.0.1"}
