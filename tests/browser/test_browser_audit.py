"""In a real browser: the history audit page and the replay in the matrix editor.

The demo workspace's stored tickets are the history. Every request stays on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from integration.audit_runs import run_next_audit
from integration.matrix.loader import DEFAULT_PATH
from tests.browser.live import DemoServer, sign_in

EVERY_HOW_TO = ("tiers:\n  3:\n    rules:\n      - id: every_how_to\n"
                "        description: Every how-to question\n        when: {category: [how_to]}\n")


def _track_hosts(page: Any) -> set[str]:
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(urlsplit(req.url).hostname or req.url))
    return hosts


def test_admin_runs_an_audit_and_opens_its_report(live_server: DemoServer,
                                                   browser_page: Any) -> None:
    page = browser_page
    hosts = _track_hosts(page)
    sign_in(page, live_server)
    page.click("text=Audit")
    page.select_option("#tenant", "demo")
    page.click("button:has-text('Show')")
    assert "stored tickets of demo" in page.inner_text("#stored")
    page.fill("#days", "60")
    page.click("#run-audit")
    assert "queued" in page.inner_text(".flash")
    # The scheduler runs queued audits; here the test runs it, then the page is reloaded.
    run_id = run_next_audit(live_server.runtime)
    assert run_id is not None
    page.reload()
    row = page.locator(f"#audit-{run_id}")
    assert row.get_attribute("data-status") == "done"
    page.click(f"#report-{run_id}")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith("Escalation history audit")
    figures = page.locator("figure")
    assert figures.count() > 0
    for n in range(figures.count()):
        assert figures.nth(n).locator("table").count() >= 1
    assert page.locator("svg").count() > 0
    assert hosts == {"127.0.0.1"}


def test_the_matrix_editor_shows_the_replay_before_saving(live_server: DemoServer,
                                                           browser_page: Any) -> None:
    page = browser_page
    hosts = _track_hosts(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/matrix")
    edited = DEFAULT_PATH.read_text(encoding="utf-8").replace(
        "tiers:\n  3:\n    rules:\n", EVERY_HOW_TO, 1)
    page.fill("#matrix", edited)
    page.click("#save")
    assert "review what it would change below" in page.inner_text("#matrix-result")
    assert "stored ticket" in page.inner_text("#replay-h")
    changed = page.inner_text("#replay-changed")
    assert "would change tier" in changed and " up" in changed
    assert page.locator("#replay-changes code", has_text="+every_how_to").count() > 0
    page.click("#save")
    assert "Saved to" in page.inner_text("#matrix-result")
    assert hosts == {"127.0.0.1"}
