"""In a real browser: the dashboard on the demo workspace, a filter, numbers opened as tickets.

Its own server: deciding the demo's history changes what the start page lists, which other
browser tests count. Every request stays on 127.0.0.1 (charts are drawn on the server).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from integration.demo.decided import decide_history
from tests.browser.live import demo_server, sign_in


def test_the_dashboard_filters_and_its_numbers_open_their_tickets(browser_page: Any) -> None:
    page = browser_page
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(urlsplit(req.url).hostname or req.url))
    with demo_server() as server:
        assert decide_history(server.runtime) > 100
        sign_in(page, server)
        page.click("nav >> text=Dashboard")
        page.select_option("#f-workspace", "demo")
        page.select_option("#f-period", "13w")
        page.click("#dash-apply")
        everything = int(page.inner_text("#tile-tickets"))
        assert everything > 300
        assert page.locator("svg.chart").count() >= 8
        for section in ("rate", "per-tier", "breaches", "csat", "triggers"):
            assert page.locator(f"#{section} table").count() >= 1

        page.select_option("#f-category", "refund")
        page.click("#dash-apply")
        refunds = int(page.inner_text("#tile-tickets"))
        assert 0 < refunds < everything
        page.click("#tile-tickets a")
        page.wait_for_load_state()
        query = parse_qs(urlsplit(page.url).query)
        assert query["category"] == ["refund"] and query["workspace"] == ["demo"]
        assert "dashboard number" in page.inner_text("#narrowed")
        assert page.inner_text("#showing").split(" of ")[1].startswith(f"{refunds} ticket")

        # A breakdown follows the filter too, and its number opens exactly its tickets.
        page.go_back()
        page.wait_for_load_state()
        cell = page.locator("#groups-table tbody td a").first
        in_group = int(cell.inner_text())
        assert 0 < in_group <= refunds
        cell.click()
        page.wait_for_load_state()
        query = parse_qs(urlsplit(page.url).query)
        assert query["category"] == ["refund"] and "group" in query
        assert page.inner_text("#showing").split(" of ")[1].startswith(f"{in_group} ticket")
    assert hosts == {"127.0.0.1"}
