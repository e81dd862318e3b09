"""Benchmark the dashboard's queries over a million decided tickets. Prints ONE JSON object.

    python bench/dashboard.py                                   # 1,000,000 tickets, SQLite
    ESCALADE_BENCH_TICKETS=100000 python bench/dashboard.py     # smaller
    ESCALADE_BENCH_DATABASE_URL=postgresql+psycopg://u:pw@127.0.0.1/db python bench/dashboard.py
    ESCALADE_BENCH_REUSE=1 ESCALADE_BENCH_DATABASE_URL=... python bench/dashboard.py  # again

The database is the embedded default (SQLite, WAL) in a temporary folder unless
``ESCALADE_BENCH_DATABASE_URL`` names an empty PostgreSQL database. One workspace gets the
tickets, spread over the last year: each is one of 4,000 kinds of ticket
(``ESCALADE_BENCH_KINDS``: skewed plans, ARR, channels, categories, tiers, hours, triggers,
pages, groups, SLA outcomes, ratings) on a random day, and has one decision. Tickets,
decisions and facts go straight to the driver (COPY on PostgreSQL), not through the
pipeline; the rollups are the facts' ``contributions`` summed, written with the same upsert
the decisions use. Each query the page runs is timed (median of ``ESCALADE_BENCH_RUNS``)
for the last 30 days, 13 weeks and 12 months, filtered by plan, and for every workspace at
once; so is each chosen period (days picked by hand, as the reports read them), and the
breakdowns of each chosen period under filters (helpdesk and tier, plan, channel and
category, every filter at once); every key ending in ``_ms`` is one query's time.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration import store  # noqa: E402
from integration.analytics.facts import (  # noqa: E402
    KINDS,
    MEASURES,
    Fact,
    contributions,
    fact_of,
    week_of,
)
from integration.period_report import read_period  # noqa: E402
from integration.store.dashboard import (  # noqa: E402
    DashboardFilter,
    DashboardRollupRow,
    breakdown_rows,
    period_breakdowns,
    segment_days,
    series_rows,
    total_rows,
    write_rollups,
)
from integration.store.dashboard import _fact_values as fact_values  # noqa: E402

TICKETS = int(os.environ.get("ESCALADE_BENCH_TICKETS", "1000000"))
RUNS = int(os.environ.get("ESCALADE_BENCH_RUNS", "5"))
# Time the queries again on a PostgreSQL database an earlier run of today filled.
REUSE = os.environ.get("ESCALADE_BENCH_REUSE") == "1"
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


# Distinct kinds of ticket; each ticket is one of them on some day.
PROFILES = int(os.environ.get("ESCALADE_BENCH_KINDS", "4000"))


def _pick(rng: random.Random, table: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(table, weights=[row[1] for row in table])[0]


@dataclass(frozen=True, kw_only=True, slots=True)
class Profile:
    """A kind of ticket: everything but its id and day, ready to insert."""

    tier: int
    category: str
    hour: int
    data: str
    clock: str
    triggers: str
    fact: Fact


def _profile(rng: random.Random, n: int, tenant_id: int) -> Profile:
    plan, _, arr = _pick(rng, PLANS)
    tier = _pick(rng, TIERS)[0]
    category = _pick(rng, CATEGORIES)[0]
    triggers = rng.sample(TRIGGERS, k=rng.choice((0, 0, 0, 1, 1, 2))) if tier > 1 else []
    solved = rng.random() < 0.8
    page = rng.choice(PAGES)
    data = {
        "channel": _pick(rng, CHANNELS)[0], "status": "solved" if solved else "open",
        "group": GROUPS[n % 4],
        "account": {"id": f"org-{n}", "plan": plan,
                    "arr": None if arr is None else arr * rng.uniform(0.5, 2)},
        "page_url": f"https://app.example.com{page}/x" if page else None,
        "csat": round(rng.random(), 2) if rng.random() < 0.3 else None,
        "custom": {"first_reply_minutes": rng.randint(5, 600),
                   **({"resolution_minutes": rng.randint(30, 6000)} if solved else {})},
    }
    clock = {"state": "done" if solved else "ok",
             "metrics": [{"breached_at": "x" if rng.random() < 0.15 * tier else None}]}
    hour = rng.choices(range(24), weights=HOURS)[0]
    created = datetime(2026, 1, 5, hour, tzinfo=ZONE)
    fact = fact_of(ticket_id=0, tenant_id=tenant_id, helpdesk="zendesk", created_at=created,
                   tier=tier, category=category, data=data, timeline=None, clock=clock,
                   sla_state=None, triggers=triggers, group=None,
                   first_seen=created - timedelta(days=rng.choice((3, 45, 200, 700))),
                   zone=ZONE)
    return Profile(tier=tier, category=category, hour=hour, data=json.dumps(data),
                   clock=json.dumps(clock), triggers=json.dumps(triggers), fact=fact)


class Writer:
    """Rows straight to the driver: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    def when(self, value: datetime) -> Any:
        """A UTC time as the table stores it."""
        return value if self.postgres else f"{value:%Y-%m-%d %H:%M:%S}.000000"

    def rows(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (``columns`` in order)."""
        names = ", ".join(columns)
        if self.postgres:
            raw = self._conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            self._conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


TICKET_COLUMNS = ("id", "tenant_id", "helpdesk", "external_id", "data", "account_key",
                  "requester_key", "status", "tier", "priority", "category", "sla_clock",
                  "created_at", "updated_at")
DECISION_COLUMNS = ("id", "tenant_id", "ticket_id", "cause", "decided_at", "matrix_version",
                    "tier", "priority", "category", "sentiment", "triggers", "signals",
                    "rules", "route")
FACT_COLUMNS = tuple(fact_values(fact_of(
    ticket_id=0, tenant_id=0, helpdesk="", created_at=datetime(2026, 1, 1, tzinfo=UTC), tier=1,
    category="", data={}, timeline=None, clock=None, sla_state=None, triggers=(), group=None,
    first_seen=None, zone=UTC)))


def _batch(writer: Writer, profiles: list[Profile], picks: list[tuple[int, int, int]],
           midnights: list[datetime], days: list[date]) -> None:
    tickets, decisions, facts = [], [], []
    for n, p, offset in picks:
        profile = profiles[p]
        at = writer.when(midnights[offset] + timedelta(hours=profile.hour, minutes=n % 60))
        tenant_id = profile.fact.tenant_id
        tickets.append((n, tenant_id, "zendesk", str(n), profile.data, f"account:org-{p}",
                        f"email:p{n}@x.example", "solved", profile.tier, "high",
                        profile.category, profile.clock, at, at))
        decisions.append((n, tenant_id, n, "event", at, "bench", profile.tier, "high",
                          profile.category, 0.0, profile.triggers, "{}", "[]", "{}"))
        values = fact_values(replace(profile.fact, ticket_id=n, day=days[offset]))
        values["day"] = values["day"] if writer.postgres else values["day"].isoformat()
        facts.append(tuple(values.values()))
    writer.rows("tickets", TICKET_COLUMNS, tickets)
    writer.rows("decisions", DECISION_COLUMNS, decisions)
    writer.rows("dashboard_facts", FACT_COLUMNS, facts)


def _fill(engine: Any, tenant_id: int, now: datetime) -> tuple[int, float]:
    """Insert tickets, decisions and facts in bulk; sum the rollups; rollup rows, seconds."""
    rng = random.Random(7)
    started = time.perf_counter()
    profiles = [_profile(rng, n, tenant_id) for n in range(PROFILES)]
    today = now.astimezone(ZONE).date()
    days = [today - timedelta(days=offset) for offset in range(DAYS)]
    midnights = [datetime(d.year, d.month, d.day, tzinfo=ZONE).astimezone(UTC) for d in days]
    seen: Counter[tuple[int, int]] = Counter()
    with engine.begin() as conn:
        writer = Writer(conn)
        for start in range(1, TICKETS + 1, BATCH):
            picks = [(n, rng.randrange(PROFILES), rng.randrange(DAYS))
                     for n in range(start, min(start + BATCH, TICKETS + 1))]
            seen.update((p, offset) for _, p, offset in picks)
            _batch(writer, profiles, picks, midnights, days)
    sums: dict[Any, list[float]] = {}
    for (p, offset), count in seen.items():
        fact = replace(profiles[p].fact, day=days[offset])
        for key, values in contributions(fact).items():
            row = sums.setdefault(key, [0.0] * len(MEASURES))
            for i, value in enumerate(values):
                row[i] += value * count
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
        ("totals", partial(total_rows, s, f)),
        ("series", partial(series_rows, s, f, grain=grain)),
        ("breakdowns", partial(period_breakdowns, s, f, kinds=KINDS) if len(f.dimensions) > 1
         else partial(breakdown_rows, s, f, grain=grain, kinds=KINDS)),
        ("segment_days", partial(segment_days, s, spikes)),
    ):
        out[f"{query}_{name}_ms"], _ = _timed(call)
    return out


def _chosen_days(s: Any, today: date, tenant_id: int) -> dict[str, float]:
    """A chosen period that starts and ends mid-week and mid-month: every read the page and
    the exports make for it (months, weeks and leftover days), as ``period_<span>_ms``."""
    out = {}
    for name, first, last, grain in _chosen(today):
        f = DashboardFilter(tenant_ids=(tenant_id,), first=first, last=last)
        out[f"{name}_ms"], _ = _timed(partial(read_period, s, f, grain=grain, aligned=False))
    return out


def _chosen(today: date) -> tuple[tuple[str, date, date, str], ...]:
    return (
        ("period_45d", today - timedelta(days=47), today - timedelta(days=3), "d"),
        ("period_200d", today - timedelta(days=213), today - timedelta(days=14), "w"),
        ("period_340d", today - timedelta(days=350), today - timedelta(days=11), "m"),
    )


# The filters a breakdown follows: one dimension with the tier, one, two, and every one.
FILTERED: tuple[tuple[str, dict[str, Any]], ...] = (
    ("helpdesk_tier", {"helpdesk": "zendesk", "tier": 1}),
    ("plan", {"plan": "free"}),
    ("channel_category", {"channel": "email", "category": "how_to"}),
    ("all_filters", {"helpdesk": "zendesk", "plan": "pro", "arr_band": "50k_200k",
                     "channel": "email", "category": "billing", "tier": 2}),
)


def _filtered_breakdowns(s: Any, today: date, tenant_id: int) -> dict[str, float]:
    """Each chosen period's breakdowns under each filter, as the page reads them, as
    ``breakdowns_<filter>_<period>_ms``."""
    out = {}
    for period, first, last, _ in _chosen(today):
        for name, narrow in FILTERED:
            f = DashboardFilter(tenant_ids=(tenant_id,), first=first, last=last, **narrow)
            key = f"breakdowns_{name}_{period.removeprefix('period_')}_ms"
            out[key], _ = _timed(partial(period_breakdowns, s, f, kinds=KINDS))
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
        ("13w_email_how_to", DashboardFilter(
            tenant_ids=one, first=week_of(today) - timedelta(weeks=12), last=today,
            channel="email", category="how_to"), "w"),
        ("12m_enterprise", DashboardFilter(tenant_ids=one, first=year, last=today,
                                           plan="enterprise"), "m"),
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
        now = datetime.now(UTC)
        with store.session_scope(sessions) as s:
            kept = store.get_tenant(s, "bench") if REUSE else None
            tenant_id = kept.id if kept is not None else store.add_tenant(
                s, slug="bench", name="Bench", helpdesk="zendesk",
                base_url="https://bench.zendesk.com", secrets={"webhook_secret": "x" * 32},
                settings={}, cipher=cipher).id
        if kept is None:
            rollups, filled = _fill(engine, tenant_id, now)
        else:
            # The database a run filled earlier (today): only the queries are timed again.
            with store.session_scope(sessions) as s:
                rollups = s.scalar(select(func.count()).select_from(DashboardRollupRow)) or 0
            filled = 0.0
        times: dict[str, float] = {}
        today = now.astimezone(ZONE).date()
        with store.session_scope(sessions) as s:
            for name, f, grain in _views(today, tenant_id):
                times.update(_queries(s, name, f, grain))
            times.update(_chosen_days(s, today, tenant_id))
            times.update(_filtered_breakdowns(s, today, tenant_id))
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
