"""Benchmark the dashboard's queries over a million decided tickets. Prints ONE JSON object.

    python bench/dashboard.py                                   # 1,000,000 tickets, SQLite
    ESCALADE_BENCH_TICKETS=100000 python bench/dashboard.py     # smaller
    ESCALADE_BENCH_DATABASE_URL=postgresql+psycopg://u:pw@127.0.0.1/db python bench/dashboard.py

The database is the embedded default (SQLite, WAL) in a temporary folder unless
``ESCALADE_BENCH_DATABASE_URL`` names an empty PostgreSQL database. One workspace gets the
tickets, spread over the last year with skewed plans, channels, categories, tiers, hours and
triggers; each ticket has one decision. Tickets, decisions and facts are inserted in bulk
(not through the pipeline); the rollups are the facts' ``contributions`` summed, written
with the same upsert the decisions use. Each query the page runs is timed (median of
``ESCALADE_BENCH_RUNS``) for the last 30 days, 13 weeks and 12 months, filtered by plan, and
for every workspace at once; every key ending in ``_ms`` is one query's time.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration import store  # noqa: E402
from integration.analytics.facts import (  # noqa: E402
    KINDS,
    MEASURES,
    contributions,
    fact_of,
    week_of,
)
from integration.store.dashboard import (  # noqa: E402
    DashboardFactRow,
    DashboardFilter,
    DashboardRollupRow,
    breakdown_rows,
    segment_days,
    series_rows,
    total_rows,
    write_rollups,
)
from integration.store.dashboard import _fact_values as fact_values  # noqa: E402

TICKETS = int(os.environ.get("ESCALADE_BENCH_TICKETS", "1000000"))
RUNS = int(os.environ.get("ESCALADE_BENCH_RUNS", "5"))
DAYS = 365
BATCH = 20_000
ZONE = ZoneInfo("Europe/Berlin")
PLANS = (("free", 30, 0), ("starter", 30, 6_000), ("pro", 25, 40_000),
         ("enterprise", 10, 250_000), (None, 5, None))
CHANNELS = (("email", 50), ("web", 20), ("chat", 20), ("phone", 5), ("api", 5))
CATEGORIES = (("how_to", 25), ("billing", 15), ("bug", 15), ("account_access", 10),
              ("feature_request", 8), ("onboarding", 6), ("refund", 5), ("outage", 4),
              ("cancellation", 4), ("security", 3), ("legal", 2), ("other", 3))
TIERS = ((1, 60), (2, 28), (3, 12))
TRIGGERS = ("churn", "refund", "legal", "outage", "security", "angry", "repeat", "vip")
PAGES = ("/billing", "/settings", "/reports", "/integrations", "/users", "/api", None, None)
GROUPS = ("support", "billing", "escalations", "onboarding")
HOURS = [1] * 7 + [4, 8, 9, 9, 8, 6, 8, 9, 8, 7, 5, 3, 2, 2, 1, 1, 1]


def _pick(rng: random.Random, table: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(table, weights=[row[1] for row in table])[0]


def _one(rng: random.Random, n: int, tenant_id: int, now: datetime) -> tuple[dict[str, Any],
                                                                             dict[str, Any], Any]:
    day = (now - timedelta(days=rng.randrange(DAYS))).astimezone(ZONE)
    created = day.replace(hour=rng.choices(range(24), weights=HOURS)[0],
                          minute=rng.randrange(60)).astimezone(UTC)
    plan, _, arr = _pick(rng, PLANS)
    tier = _pick(rng, TIERS)[0]
    category = _pick(rng, CATEGORIES)[0]
    triggers = rng.sample(TRIGGERS, k=rng.choice((0, 0, 0, 1, 1, 2))) if tier > 1 else []
    solved = rng.random() < 0.8
    data = {
        "channel": _pick(rng, CHANNELS)[0], "status": "solved" if solved else "open",
        "group": GROUPS[n % 4],
        "account": {"id": f"org-{n % 5000}", "plan": plan,
                    "arr": None if arr is None else arr * rng.uniform(0.5, 2)},
        "page_url": (f"https://app.example.com{page}/x" if (page := rng.choice(PAGES))
                     else None),
        "csat": round(rng.random(), 2) if rng.random() < 0.3 else None,
        "custom": {"first_reply_minutes": rng.randint(5, 600),
                   **({"resolution_minutes": rng.randint(30, 6000)} if solved else {})},
    }
    clock = {"state": "done" if solved else "ok",
             "metrics": [{"breached_at": "x" if rng.random() < 0.15 * tier else None}]}
    ticket = {"id": n, "tenant_id": tenant_id, "helpdesk": "zendesk", "external_id": str(n),
              "data": data, "account_key": f"account:org-{n % 5000}",
              "requester_key": f"email:p{n}@x.example", "status": data["status"],
              "tier": tier, "priority": "high", "category": category, "sla_state": None,
              "sla_clock": clock, "created_at": created, "updated_at": created}
    decision = {"id": n, "tenant_id": tenant_id, "ticket_id": n, "cause": "event",
                "decided_at": created, "matrix_version": "bench", "tier": tier,
                "priority": "high", "category": category, "sentiment": 0.0,
                "triggers": triggers, "signals": {}, "route": {}, "rules": []}
    fact = fact_of(ticket_id=n, tenant_id=tenant_id, helpdesk="zendesk", created_at=created,
                   tier=tier, category=category, data=data, timeline=None, clock=clock,
                   sla_state=None, triggers=triggers, group=None,
                   first_seen=now - timedelta(days=DAYS + (n % 5000) % 400), zone=ZONE)
    return ticket, decision, fact


def _fill(engine: Any, tenant_id: int, now: datetime) -> tuple[int, float]:
    """Insert tickets, decisions and facts in bulk; sum the rollups; rollup rows, seconds."""
    rng = random.Random(7)
    sums: dict[Any, list[float]] = {}
    started = time.perf_counter()
    with engine.begin() as conn:
        for start in range(1, TICKETS + 1, BATCH):
            rows = [_one(rng, n, tenant_id, now) for n in range(start, min(start + BATCH,
                                                                          TICKETS + 1))]
            conn.execute(insert(store.TicketRow), [r[0] for r in rows])
            conn.execute(insert(store.DecisionRow), [r[1] for r in rows])
            conn.execute(insert(DashboardFactRow), [fact_values(r[2]) for r in rows])
            for _, _, fact in rows:
                for key, values in contributions(fact).items():
                    row = sums.setdefault(key, [0.0] * len(MEASURES))
                    for i, value in enumerate(values):
                        row[i] += value
    with store.session_scope(store.make_session_factory(engine)) as s:
        write_rollups(s, {k: tuple(v) for k, v in sums.items()})
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return len(sums), time.perf_counter() - started


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1), result


def _queries(s: Any, name: str, f: DashboardFilter, grain: str) -> dict[str, float]:
    """The page's four queries for one view, as ``<query>_<view>_ms``."""
    spikes = DashboardFilter(**{**{k: getattr(f, k) for k in DashboardFilter.__dataclass_fields__},
                                "first": (f.last or date.today()) - timedelta(days=104)})
    out = {}
    for query, call in (
        ("totals", partial(total_rows, s, f, grain=grain)),
        ("series", partial(series_rows, s, f, grain=grain)),
        ("breakdowns", partial(breakdown_rows, s, f, grain=grain, kinds=KINDS)),
        ("segment_days", partial(segment_days, s, spikes)),
    ):
        out[f"{query}_{name}_ms"], _ = _timed(call)
    return out


def _views(today: date, tenant_id: int) -> list[tuple[str, DashboardFilter, str]]:
    one = (tenant_id,)
    year = date(today.year - 1, today.month, 1) if today.month == 12 else date(
        today.year - 1, today.month + 1, 1)
    return [
        ("30d", DashboardFilter(tenant_ids=one, first=today - timedelta(days=29), last=today),
         "d"),
        ("13w", DashboardFilter(tenant_ids=one, first=week_of(today) - timedelta(weeks=12),
                                last=today), "w"),
        ("12m", DashboardFilter(tenant_ids=one, first=year, last=today), "m"),
        ("30d_enterprise", DashboardFilter(tenant_ids=one, first=today - timedelta(days=29),
                                           last=today, plan="enterprise"), "d"),
        ("30d_every_workspace", DashboardFilter(first=today - timedelta(days=29), last=today),
         "d"),
    ]


def main() -> None:
    """Fill a database, then time each of the dashboard's queries."""
    with tempfile.TemporaryDirectory(prefix="escalade-bench-") as tmp:
        url = os.environ.get("ESCALADE_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        store.upgrade(url)
        engine = store.make_engine(url)
        sessions = store.make_session_factory(engine)
        from cryptography.fernet import Fernet

        from integration.crypto import SecretCipher

        cipher = SecretCipher([Fernet.generate_key().decode()])
        with store.session_scope(sessions) as s:
            tenant_id = store.add_tenant(s, slug="bench", name="Bench", helpdesk="zendesk",
                                         base_url="https://bench.zendesk.com",
                                         secrets={"webhook_secret": "x" * 32}, settings={},
                                         cipher=cipher).id
        now = datetime.now(UTC)
        rollups, filled = _fill(engine, tenant_id, now)
        times: dict[str, float] = {}
        with store.session_scope(sessions) as s:
            for name, f, grain in _views(now.astimezone(ZONE).date(), tenant_id):
                times.update(_queries(s, name, f, grain))
            stored = s.scalar(select(func.count()).select_from(DashboardRollupRow))
        print(json.dumps({
            "benchmark": "dashboard", "database": engine.dialect.name, "tickets": TICKETS,
            "days": DAYS, "rollup_rows": stored, "rollup_keys": rollups,
            "fill_seconds": round(filled, 1), "runs": RUNS,
            "slowest_ms": max(times.values()), **times,
        }))
        engine.dispose()


if __name__ == "__main__":
    main()
