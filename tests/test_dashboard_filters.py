"""The dashboard's breakdowns follow every filter: the same counts as the facts, read from the
month rows and the days' facts, kept alike by each decision and by a rebuild."""

from __future__ import annotations

import html
import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from integration import store
from integration.analytics.facts import DIMENSIONS, KINDS, breakdown_values
from integration.store.dashboard import (
    DashboardFactRow,
    DashboardFilter,
    DashboardRollupRow,
    Touched,
    breakdown_rows,
    period_breakdowns,
    rebuild,
    refresh,
)
from integration.store.tables import DecisionRow, TicketRow
from tests.admin.test_admin import admin, signed_in  # noqa: F401  (fixtures)

BERLIN = ZoneInfo("Europe/Berlin")
FIRST_DAY = date(2026, 9, 20)
DAYS = 80  # to 8 December: two whole months and parts of two others
PLANS = ("free", "pro", "enterprise", None)
CHANNELS = ("email", "chat", "web")
CATEGORIES = ("billing", "bug", "refund", "how_to")
HELPDESKS = ("sandbox", "zendesk")
TRIGGERS = ("churn", "refund", "legal", "outage")


def _ticket(rng: random.Random, n: int, tenant_id: int) -> tuple[TicketRow, DecisionRow]:
    created = (datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=BERLIN)
               + timedelta(days=rng.randrange(DAYS), hours=rng.randrange(24)))
    plan = rng.choice(PLANS)
    tier = rng.choice((1, 1, 2, 3))
    data = {"channel": rng.choice(CHANNELS), "status": "open",
            "account": {"id": f"a{n % 30}", "plan": plan,
                        "arr": rng.choice((None, 5_000, 60_000, 300_000))} if plan else {},
            "page_url": rng.choice((None, "https://app.example.com/billing/x",
                                    "https://app.example.com/reports"))}
    clock = {"state": "done", "metrics": [{"breached_at": rng.choice((None, "x"))}]}
    at = created.astimezone(UTC)
    ticket = TicketRow(
        id=n, tenant_id=tenant_id, helpdesk=rng.choice(HELPDESKS), external_id=str(n), data=data,
        account_key=f"account:a{n % 30}" if plan else None, status="open", tier=tier,
        category=rng.choice(CATEGORIES), sla_clock=rng.choice((None, clock)), created_at=at,
        updated_at=at)
    decision = DecisionRow(
        id=n, tenant_id=tenant_id, ticket_id=n, decided_at=at, matrix_version="t", tier=tier,
        priority="high", category=ticket.category, sentiment=0.0,
        triggers=rng.sample(TRIGGERS, k=rng.choice((0, 1, 2))) if tier > 1 else [],
        route={"group": rng.choice(("support", "billing", ""))})
    return ticket, decision


@pytest.fixture
def decided(runtime: Any, sandbox_tenant: str) -> Iterator[list[DashboardFactRow]]:
    """Three hundred decided tickets on random days, dimensions, tiers, triggers and groups,
    counted as the writer of decisions counts them; their facts."""
    rng = random.Random(20261207)
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, sandbox_tenant)
        assert tenant is not None
        pairs = [_ticket(rng, n, tenant.id) for n in range(1, 301)]
        s.add_all([t for t, _ in pairs])
        s.flush()
        s.add_all([d for _, d in pairs])
        s.flush()
        refresh(s, [Touched(ticket_id=t.id, zone=BERLIN, triggers=tuple(d.triggers),
                            group=d.route.get("group")) for t, d in pairs])
    with store.session_scope(runtime.sessions) as s:
        facts = list(s.scalars(select(DashboardFactRow)))
        s.expunge_all()
    yield facts


def _rollups(runtime: Any) -> list[tuple[Any, ...]]:
    with store.session_scope(runtime.sessions) as s:
        return sorted(
            (r.tenant_id, r.grain, r.kept, r.kind, r.day, r.value, r.tier, r.helpdesk, r.plan,
             r.arr_band, r.channel, r.category, r.tickets, r.escalated_n, r.first_n,
             r.resolved_n, r.sla_met, r.sla_breached, r.csat_n)
            for r in s.scalars(select(DashboardRollupRow)) if r.tickets)


def test_a_rebuild_writes_the_same_rows_as_each_decision_did(
        runtime: Any, sandbox_tenant: str, decided: list[DashboardFactRow]) -> None:
    incremental = _rollups(runtime)
    # Breakdowns with no dimension, each one, and every one (months); totals with every one.
    assert {row[2] for row in incremental} == {"", "all", *DIMENSIONS}
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, sandbox_tenant)
        assert tenant is not None
        assert rebuild(s, tenant.id, zone=BERLIN) == len(decided)
    assert _rollups(runtime) == incremental


_DIMS = {"helpdesk": HELPDESKS, "plan": ("free", "pro", "enterprise", "", "none-such"),
         "arr_band": ("under_10k", "50k_200k", "200k_plus", ""), "channel": CHANNELS,
         "category": CATEGORIES}
_COLUMNS = {"helpdesk": "helpdesk", "plan": "plan", "arr_band": "arr_band",
            "channel": "channel", "category": "category"}


def _random_filter(rng: random.Random, tenant_id: int) -> DashboardFilter:
    first = FIRST_DAY - timedelta(days=3) + timedelta(days=rng.randrange(DAYS))
    last = first + timedelta(days=rng.randrange(DAYS))
    chosen = rng.sample(sorted(_DIMS), k=rng.randrange(len(_DIMS) + 1))
    dims: dict[str, Any] = {name: rng.choice(_DIMS[name]) for name in chosen}
    return DashboardFilter(tenant_ids=rng.choice(((tenant_id,), None)), first=first, last=last,
                           tier=rng.choice((None, None, 1, 2, 3)), **dims)


def _brute(facts: list[DashboardFactRow], f: DashboardFilter) -> Counter[tuple[Any, ...]]:
    """Per (kind, value, tier): tickets, met, breached, counted one fact at a time."""
    out: Counter[tuple[Any, ...]] = Counter()
    assert f.first is not None and f.last is not None
    for fact in facts:
        if not f.first <= fact.day <= f.last or f.tier not in (None, fact.tier):
            continue
        if any(getattr(f, name) not in (None, getattr(fact, column))
               for name, column in _COLUMNS.items()):
            continue
        triggers = [t for t in fact.triggers.split("|") if t]
        for kind, value in breakdown_values(hour=fact.hour, group=fact.grp, triggers=triggers,
                                            area=fact.area, age=fact.age):
            out[(kind, value, fact.tier, "tickets")] += 1
            out[(kind, value, fact.tier, "met")] += fact.sla == "met"
            out[(kind, value, fact.tier, "breached")] += fact.sla == "breached"
    return +out


def _summed(rows: list[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for kind, value, tier, tickets, met, breached in rows:
        for name, count in (("tickets", tickets), ("met", met), ("breached", breached)):
            out[(kind, value, int(tier), name)] += int(count or 0)
    return +out


def test_a_filtered_breakdown_counts_what_the_facts_count(
        runtime: Any, sandbox_tenant: str, decided: list[DashboardFactRow]) -> None:
    rng = random.Random(7)
    tenant_id = decided[0].tenant_id
    filters = [_random_filter(rng, tenant_id) for _ in range(60)]
    # Whole months inside, and a period with a filter that only the month rows answer.
    filters += [DashboardFilter(first=date(2026, 9, 27), last=date(2026, 12, 2), plan="pro",
                                channel="email"),
                DashboardFilter(first=date(2026, 10, 1), last=date(2026, 11, 30), tier=3,
                                helpdesk="zendesk", category="refund")]
    with store.session_scope(runtime.sessions) as s:
        for f in filters:
            assert _summed(period_breakdowns(s, f, kinds=KINDS)) == _brute(decided, f), f
        # Each grain's rows, filtered, as the page reads a preset period.
        for f in filters[:20]:
            assert f.first is not None and f.last is not None
            monday, month = f.first - timedelta(days=f.first.weekday()), f.first.replace(day=1)
            for grain, first, last in (("d", f.first, f.last), ("w", monday, monday),
                                       ("m", month, month)):
                covered = {"d": last, "w": last + timedelta(days=6),
                           "m": (last + timedelta(days=32)).replace(day=1) - timedelta(days=1)}
                rows = breakdown_rows(s, DashboardFilter(**{
                    **{k: getattr(f, k) for k in DashboardFilter.__dataclass_fields__},
                    "first": first, "last": last}), grain=grain, kinds=KINDS)
                expected = DashboardFilter(**{
                    **{k: getattr(f, k) for k in DashboardFilter.__dataclass_fields__},
                    "first": first, "last": covered[grain]})
                assert _summed(rows) == _brute(decided, expected), (grain, f)


def _cell(text: str, table: str) -> tuple[int, str]:
    """The first linked number of a table on the page, and its link."""
    body = text.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    found = re.search(r'<td><a href="([^"]+)">(\d+)</a></td>', body)
    assert found is not None, table
    return int(found.group(2)), html.unescape(found.group(1))


@pytest.mark.parametrize("narrow", [
    "plan=pro&channel=email", "helpdesk=zendesk&tier=3", "category=refund&arr=none",
])
def test_a_filtered_breakdown_number_opens_exactly_its_tickets(
        signed_in: Any, runtime: Any, decided: list[DashboardFactRow],  # noqa: F811
        narrow: str) -> None:
    page = signed_in.get("/admin/dashboard?workspace=demo&period=custom"
                         f"&from=2026-09-25&to=2026-12-03&{narrow}")
    assert page.status_code == 200
    assert "follow the workspace, period and tier filters only" not in page.text
    for table in ("hours-table", "groups-table", "triggers-table"):
        shown, href = _cell(page.text, table)
        query = parse_qs(urlsplit(href).query)
        for name, value in parse_qs(narrow).items():
            assert query[name] == value, (table, name)
        listed = signed_in.get(href)
        assert listed.status_code == 200
        count = re.search(r'id="showing">Showing \d+–\d+ of (\d+) ticket', listed.text)
        assert count is not None and int(count.group(1)) == shown, (table, href)
