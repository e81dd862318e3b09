"""In a real browser: a chosen period on the dashboard, then its printable report downloaded.

Its own server (deciding the demo's history changes what other browser tests count). The
downloaded report is opened offline: it asks nothing from anywhere, not even 127.0.0.1.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from integration.demo.decided import decide_history
from tests.browser.live import demo_server, sign_in


def test_a_chosen_period_is_shown_and_its_report_downloads_whole(
        browser_page: Any, tmp_path: Path) -> None:
    page = browser_page
    with demo_server() as server:
        assert decide_history(server.runtime) > 100
        today = server.runtime.now().date()
        first, last = today - timedelta(days=40), today - timedelta(days=3)
        sign_in(page, server)
        page.goto(f"{server.url}/admin/dashboard?workspace=demo")
        # Typing the days is enough: they win over the preset period still selected.
        page.fill("#f-from", first.isoformat())
        page.fill("#f-to", last.isoformat())
        page.click("#dash-apply")
        period = page.inner_text("#dash-period")
        assert period.startswith(f"Chosen days: {first.isoformat()} to {last.isoformat()}")
        tickets = int(page.inner_text("#tile-tickets"))
        assert tickets > 0
        with page.expect_download() as info:
            page.click("#download-html")
        saved = tmp_path / "report.html"
        info.value.save_as(saved)
        assert info.value.suggested_filename.endswith(f"{last.isoformat()}.html")

        requests: list[str] = []
        page.on("request", lambda req: requests.append(req.url))
        page.goto(saved.as_uri())
        assert int(page.inner_text("#tile-tickets")) == tickets
        assert page.locator("svg.chart").count() >= 3
        assert requests == [saved.as_uri()]
