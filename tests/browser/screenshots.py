"""Regenerate the README's screenshots: ``python -m tests.browser.screenshots``.

Serves the demo workspace (``live.demo_server``), connects its Slack to the local fake Slack
API, puts a few example failed deliveries in the outbox, and photographs with Debian's
chromium: the sidebar of a Tier 3 ticket at 320 x 900, the matrix editor rejecting a bad
threshold, the outbox, a workspace's connections, and the start page filtered to the demo's
staged SLA scenes once the sweep has acted on them. Writes ``docs/screenshots/*.png``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from integration import outbox, store
from integration.models import Action, ActionKind
from integration.worker import drain
from scheduler import sla_sweep
from tests.browser.live import (
    DemoServer,
    browser_missing,
    chromium_context,
    demo_server,
    sidebar_url,
    sign_in,
    tier3_tickets,
)
from tests.connectors import slack_server

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Example failures for the outbox page (the demo's own deliveries all land).
EXAMPLE_FAILURES: tuple[dict[str, Any], ...] = (
    {"target": "slack", "kind": ActionKind.ALERT, "status": "failed", "attempts": 1,
     "error": "slack: channel_not_found (is the bot still in C0ALERTS?)"},
    {"target": "helpdesk", "kind": ActionKind.SET_FIELD, "status": "failed", "attempts": 8,
     "error": "gave up after 8 attempts: sandbox answered 503: Service Unavailable"},
    {"target": "crm", "kind": ActionKind.INTERNAL_NOTE, "status": "pending", "attempts": 2,
     "error": "HubSpot answered 429: You have reached your secondly limit."},
)


def _prepare(server: DemoServer, slack_url: str) -> None:
    runtime = server.runtime
    now = datetime.now(UTC)
    tickets = tier3_tickets(runtime)
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        store.update_tenant(s, tenant, cipher=runtime.cipher,
                            secrets={"slack.bot_token": slack_server.TOKEN},
                            settings={"slack": {"base_url": slack_url, "channel": "C0ALERTS",
                                                "team_id": slack_server.TEAM_ID},
                                      "connectors": ["slack"]})
        for n, example in enumerate(EXAMPLE_FAILURES):
            target = str(example["target"])
            row = outbox.enqueue(
                s, tenant_id=tenant.id, target=target,
                ticket_external_id=tickets[n % len(tickets)],
                actions=[Action(kind=example["kind"], target=target)],
                idempotency_key=f"screenshot-{n}", now=now - timedelta(minutes=40 - n * 10))
            assert row is not None
            row.status, row.attempts = example["status"], example["attempts"]
            row.last_error = str(example["error"])
            row.next_attempt_at = now + timedelta(minutes=2)
    runtime.forget_adapters()


def _shoot(page: Any, name: str, *, full_page: bool = False) -> Path:
    path = OUT / name
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    print(f"wrote {path.relative_to(OUT.parents[1])}")
    return path


def take_all() -> list[Path]:
    """Serve the demo and write every screenshot; returns the files written."""
    OUT.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with slack_server.running_slack_api() as fake, demo_server() as server:
        _prepare(server, fake.url)
        with chromium_context(width=320, height=900) as context:
            page = context.new_page()
            try:
                url = sidebar_url(server, tier3_tickets(server.runtime)[0])
            except ImportError as err:
                print(f"skipped sidebar-tier3.png: the sidebar is not available ({err})")
            else:
                page.goto(url)
                page.wait_for_selector("#tier-badge")
                written.append(_shoot(page, "sidebar-tier3.png"))
        with chromium_context(width=1280, height=900) as context:
            page = context.new_page()
            sign_in(page, server)
            page.goto(f"{server.url}/admin/matrix")
            text = page.input_value("#matrix")
            page.fill("#matrix", text.replace("health_below: 0.4", "health_below: 1.5"))
            page.click("#validate")
            page.wait_for_selector(".issue")
            written.append(_shoot(page, "admin-matrix-error.png"))
            page.goto(f"{server.url}/admin/outbox")
            written.append(_shoot(page, "admin-outbox.png", full_page=True))
            page.goto(f"{server.url}/admin/tenants/demo")
            page.click("#test-slack")
            page.wait_for_selector("#result-slack")
            page.evaluate("() => window.scrollTo(0, 0)")
            written.append(_shoot(page, "admin-tenant.png", full_page=True))
        # The scheduler's first sweep: the demo's staged scenes warn, breach and promote.
        swept = datetime.now(UTC) + timedelta(seconds=20)
        sla_sweep(server.runtime, swept)
        drain(server.runtime, now=swept)
        with chromium_context(width=1280, height=900) as context:
            page = context.new_page()
            page.goto(f"{server.url}/?tier=3&category=account_access")
            page.wait_for_selector("#showing")
            written.append(_shoot(page, "start-page.png"))
    return written


def main() -> int:
    """Entry point; 2 when chromium or Playwright is missing."""
    reason = browser_missing()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 2
    take_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
