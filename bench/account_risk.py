"""Benchmark at-risk scoring: one workspace's accounts scored, as the scheduler and the page do.

A workspace of ``ESCALADE_BENCH_ACCOUNTS`` accounts with ``ESCALADE_BENCH_TICKETS`` tickets
each spread over the last 120 days (a third decided, with a sentiment, some Tier 3 still
open) is built in the embedded database (SQLite, WAL) in a temporary folder. Measured: the
list page's scoring of every account, the scheduler's first round (every account's state
written) and a second round (nothing changed), and one account's page. Prints ONE JSON object.

    python bench/account_risk.py                                   # 2,000 accounts x 25
    ESCALADE_BENCH_ACCOUNTS=200 python bench/account_risk.py
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration import store  # noqa: E402
from integration.account_risk import RiskPolicy  # noqa: E402
from integration.account_watch import watch_accounts, workspace_scores  # noqa: E402
from integration.store.accounts import account_timeline  # noqa: E402
from integration.web import create_app  # noqa: E402

ACCOUNTS = int(os.environ.get("ESCALADE_BENCH_ACCOUNTS", "2000"))
TICKETS = int(os.environ.get("ESCALADE_BENCH_TICKETS", "25"))


def _ticket_rows(tenant_id: int, now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for a in range(ACCOUNTS):
        account = {"id": f"acc-{a}", "name": f"Account {a}", "arr": rng.choice([0, 12000, 90000]),
                   "owner": f"owner{a % 40}@ourco.example",
                   "renewal_date": (now + timedelta(days=rng.randint(-30, 300))).date().isoformat()}
        for n in range(TICKETS):
            created = now - timedelta(days=rng.uniform(0, 120))
            tier = rng.choice([1, 1, 2, 3])
            rows.append({
                "tenant_id": tenant_id, "helpdesk": "sandbox", "external_id": f"{a}-{n}",
                "data": {"subject": f"Ticket {n}", "account": account},
                "requester_key": f"email:r{a}@x.example", "account_key": f"account:acc-{a}",
                "status": rng.choice(["open", "solved", "solved"]), "tier": tier,
                "priority": "normal", "category": "how_to", "created_at": created,
                "updated_at": created,
            })
    return rows


def _fill(runtime: Any, tenant_id: int, now: datetime) -> int:
    rng = random.Random(7)
    with runtime.engine.begin() as conn:
        conn.execute(insert(store.TicketRow), _ticket_rows(tenant_id, now, rng))
        ids = conn.execute(select(store.TicketRow.id, store.TicketRow.created_at)).all()
        decided = [(i, c) for i, c in ids if i % 3 == 0]
        conn.execute(insert(store.DecisionRow), [
            {"tenant_id": tenant_id, "ticket_id": i, "cause": "event",
             "decided_at": c + timedelta(minutes=5), "matrix_version": "bench", "tier": 2,
             "priority": "normal", "category": "how_to", "sentiment": rng.uniform(-0.9, 0.4),
             "triggers": [], "signals": {"engagement_trend": rng.choice([None, 0.5, 1.1])},
             "rules": [], "route": {}}
            for i, c in decided])
    return len(ids)


def _timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return round((time.perf_counter() - started) * 1000, 1), result


def main() -> None:
    """Build the workspace, time the scoring paths; print JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        store.upgrade(url)
        app = create_app({"DATABASE_URL": url, "VAR_DIR": tmp, "WORKERS": 0,
                          "LOG_LEVEL": "WARNING"})
        runtime = app.extensions["escalade"]
        with store.session_scope(runtime.sessions) as s:
            tenant = store.add_tenant(s, slug="bench", name="Bench", helpdesk="sandbox",
                                      base_url=None, secrets={"webhook_secret": "x"},
                                      settings={}, cipher=runtime.cipher)
            tenant_id = tenant.id
        now = datetime.now(UTC)
        tickets = _fill(runtime, tenant_id, now)

        def page() -> list[Any]:
            with store.session_scope(runtime.sessions) as s:
                return workspace_scores(s, tenant_id=tenant_id, now=now, policy=RiskPolicy())

        def one() -> list[Any]:
            with store.session_scope(runtime.sessions) as s:
                scores = workspace_scores(s, tenant_id=tenant_id, now=now, policy=RiskPolicy(),
                                          account_id="acc-7")
                account_timeline(s, tenant_id=tenant_id, account_id="acc-7")
                return scores

        list_ms, scores = _timed(page)
        first_ms, first = _timed(lambda: watch_accounts(runtime, now))
        second_ms, second = _timed(lambda: watch_accounts(runtime, now))
        account_ms, _ = _timed(one)
        print(json.dumps({
            "accounts": ACCOUNTS, "tickets": tickets, "scored": len(scores),
            "at_risk": first.above, "list_page_scoring_ms": list_ms,
            "scheduler_first_round_ms": first_ms, "scheduler_unchanged_round_ms": second_ms,
            "unchanged_round_writes": second.alerted, "account_page_ms": account_ms,
        }))
        runtime.engine.dispose()


if __name__ == "__main__":
    main()
