"""Benchmark the start page with many tickets: filters, search and paging. Prints ONE JSON object.

    python bench/start_page.py                                 # 100,000 tickets
    ESCALADE_BENCH_TICKETS=20000 python bench/start_page.py    # smaller database

The database is the embedded default (SQLite, WAL) in a temporary folder. Tickets are split
between the public demo workspace and a second tenant, each with a decision and an outbox
row, inserted in bulk. Each request is the real page (``GET /`` through the Flask test
client, public view, so the demo workspace's half), timed over several runs; the number of
SQL statements per request shows there is no query per row. The store's own queries are
timed for the signed-in view too (every tenant), with their query plans.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration import store  # noqa: E402
from integration.models import Ticket  # noqa: E402
from integration.store.overview import search_text  # noqa: E402
from integration.web import create_app  # noqa: E402

TICKETS = int(os.environ.get("ESCALADE_BENCH_TICKETS", "100000"))
RUNS = int(os.environ.get("ESCALADE_BENCH_RUNS", "5"))
BATCH = 20_000
CATEGORIES = ("billing", "bug", "how_to", "account_access", "outage", "refund", "other")
STATUSES = ("open", "open", "pending", "solved", "new")
WORDS = ("invoice", "export", "dashboard", "login", "sync", "report", "refund", "seat")


def _ticket(n: int, at: datetime) -> dict[str, Any]:
    stamp = at.isoformat().replace("+00:00", "Z")
    word = WORDS[n % len(WORDS)]
    return {
        "id": str(n), "subject": f"{word.capitalize()} problem number {n}", "status": "open",
        "requester": {"id": f"u{n % 5000}", "email": f"person{n % 5000}@co{n % 900}.example",
                      "name": f"Person {n % 5000}"},
        "account": {"id": f"org-{n % 900}", "name": f"Company {n % 900}", "plan": "pro",
                    "arr": 1000 * (n % 300)},
        "messages": [{"id": f"m{n}", "author": "customer", "public": True,
                      "body": f"Our {word} does not work.", "created_at": stamp}],
        "created_at": stamp, "updated_at": stamp,
    }


def _fill(runtime: Any, tenants: list[int], now: datetime) -> None:
    with runtime.engine.begin() as conn:
        for start in range(0, TICKETS, BATCH):
            numbers = range(start, min(start + BATCH, TICKETS))
            tickets, decisions, outbox = [], [], []
            for n in numbers:
                at = now - timedelta(minutes=n)
                # Moduli prime to each other, so every tenant has every tier, status, category.
                tier = (1, 2, 2, 3)[n % 4 if n % 2 else (n // 2) % 4]
                data = _ticket(n, at)
                tickets.append({
                    "id": n + 1, "tenant_id": tenants[n % len(tenants)],
                    "helpdesk": "sandbox", "external_id": str(n), "data": data,
                    "search_text": search_text(Ticket.from_dict(
                        {**data, "tenant": "bench", "helpdesk": "sandbox", "priority": "normal",
                         "channel": "email"})),
                    "requester_key": f"email:person{n % 5000}@co{n % 900}.example",
                    "account_key": f"account:org-{n % 900}", "status": STATUSES[n % 5],
                    "tier": tier, "priority": "high", "category": CATEGORIES[n % 7],
                    "sla_due_at": at + timedelta(hours=4), "sla_state": "ok",
                    "created_at": at, "updated_at": at,
                })
                decisions.append({
                    "id": n + 1, "tenant_id": tenants[n % len(tenants)], "ticket_id": n + 1,
                    "cause": "event", "decided_at": at, "matrix_version": "v1-bench",
                    "tier": tier, "priority": "high", "category": CATEGORIES[n % 7],
                    "sentiment": 0.0, "triggers": [], "signals": {}, "route": {},
                    "rules": [{"rule_id": "billing_adjustment", "reason": "Billing adjustment"}],
                })
                outbox.append({
                    "id": n + 1, "tenant_id": tenants[n % len(tenants)], "decision_id": n + 1,
                    "ticket_id": n + 1, "target": "helpdesk", "ticket_external_id": str(n),
                    "actions": [{"kind": "add_tags", "target": "helpdesk",
                                 "payload": {"tags": [f"escalade_tier_{tier}"]}}],
                    "idempotency_key": f"bench:{n}", "status": "delivered", "attempts": 1,
                    "next_attempt_at": at, "created_at": at, "delivered_at": at,
                })
            conn.execute(insert(store.TicketRow), tickets)
            conn.execute(insert(store.DecisionRow), decisions)
            conn.execute(insert(store.OutboxRow), outbox)
        conn.execute(text("ANALYZE"))


def _plans(s: Any) -> dict[str, list[str]]:
    """How SQLite reads the list's queries: from the indexes, never a scan of tickets."""
    queries = {
        "page": "SELECT id FROM tickets WHERE tier IS NOT NULL "
                "ORDER BY tier DESC, updated_at DESC, id DESC LIMIT 50",
        "demo page": "SELECT id FROM tickets WHERE tenant_id = 1 AND tier IS NOT NULL "
                     "ORDER BY tier DESC, updated_at DESC, id DESC LIMIT 50",
        "demo search count": "SELECT tier, count(*) FROM tickets WHERE tenant_id IN (1) "
                             "AND search_text LIKE '%refund%' GROUP BY tier",
        "demo filter count": "SELECT tier, count(*) FROM tickets WHERE tenant_id IN (1) "
                             "AND status = 'pending' AND category = 'bug' GROUP BY tier",
        "writes": "SELECT id FROM outbox WHERE ticket_id IN (1, 2, 3)",
    }
    return {name: [row[-1] for row in s.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
            for name, sql in queries.items()}


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1), result


def main() -> None:
    """Fill a database, then time the page and the store's queries."""
    with tempfile.TemporaryDirectory(prefix="escalade-bench-") as tmp:
        tmp = os.environ.get("ESCALADE_BENCH_DIR") or tmp
        url = f"sqlite:///{tmp}/bench.db"
        store.upgrade(url)
        app = create_app({"VAR_DIR": Path(tmp) / "var", "DATABASE_URL": url, "WORKERS": 0,
                          "LOG_LEVEL": "WARNING"})
        runtime = app.extensions["escalade"]
        now = datetime.now(UTC)
        with store.session_scope(runtime.sessions) as s:
            ids = [store.add_tenant(s, slug=slug, name=slug, helpdesk="sandbox", base_url=None,
                                    secrets={"webhook_secret": "x" * 32}, settings={},
                                    cipher=runtime.cipher).id for slug in ("demo", "acme")]
        started = time.perf_counter()
        _fill(runtime, ids, now)
        filled = time.perf_counter() - started

        statements: list[str] = []
        event.listen(runtime.engine, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        client = app.test_client()
        pages: dict[str, Any] = {}
        for name, query in (
            ("first page", "/"),
            ("page 1000", "/?page=1000"),
            ("tier 3", "/?tier=3"),
            ("status pending, category bug", "/?status=pending&category=bug"),
            ("search subject", "/?q=refund+problem+number+12"),
            ("search account", "/?q=company+898"),
            ("search, no match", "/?q=nothing-like-this"),
        ):
            statements.clear()
            ms, response = _timed(partial(client.get, query))
            assert response.status_code == 200, (query, response.status_code)
            pages[name] = {"ms": ms, "sql_statements": len(statements) // RUNS,
                           "rows": response.get_data(as_text=True).count('<tr class="tier-')}
        everyone: dict[str, Any] = {}
        with store.session_scope(runtime.sessions) as s:
            for name, filters, offset in (
                ("first page", store.TicketFilter(), 0),
                ("page 1000", store.TicketFilter(), 49_950),
                ("status open", store.TicketFilter(status="open"), 0),
                ("search", store.TicketFilter(search="company 899"), 0),
            ):
                ms, page = _timed(partial(store.ticket_page, s, filters, offset=offset))
                story_ms, _ = _timed(partial(store.ticket_stories, s, [r.id for r in page.rows]))
                everyone[name] = {"ms": ms, "stories_ms": story_ms, "total": page.total}
            plans = _plans(s)
        print(json.dumps({
            "benchmark": "start_page", "tickets": TICKETS, "tenants": 2,
            "fill_seconds": round(filled, 1), "runs": RUNS,
            "public_page_median": pages, "store_every_tenant_median": everyone,
            "query_plans": plans,
        }))


if __name__ == "__main__":
    main()
