"""Benchmark the SLA sweep: one sweep over 1,000 due tickets among 1,000,000 open ones, and
the breach-to-promotion latency under a running scheduler. Prints ONE JSON object.

    python bench/sla_sweep.py                                # 1,000,000 open, 1,000 due
    ESCALADE_BENCH_OPEN=100000 python bench/sla_sweep.py     # smaller database
    ESCALADE_BENCH_INTERVAL=15 python bench/sla_sweep.py     # the scheduler's interval (s)
    ESCALADE_BENCH_DATABASE_URL=postgresql+psycopg://... python bench/sla_sweep.py

Every run measures the embedded default (SQLite, WAL) in a temporary folder; with
``ESCALADE_BENCH_DATABASE_URL`` (an empty PostgreSQL database) it measures that too. Open
tickets are
inserted in bulk with their next SLA step in the future; the due ones are real Tier-2 tickets
(stored clock, timeline, decision) whose due time has passed, so the sweep takes the
promotion path: conditional update, a ``sla_breach`` decision and the outbox rows. The
sweep's query plan is printed too (it must use ``ix_tickets_sla_next_at``, not a scan).
``sweep_cpu_ms`` is the sweep's CPU time in this process (steadier than wall time on a busy
machine; the database server's time is not in it). Latency is from each ticket's due time to
the moment its promotion is committed (polled every 50 ms), over ``LATENCY_TICKETS`` due
times spread over one scheduler interval.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, make_url, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration import store  # noqa: E402
from integration.clocks import sla_fields  # noqa: E402
from integration.models import Ticket, Tier  # noqa: E402
from integration.web import create_app  # noqa: E402
from scheduler import build_scheduler, sla_sweep  # noqa: E402

OPEN = int(os.environ.get("ESCALADE_BENCH_OPEN", "1000000"))
DUE = int(os.environ.get("ESCALADE_BENCH_DUE", "1000"))
INTERVAL = float(os.environ.get("ESCALADE_BENCH_INTERVAL", "15"))
LATENCY_TICKETS = 20
BATCH = 50_000


def _ticket(n: int, created: datetime) -> dict[str, Any]:
    at = created.isoformat().replace("+00:00", "Z")
    return {
        "tenant": "bench", "helpdesk": "sandbox", "id": f"due-{n}",
        "subject": "Wrong VAT on invoice", "status": "open", "priority": "normal",
        "channel": "email", "created_at": at, "updated_at": at,
        "requester": {"id": f"u{n}", "email": f"lee{n}@shop.example", "name": "Lee"},
        "messages": [{"id": f"m{n}", "author": "customer", "public": True,
                      "body": "Please correct the VAT on invoice INV-2291.", "created_at": at}],
        "tags": [], "assignee": None, "group": None, "custom": {},
    }


def _fill(runtime: Any, tenant_id: int, now: datetime) -> None:
    later = now + timedelta(days=30)
    with runtime.engine.begin() as conn:
        for start in range(0, OPEN, BATCH):
            conn.execute(insert(store.TicketRow), [
                {"tenant_id": tenant_id, "helpdesk": "sandbox", "external_id": f"open-{n}",
                 "data": {}, "requester_key": f"email:r{n}@x.example", "account_key": None,
                 "status": "open", "tier": 1, "priority": "normal", "category": "how_to",
                 "sla_due_at": later, "sla_state": "ok", "sla_warn_at": later,
                 "sla_next_at": later + timedelta(seconds=n % 86_400),
                 "created_at": now, "updated_at": now}
                for n in range(start, min(start + BATCH, OPEN))
            ])


def _due(runtime: Any, tenant_id: int, count: int, *, created: datetime, now: datetime,
         prefix: str) -> None:
    matrix = runtime.matrix
    with store.session_scope(runtime.sessions) as s:
        for n in range(count):
            data = _ticket(n, created)
            data["id"] = f"{prefix}-{n}"
            ticket = Ticket.from_dict(data)
            row = store.upsert_ticket(s, tenant_id=tenant_id, ticket=ticket, tier=2,
                                      priority="high", category="billing", sla_due_at=None,
                                      input_fingerprint=None)
            sla = sla_fields(matrix, ticket, tier=Tier.TWO, timeline=None, previous_state=None,
                             previous_due=None, now=now)
            store.save_sla(s, row, state=sla.state.value, due_at=sla.due_at,
                           warn_at=sla.warn_at, next_at=sla.due_at, clock=sla.clock,
                           timeline=sla.timeline)


def main() -> None:
    """Measure SQLite (and PostgreSQL when given); print one JSON object."""
    backends: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        backends["sqlite"] = _measure(f"sqlite:///{tmp}/bench.db", tmp)
        url = os.environ.get("ESCALADE_BENCH_DATABASE_URL")
        if url:
            backends[make_url(url).get_backend_name()] = _measure(url, tmp)
    print(json.dumps({
        "benchmark": "sla_sweep",
        "open": OPEN,
        "due": DUE,
        "scheduler_interval_s": INTERVAL,
        "backends": backends,
        "aim": {"sweep_ms_below": 250, "latency_below_s": INTERVAL + 1},
    }))


def _measure(url: str, tmp: str) -> dict[str, Any]:
    """Fill one database, time one sweep and an empty one, then the promotion latency."""
    store.upgrade(url)
    app = create_app({"DATABASE_URL": url, "VAR_DIR": tmp, "WORKERS": 0,
                      "LOG_LEVEL": "WARNING"})
    runtime = app.extensions["escalade"]
    try:
        with store.session_scope(runtime.sessions) as s:
            if s.scalar(select(func.count()).select_from(store.TicketRow)):
                raise SystemExit(f"bench/sla_sweep.py: {make_url(url).render_as_string()} "
                                 "already holds tickets; give it an empty database")
            tenant = store.add_tenant(s, slug="bench", name="Bench", helpdesk="sandbox",
                                      base_url=None, secrets={"webhook_secret": "x"},
                                      settings={}, cipher=runtime.cipher)
            tenant_id = tenant.id
        now = datetime.now(UTC)
        started = time.perf_counter()
        _fill(runtime, tenant_id, now)
        # Created three days ago: every Tier-2 window has passed, on any calendar day.
        _due(runtime, tenant_id, DUE, created=now - timedelta(days=3), now=now, prefix="due")
        fill_s = time.perf_counter() - started
        plan, total = _plan(runtime, now)
        sweep_at = datetime.now(UTC)
        t, cpu = time.perf_counter(), time.process_time()
        report = sla_sweep(runtime, sweep_at, limit=DUE)
        sweep_ms, sweep_cpu_ms = ((time.perf_counter() - t) * 1000,
                                  (time.process_time() - cpu) * 1000)
        t = time.perf_counter()
        empty = sla_sweep(runtime, sweep_at, limit=DUE)
        empty_ms = (time.perf_counter() - t) * 1000
        latencies = sorted(_latency(runtime, tenant_id))
        return {
            "tickets_in_db": total,
            "fill_seconds": round(fill_s, 1),
            "sweep_ms": round(sweep_ms, 1),
            "sweep_cpu_ms": round(sweep_cpu_ms, 1),
            "sweep_promoted": report.promoted,
            "sweep_errors": len(report.errors),
            "empty_sweep_ms": round(empty_ms, 2),
            "empty_sweep_due": empty.due,
            "query_plan": plan,
            "promotion_latency_s": {
                "p50": _pick(latencies, 0.50),
                "p99": _pick(latencies, 0.99),
                "max": round(latencies[-1], 2) if latencies else None,
                "promoted": len(latencies),
                "of": LATENCY_TICKETS,
            },
        }
    finally:
        runtime.engine.dispose()


def _pick(values: list[float], q: float) -> float | None:
    """The ``q`` quantile of sorted ``values`` (nearest rank)."""
    if not values:
        return None
    return round(values[min(len(values) - 1, max(0, round(q * len(values)) - 1))], 2)


def _plan(runtime: Any, now: datetime) -> tuple[list[str], int]:
    """The due query's plan (SQLite's or PostgreSQL's words) and the tickets stored."""
    query = ("SELECT * FROM tickets WHERE sla_next_at IS NOT NULL AND sla_next_at <= :now "
             "ORDER BY sla_next_at, id LIMIT 1000")
    with runtime.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
            plan = [str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + query),
                                                     {"now": now})]
        else:
            conn.execute(text("ANALYZE tickets"))
            plan = [str(r[0]).strip() for r in conn.execute(text("EXPLAIN " + query),
                                                            {"now": now})]
        conn.commit()
        total = int(conn.scalar(select(func.count()).select_from(store.TicketRow)) or 0)
    return plan, total


def _latency(runtime: Any, tenant_id: int) -> list[float]:
    """Seconds from each ticket's due time to its promotion, with the scheduler running."""
    now = datetime.now(UTC)
    # Overdue from the start; their stored due times are then spread over one interval from
    # a moment after the scheduler starts, so they fall at every phase of its sweeps.
    _due(runtime, tenant_id, LATENCY_TICKETS, created=now - timedelta(days=3), now=now,
         prefix="late")
    due_at: dict[str, datetime] = {}
    with store.session_scope(runtime.sessions) as s:
        rows = list(s.scalars(select(store.TicketRow).where(
            store.TicketRow.external_id.like("late-%")).order_by(store.TicketRow.id)))
        for n, row in enumerate(rows):
            at = now + timedelta(seconds=2 + INTERVAL * n / LATENCY_TICKETS)
            row.sla_due_at = row.sla_next_at = due_at[row.external_id] = at
    scheduler = build_scheduler(runtime, sweep_seconds=INTERVAL)
    scheduler.start()
    seen: dict[str, float] = {}
    deadline = time.time() + INTERVAL * 4 + 10
    try:
        while len(seen) < LATENCY_TICKETS and time.time() < deadline:
            with store.session_scope(runtime.sessions) as s:
                for ext, tier in s.execute(select(store.TicketRow.external_id,
                                                  store.TicketRow.tier).where(
                        store.TicketRow.external_id.like("late-%"))):
                    if tier == 3 and ext not in seen:
                        seen[ext] = (datetime.now(UTC) - due_at[ext]).total_seconds()
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    return list(seen.values())


if __name__ == "__main__":
    main()
