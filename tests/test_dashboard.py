"""The dashboard: facts and rollups kept for every decision, the page, and the list behind it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from integration import store
from integration.analytics.facts import (
    age_band,
    arr_band,
    contributions,
    deltas,
    fact_of,
    product_area,
    spikes,
)
from integration.store.dashboard import (
    DashboardFactRow,
    DashboardFilter,
    DashboardPendingRow,
    DashboardRollupRow,
    rebuild,
    total_rows,
)
from integration.worker import FoldPacer, drain, fold_dashboard, process_events
from tests.admin.test_admin import admin, signed_in  # noqa: F401  (fixtures)
from tests.conftest import make_ticket, post_sandbox, sandbox_body

BERLIN = ZoneInfo("Europe/Berlin")
CREATED = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # 3 November, 00:30 in Berlin


def _fact(**overrides: Any) -> Any:
    values: dict[str, Any] = {
        "ticket_id": 1, "tenant_id": 1, "helpdesk": "sandbox", "created_at": CREATED,
        "tier": 3, "category": "refund", "timeline": None, "clock": None, "sla_state": None,
        "triggers": ("refund",), "group": None, "first_seen": CREATED - timedelta(days=40),
        "zone": BERLIN,
        "data": {"channel": "email", "status": "solved",
                 "account": {"id": "a", "plan": "Enterprise", "arr": 120000},
                 "page_url": "https://app.example.com/Billing/invoices", "csat": 0.2,
                 "messages": [{"author": "customer", "created_at": "2026-11-02T23:30:00Z"},
                              {"author": "agent", "public": False,
                               "created_at": "2026-11-02T23:35:00Z"},
                              {"author": "agent", "created_at": "2026-11-03T00:10:00Z"}],
                 "custom": {"resolution_minutes": 90}},
    }
    return fact_of(**{**values, **overrides})


def test_a_fact_counts_the_ticket_on_its_local_day_with_its_measures() -> None:
    fact = _fact()
    assert (fact.day, fact.hour) == (date(2026, 11, 3), 0)
    assert (fact.plan, fact.arr_band, fact.area, fact.age) == (
        "enterprise", "50k_200k", "/billing", "31_90")
    assert fact.first_s == 40 * 60  # the first public agent reply, not the internal note
    assert fact.resolved_s == 90 * 60  # the helpdesk's own resolution time
    assert fact.escalated_s == 0.0 and fact.csat == 0.2 and fact.sla == ""
    breached = _fact(clock={"state": "done", "metrics": [{"breached_at": "2026-11-03T01:00Z"}]})
    assert breached.sla == "breached"
    assert _fact(clock={"state": "done", "metrics": [{"breached_at": None}]}).sla == "met"
    assert _fact(sla_state="promoted").sla == "breached"
    promoted = _fact(timeline={"tiers": [["2026-11-02T23:30:00Z", 1],
                                         ["2026-11-03T01:30:00Z", 3]]})
    assert promoted.escalated_s == 2 * 3600


def test_bands_and_areas() -> None:
    assert [arr_band(v) for v in (None, -1, 0, 9999, 10_000, 199_999, 200_000, True)] == [
        "", "", "under_10k", "under_10k", "10k_50k", "50k_200k", "200k_plus", ""]
    assert [age_band(d) for d in (None, 0, 30, 31, 365, 366)] == [
        "", "0_30", "0_30", "31_90", "91_365", "365_plus"]
    assert product_area(None, "bug") == "bug"
    assert product_area("https://x.example/", "bug") == "bug"
    assert product_area("https://x.example/settings/sso", "bug") == "/settings"


def test_a_changed_fact_moves_only_what_changed_and_a_same_fact_nothing() -> None:
    before, after = _fact(), _fact(tier=2)
    assert deltas(before, before) == {}
    change = deltas(before, after)
    # Every row the ticket is counted in moves: out of tier 3, into tier 2, day and month.
    assert len(change) == 2 * len(contributions(before))
    assert sum(v[0] for v in change.values()) == 0


def test_a_spike_is_a_day_well_above_the_days_before() -> None:
    first = date(2026, 11, 1)
    daily = {"enterprise": {first + timedelta(days=n): 1 for n in range(20)},
             "pro": {first + timedelta(days=n): 3 for n in range(20)}}
    daily["enterprise"][date(2026, 11, 18)] = 5
    found = spikes(daily, first=date(2026, 11, 15), last=date(2026, 11, 20))
    assert [(s.segment, s.day, s.count) for s in found] == [
        ("enterprise", date(2026, 11, 18), 5)]


# --- kept with every decision ---------------------------------------------------------------

REFUND = make_ticket(id="r1", subject="Refund now", account={
    "id": "c1", "name": "BigCo", "plan": "enterprise", "arr": 250000},
    messages=[{"id": "m1", "author": "customer", "public": True,
               "body": "I want a refund for the double charge or we cancel.",
               "created_at": "2026-11-02T09:14:00Z"}])
QUESTION = make_ticket(id="q1", channel="chat", account={"id": "c2", "name": "Small",
                                                          "plan": "starter", "arr": 5000})


def _rollups(runtime: Any) -> list[tuple[Any, ...]]:
    with store.session_scope(runtime.sessions) as s:
        rows = s.scalars(select(DashboardRollupRow)).all()
        measures = ("tickets", "escalated_n", "first_n", "resolved_n", "sla_met",
                    "sla_breached", "csat_n")
        return sorted(
            (r.tenant_id, r.grain, r.kept, r.kind, r.day, r.value, r.tier, r.helpdesk, r.plan,
             r.arr_band, r.channel, r.category, *(getattr(r, m) for m in measures))
            for r in rows if r.tickets)


def _decide(client: Any, runtime: Any, ticket: dict[str, Any], delivery: str) -> None:
    assert post_sandbox(client, sandbox_body(ticket, delivery_id=delivery)).status_code == 202
    drain(runtime)


def test_each_decision_moves_the_rollups_and_a_rebuild_agrees(
        client: Any, runtime: Any, sandbox_tenant: str) -> None:
    _decide(client, runtime, REFUND, "d1")
    _decide(client, runtime, QUESTION, "d2")
    solved = {**QUESTION, "status": "solved", "updated_at": "2026-11-02T12:00:00Z", "csat": 0.9}
    _decide(client, runtime, solved, "d3")  # the same ticket again: counted once
    with store.session_scope(runtime.sessions) as s:
        board = total_rows(s, DashboardFilter())
        by_plan = {(r[0], r[2]): r[6] for r in board}
        assert by_plan == {(3, "enterprise"): 1, (1, "starter"): 1}
        assert sum(r[6 + 9] for r in board) == 1  # one rated ticket
        facts = {f.ticket_id: f for f in s.scalars(select(DashboardFactRow))}
        assert {f.day for f in facts.values()} == {date(2026, 11, 2)}
        assert {f.triggers for f in facts.values() if f.tier == 3} <= {"", "|refund|"} or any(
            "refund" in f.triggers for f in facts.values())
    incremental = _rollups(runtime)
    assert incremental
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, sandbox_tenant)
        assert tenant is not None
        assert rebuild(s, tenant.id, zone=runtime.matrix.display_zone) == 2
    assert _rollups(runtime) == incremental


def test_a_decision_rolled_back_leaves_no_note(
        client: Any, runtime: Any, sandbox_tenant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from integration.store.dashboard import note

    written: list[int] = []

    def note_then_fail(s: Any, touched: Any) -> None:
        note(s, touched)
        written.append(len(touched))
        raise RuntimeError("disk full")

    # The note was written, then the transaction failed: it goes with it.
    monkeypatch.setattr("integration.decisions.note", note_then_fail)
    post_sandbox(client, sandbox_body(REFUND, delivery_id="d1"))
    drain(runtime)
    assert written == [1]
    with store.session_scope(runtime.sessions) as s:
        assert s.scalars(select(DashboardPendingRow)).all() == []
        assert s.scalars(select(DashboardRollupRow)).all() == []
        assert s.scalars(select(DashboardFactRow)).all() == []


def _notes(runtime: Any) -> list[tuple[int, str, str | None]]:
    with store.session_scope(runtime.sessions) as s:
        return [(n.ticket_id, n.triggers, n.grp)
                for n in s.scalars(select(DashboardPendingRow).order_by(DashboardPendingRow.id))]


def test_decisions_are_noted_and_counted_when_folded(
        client: Any, runtime: Any, sandbox_tenant: str) -> None:
    for ticket, delivery in ((REFUND, "d1"), (QUESTION, "d2")):
        assert post_sandbox(client, sandbox_body(ticket, delivery_id=delivery)).status_code == 202
    process_events(runtime)
    # Decided, not yet counted: each decision left a note in its own transaction.
    assert len(_notes(runtime)) == 2
    assert _rollups(runtime) == []
    assert fold_dashboard(runtime) == 2
    assert _notes(runtime) == []
    folded = _rollups(runtime)
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, sandbox_tenant)
        assert tenant is not None
        rebuild(s, tenant.id, zone=runtime.matrix.display_zone)
    assert folded == _rollups(runtime)
    assert fold_dashboard(runtime) == 0  # nothing left: counted once


def test_a_reader_counts_what_is_noted_first(
        client: Any, runtime: Any, sandbox_tenant: str) -> None:
    assert post_sandbox(client, sandbox_body(REFUND, delivery_id="d1")).status_code == 202
    process_events(runtime)
    assert _notes(runtime)
    with store.session_scope(runtime.sessions) as s:
        board = total_rows(s, DashboardFilter())
    assert [(r[0], r[6]) for r in board] == [(3, 1)]
    assert _notes(runtime) == []


def test_notes_of_one_ticket_folded_apart_count_it_once(
        client: Any, runtime: Any, sandbox_tenant: str) -> None:
    post_sandbox(client, sandbox_body(QUESTION, delivery_id="d1"))
    process_events(runtime)
    solved = {**QUESTION, "status": "solved", "updated_at": "2026-11-02T12:00:00Z", "csat": 0.9}
    post_sandbox(client, sandbox_body(solved, delivery_id="d2"))
    process_events(runtime)
    assert len(_notes(runtime)) == 2
    # One note per transaction: the second fold moves the rollups from what the first wrote.
    assert store.dashboard.fold_all(runtime.sessions, limit=1) == 2
    with store.session_scope(runtime.sessions) as s:
        board = total_rows(s, DashboardFilter())
        facts = s.scalars(select(DashboardFactRow)).all()
    assert sum(r[6] for r in board) == 1
    assert sum(r[6 + 9] for r in board) == 1  # its rating, counted once
    assert len(facts) == 1


def test_a_fold_call_stops_after_its_batches_and_leaves_the_rest(
        client: Any, runtime: Any, sandbox_tenant: str) -> None:
    for n in range(3):
        ticket = {**QUESTION, "id": f"q{n}"}
        post_sandbox(client, sandbox_body(ticket, delivery_id=f"d{n}"))
    process_events(runtime)
    assert store.dashboard.fold_all(runtime.sessions, limit=1, max_batches=2) == 2
    assert len(_notes(runtime)) == 1  # the delivery loop gets its turn; the next call goes on
    assert fold_dashboard(runtime) == 1


def test_a_running_loop_folds_at_most_every_few_seconds_and_readers_miss_nothing(
        client: Any, runtime: Any, sandbox_tenant: str) -> None:
    clock = [100.0]
    pacer = FoldPacer(2.0, clock=lambda: clock[0])
    post_sandbox(client, sandbox_body(REFUND, delivery_id="d1"))
    process_events(runtime)
    assert pacer(runtime) == 1  # the first pass folds
    post_sandbox(client, sandbox_body(QUESTION, delivery_id="d2"))
    process_events(runtime)
    clock[0] += 1.5
    assert pacer(runtime) == 0  # a second later: no fold, no write lock taken
    assert len(_notes(runtime)) == 1
    with store.session_scope(runtime.sessions) as s:  # a reader counts it all the same
        assert sum(r[6] for r in total_rows(s, DashboardFilter())) == 2
    post_sandbox(client, sandbox_body({**QUESTION, "id": "q9"}, delivery_id="d3"))
    process_events(runtime)
    clock[0] += 0.5
    assert pacer(runtime) == 1  # two seconds after the last fold: what was noted since
    assert _notes(runtime) == []


def test_a_failed_fold_keeps_its_notes_for_the_next(
        client: Any, runtime: Any, sandbox_tenant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    post_sandbox(client, sandbox_body(REFUND, delivery_id="d1"))
    process_events(runtime)

    def fail(s: Any, touched: Any) -> int:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr("integration.store.dashboard.refresh", fail)
        with pytest.raises(RuntimeError):
            fold_dashboard(runtime)
    assert len(_notes(runtime)) == 1  # the notes' deletion was rolled back with the rest
    assert fold_dashboard(runtime) == 1
    assert _notes(runtime) == []
    with store.session_scope(runtime.sessions) as s:
        assert [(r[0], r[6]) for r in total_rows(s, DashboardFilter())] == [(3, 1)]


# --- the page and the list behind its numbers -----------------------------------------------


def test_the_page_shows_the_numbers_and_each_opens_its_tickets(
        signed_in: Any, runtime: Any, sandbox_tenant: str,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    _decide(signed_in, runtime, REFUND, "d1")
    _decide(signed_in, runtime, QUESTION, "d2")
    monkeypatch.setattr(runtime, "now", lambda: datetime(2026, 11, 10, 9, tzinfo=UTC))
    page = signed_in.get("/admin/dashboard?workspace=demo&period=30d")
    assert page.status_code == 200
    text = page.text
    assert "in Europe/Berlin time" in text and "<svg" in text and "http" not in re.sub(
        r'(href|xmlns)="[^"]*"', "", text).split("<main", 1)[1].split("</main>", 1)[0]
    assert re.search(r'id="tile-tickets"><a href="([^"]+)">2</a>', text)
    # Headings name the ARR band as the table does, not as "arr band".
    assert "<h3>By ARR band</h3>" in text and "<h3>Tier 3 by ARR band</h3>" in text
    assert "arr band" not in text
    tier3 = re.search(r'<a href="(/\?[^"]*tier=3&amp;plan=enterprise)">1</a>', text)
    assert tier3 is not None
    listed = signed_in.get(tier3.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200
    assert re.findall(r'id="ticket-demo-(\w+)"', listed.text) == ["r1"]
    assert "The tickets behind a dashboard number" in listed.text

    narrowed = signed_in.get("/admin/dashboard?workspace=demo&period=30d&channel=chat")
    assert re.search(r'id="tile-tickets"><a href="[^"]+">1</a>', narrowed.text)


def test_bad_filters_are_named_and_nothing_is_read(
        signed_in: Any, runtime: Any, sandbox_tenant: str) -> None:  # noqa: F811
    page = signed_in.get("/admin/dashboard?period=5y&tier=9&workspace=ghost")
    assert page.status_code == 400
    for field in ("period", "tier", "workspace"):
        assert f"<code>{field}</code>" in page.text
    listed = signed_in.get("/?from=yesterday&hour=25&arr=lots")
    assert listed.status_code == 400
    assert "expected a day as YYYY-MM-DD" in listed.text and "<code>hour</code>" in listed.text


def test_the_dashboard_needs_a_signed_in_admin(client: Any) -> None:
    assert client.get("/admin/dashboard").status_code in (302, 303)


def test_decisions_made_before_the_dashboard_are_counted_once(
        client: Any, runtime: Any, sandbox_tenant: str) -> None:
    from click.testing import CliRunner
    from sqlalchemy import delete

    from integration.cli.dashboard import count_missing
    from integration.cli.root import main
    from integration.store.dashboard import missing_rollups

    _decide(client, runtime, REFUND, "d1")
    counted = _rollups(runtime)
    with store.session_scope(runtime.sessions) as s:
        assert missing_rollups(s) == []
        # As an install upgraded from before the dashboard: decisions, nothing counted.
        s.execute(delete(DashboardRollupRow))
        s.execute(delete(DashboardFactRow))
        assert len(missing_rollups(s)) == 1

    import click

    with click.Context(main, obj=runtime) as ctx:
        count_missing(ctx)
    assert _rollups(runtime) == counted
    with store.session_scope(runtime.sessions) as s:
        assert missing_rollups(s) == []

    wrong = CliRunner().invoke(main, ["dashboard", "rebuild", "--tenant", "ghost"], obj=runtime)
    assert wrong.exit_code == 2 and "--tenant: no workspace named 'ghost'" in wrong.output
    again = CliRunner().invoke(main, ["dashboard", "rebuild"], obj=runtime)
    assert again.exit_code == 0, again.output
    assert "demo: 1 decided tickets counted (days in Europe/Berlin)" in again.output
    assert _rollups(runtime) == counted


@pytest.mark.parametrize(("first", "last"), [
    (date(2026, 1, 1), date(2026, 12, 31)), (date(2025, 12, 7), date(2026, 12, 6)),
    (date(2026, 11, 7), date(2026, 12, 6)), (date(2026, 12, 1), date(2026, 12, 3)),
    (date(2026, 9, 7), date(2026, 12, 6)), (date(2026, 2, 3), date(2026, 3, 31)),
])
def test_a_period_is_read_as_whole_months_weeks_and_days_covering_each_day_once(
        first: date, last: date) -> None:
    from integration.analytics.facts import month_of, week_of
    from integration.store.dashboard import spans

    covered: list[date] = []
    for grain, start, end in spans(first, last):
        key = start
        while key <= end:
            if grain == "d":
                covered.append(key)
                key += timedelta(days=1)
            elif grain == "w":
                assert week_of(key) == key
                covered += [key + timedelta(days=n) for n in range(7)]
                key += timedelta(weeks=1)
            else:
                assert month_of(key) == key
                nxt = month_of(key + timedelta(days=32))
                covered += [key + timedelta(days=n) for n in range((nxt - key).days)]
                key = nxt
    expected = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert covered == sorted(covered) and covered == expected


def test_an_sla_breach_written_by_the_sweep_is_counted(
        client: Any, runtime: Any, sandbox_tenant: str) -> None:
    from scheduler import sla_sweep

    just_now = datetime.now(UTC).isoformat()
    fresh = {**REFUND, "created_at": just_now, "updated_at": just_now,
             "messages": [{**REFUND["messages"][0], "created_at": just_now}]}
    _decide(client, runtime, fresh, "d1")
    with store.session_scope(runtime.sessions) as s:
        assert sum(r[6 + 8] for r in total_rows(s, DashboardFilter())) == 0
        row = store.get_ticket(s, s.scalars(select(store.TenantRow.id)).one(), "sandbox", "r1")
        assert row is not None and row.sla_due_at is not None
        due = row.sla_due_at
    report = sla_sweep(runtime, due + timedelta(minutes=1))
    assert report.breached == 1
    with store.session_scope(runtime.sessions) as s:
        assert sum(r[6 + 8] for r in total_rows(s, DashboardFilter())) == 1  # sla_breached
        assert [f.sla for f in s.scalars(select(DashboardFactRow))] == ["breached"]


@pytest.mark.parametrize(("first", "last"), [
    (date(2026, 1, 15), date(2026, 12, 10)), (date(2025, 12, 7), date(2026, 12, 6)),
    (date(2026, 11, 7), date(2026, 12, 6)), (date(2026, 12, 1), date(2026, 12, 3)),
    (date(2026, 2, 3), date(2026, 3, 31)),
])
@pytest.mark.parametrize("chart", ["d", "w", "m"])
def test_a_chosen_period_is_charted_from_rows_that_each_fit_in_one_bucket(
        first: date, last: date, chart: str) -> None:
    from integration.analytics.facts import month_of, week_of
    from integration.store.dashboard import chart_spans

    bucket = {"d": lambda d: d, "w": week_of, "m": month_of}[chart]
    covered: list[date] = []
    for grain, start, end in chart_spans(first, last, chart):
        step = {"d": 1, "w": 7}.get(grain)
        key = start
        while key <= end:
            nxt = key + timedelta(days=step) if step else month_of(key + timedelta(days=32))
            days = [key + timedelta(days=n) for n in range((nxt - key).days)]
            # A week or month row counts in one bucket of the chart: all its days share it.
            assert len({bucket(d) for d in days}) == 1, (grain, key)
            covered += days
            key = nxt
    expected = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert covered == expected
