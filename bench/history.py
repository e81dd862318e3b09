"""Benchmark the repeat-contact lookup (``ticket_history``) in a tenant with 1,000,000 tickets.

Prints ONE JSON object:

    python bench/history.py                                     # SQLite (WAL), 1,000,000 tickets
    ESCALADE_BENCH_TICKETS=100000 python bench/history.py       # a smaller tenant
    ESCALADE_BENCH_REQUESTERS=200000 python bench/history.py    # fewer tickets per requester
    python bench/history.py postgresql+psycopg://u:pw@host/db   # PostgreSQL too (a new schema,
                                                                #  dropped afterwards)

Every event runs this lookup once (its requester's and its account's other tickets, newest
first). By default the tenant has 20,000 requesters and 2,000 accounts, so a requester has
about 50 tickets and an account about 500: every lookup returns its full 50 per key.
Reported over 500 random keys: the one statement the lookup runs (``query_ms``: a UNION ALL
of each key's newest rows through its index, id, created_at and data through the driver), the
whole function (``lookup_ms``: the same plus building up to 50 ``Ticket`` objects in Python),
the query plans, and beside them the single ``OR`` statement the indexes replaced.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, make_url, or_, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration import store  # noqa: E402
from integration.store.tickets import history_statement, ticket_history  # noqa: E402

TICKETS = int(os.environ.get("ESCALADE_BENCH_TICKETS", "1000000"))
REQUESTERS = int(os.environ.get("ESCALADE_BENCH_REQUESTERS", "20000"))
ACCOUNTS = int(os.environ.get("ESCALADE_BENCH_ACCOUNTS", "2000"))
LOOKUPS = 500
BATCH = 20_000
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _data(n: int, created: datetime) -> dict[str, Any]:
    at = created.isoformat().replace("+00:00", "Z")
    return {
        "tenant": "bench", "helpdesk": "sandbox", "id": str(n), "subject": "Export fails",
        "status": "solved", "priority": "normal", "channel": "email", "created_at": at,
        "updated_at": at, "requester": {"id": f"u{n % REQUESTERS}", "email": None,
                                        "name": "Dana"},
        "messages": [], "tags": [], "assignee": None, "group": None, "custom": {},
    }


def _fill(engine: Any, tenant_id: int) -> float:
    started = time.perf_counter()
    rng = random.Random(7)
    with engine.begin() as conn:
        for start in range(0, TICKETS, BATCH):
            rows = []
            for n in range(start, min(start + BATCH, TICKETS)):
                created = T0 + timedelta(minutes=n)
                rows.append({
                    "tenant_id": tenant_id, "helpdesk": "sandbox", "external_id": str(n),
                    "data": _data(n, created),
                    "requester_key": f"id:sandbox:u{rng.randrange(REQUESTERS)}",
                    "account_key": f"account:a{rng.randrange(ACCOUNTS)}",
                    "status": "solved", "tier": 1, "priority": "normal", "category": "bug",
                    "created_at": created, "updated_at": created,
                })
            conn.execute(insert(store.TicketRow), rows)
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return time.perf_counter() - started


def _compiled(conn: Any, *where: Any) -> tuple[str, dict[str, Any], list[str] | None]:
    # The statement ticket_history runs per key (full rows), compiled once like SQLAlchemy's
    # statement cache does, to be run through the driver: no Python-side decoding timed.
    table = store.TicketRow.__table__
    statement = (select(table).where(table.c.tenant_id == bindparam("tenant"),
                                     table.c.external_id != bindparam("exclude"), *where)
                 .order_by(table.c.created_at.desc(), table.c.id.desc()).limit(50))
    compiled = statement.compile(dialect=conn.dialect)
    return str(compiled), compiled.params, (
        list(compiled.positiontup) if compiled.positiontup else None)


def _run_sql(conn: Any, sql: tuple[str, dict[str, Any], list[str] | None], **params: Any
             ) -> int:
    text_, defaults, order = sql
    merged = {**defaults, **params}
    values: Any = tuple(merged[name] for name in order) if order is not None else merged
    return len(conn.exec_driver_sql(text_, values).all())


def _measure(engine: Any, factory: Any, tenant_id: int) -> dict[str, Any]:
    rng = random.Random(11)
    keys = [(f"id:sandbox:u{rng.randrange(REQUESTERS)}", f"account:a{rng.randrange(ACCOUNTS)}")
            for _ in range(LOOKUPS)]
    timings, found = [], []
    with store.session_scope(factory) as s:
        ticket_history(s, tenant_id=tenant_id, requester_key=keys[0][0],
                       account_key=keys[0][1], exclude_id="new")  # warm the caches
        for requester, account in keys:
            started = time.perf_counter()
            history = ticket_history(s, tenant_id=tenant_id, requester_key=requester,
                                     account_key=account, exclude_id="new")
            timings.append((time.perf_counter() - started) * 1000)
            found.append(len(history))
    table = store.TicketRow.__table__
    with engine.connect() as conn:
        either = _compiled(conn, or_(table.c.requester_key == bindparam("requester"),
                                     table.c.account_key == bindparam("account")))
        common = {"tenant": tenant_id, "exclude": "new"}

        # The statement ticket_history runs, compiled once as the statement cache does, its
        # keys put in by name; rows through the driver, not decoded.
        template = history_statement(tenant_id=tenant_id, requester_key="<requester>",
                                     account_key="<account>", exclude_id="new")
        compiled = template.compile(dialect=conn.dialect)  # type: ignore[union-attr]
        order = list(compiled.positiontup) if compiled.positiontup else None
        slots = {value: name for name, value in compiled.params.items()
                 if value in ("<requester>", "<account>")}

        def one_statement(requester: str, account: str) -> int:
            values = {slots["<requester>"]: requester, slots["<account>"]: account}
            return _run_sql(conn, (str(compiled), compiled.params, order), **values)

        def or_query(requester: str, account: str) -> int:
            return _run_sql(conn, either, requester=requester, account=account, **common)

        one_statement(*keys[0])  # compile once, as the statement cache does in the app
        queries = [_timed(one_statement, *pair) for pair in keys]
        ors = [_timed(or_query, *pair) for pair in keys]
    return {
        "query_ms": _summary(queries),
        "lookup_ms": _summary(timings),
        "tickets_returned_mean": round(statistics.mean(found), 1),
        "or_query_ms": _summary(ors),
    }


def _timed(fn: Any, *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - started) * 1000


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(ordered[len(ordered) // 2], 3),
            "p95": round(ordered[int(len(ordered) * 0.95)], 3),
            "max": round(ordered[-1], 3)}


def _plans(engine: Any, tenant_id: int) -> list[str]:
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    statement = history_statement(tenant_id=tenant_id, requester_key="id:sandbox:u1",
                                  account_key="account:a1", exclude_id="new")
    compiled = statement.compile(dialect=engine.dialect)  # type: ignore[union-attr]
    params: Any = compiled.params
    if compiled.positiontup:
        params = tuple(compiled.params[name] for name in compiled.positiontup)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"{explain}{compiled}", params)
        return [str(r[-1]) for r in rows]


def _run(url: str) -> dict[str, Any]:
    store.upgrade(url)
    engine = store.make_engine(url)
    try:
        factory = store.make_session_factory(engine)
        with store.session_scope(factory) as s:
            tenant = store.TenantRow(slug="bench", name="Bench", helpdesk="sandbox",
                                     base_url=None, secrets="", settings={},
                                     created_at=datetime.now(UTC))
            s.add(tenant)
            s.flush()
            tenant_id = tenant.id
        fill_s = _fill(engine, tenant_id)
        result = {"tickets": TICKETS, "fill_seconds": round(fill_s, 1),
                  **_measure(engine, factory, tenant_id), "query_plans": _plans(engine, tenant_id)}
    finally:
        engine.dispose()
    return result


def _postgres(base: str) -> dict[str, Any]:
    schema = f"escalade_bench_{secrets.token_hex(4)}"
    admin = store.make_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        return _run(url.render_as_string(hide_password=False))
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def main() -> None:
    """Fill a tenant, time the lookups, print one JSON object."""
    report: dict[str, Any] = {"benchmark": "ticket_history", "aim": {"query_ms_below": 1},
                              "requesters": REQUESTERS, "accounts": ACCOUNTS}
    with tempfile.TemporaryDirectory() as tmp:
        report["sqlite"] = _run(f"sqlite:///{tmp}/bench.db")
    if len(sys.argv) > 1:
        report["postgresql"] = _postgres(sys.argv[1])
    print(json.dumps(report))


if __name__ == "__main__":
    main()
