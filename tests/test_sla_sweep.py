"""The SLA sweep: stored clocks, warning, breach and promotion, exactly once across schedulers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from integration import store
from integration.pipeline import process_event
from integration.web import create_app
from scheduler import SWEEP_JOB, build_scheduler, sla_sweep
from tests.conftest import make_ticket, post_sandbox, sandbox_body
from tests.work import drain, run_job

pytestmark = pytest.mark.scaleout

ROOT = Path(__file__).resolve().parents[1]
# Monday 2 November 2026; Berlin business hours 08:00-18:00 (CET, UTC+1).
CREATED = "2026-11-02T09:14:00Z"
T0 = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
# Tier 2: first response within 4 business hours -> 13:14Z; warning 30 minutes before.
DUE = datetime(2026, 11, 2, 13, 14, tzinfo=UTC)
WARN = DUE - timedelta(minutes=30)

BILLING_TEXT = (
    "Our invoice INV-2291 charged 19% VAT although we gave you our EU VAT ID. "
    "Please correct it and send a new invoice."
)


def billing(id: str = "20", **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": id, "subject": "Wrong VAT on invoice", "created_at": CREATED,
        "updated_at": CREATED,
        "requester": {"id": f"u{id}", "email": f"lee{id}@shop{id}.example", "name": "Lee"},
        "messages": [{"id": f"{id}-m1", "author": "customer", "public": True,
                      "body": BILLING_TEXT, "created_at": CREATED}],
    }
    return make_ticket(**{**fields, **overrides})


def send(client: Any, runtime: Any, ticket: dict[str, Any], delivery: str,
         *, now: datetime = T0, event: str = "ticket.created") -> None:
    """Post a webhook and decide it at ``now`` (a frozen clock in the past)."""
    response = post_sandbox(client, sandbox_body(ticket, delivery_id=delivery, event=event))
    assert response.status_code == 202
    process_event(runtime, response.get_json()["event_id"], now=now)


def row_of(runtime: Any, id: str = "20") -> store.TicketRow:
    with store.session_scope(runtime.sessions) as s:
        row = store.get_ticket(s, 1, "sandbox", id)
        assert row is not None
        s.expunge(row)
        return row


def outbox_actions(runtime: Any, id: str = "20") -> list[list[dict[str, Any]]]:
    with store.session_scope(runtime.sessions) as s:
        rows = s.scalars(
            select(store.OutboxRow)
            .where(store.OutboxRow.ticket_external_id == id)
            .order_by(store.OutboxRow.id)
        )
        return [list(r.actions) for r in rows]


def breach_decisions(runtime: Any) -> list[store.DecisionRow]:
    with store.session_scope(runtime.sessions) as s:
        rows = list(s.scalars(select(store.DecisionRow).where(
            store.DecisionRow.cause == "sla_breach")))
        s.expunge_all()
        return rows


def test_a_decided_ticket_stores_its_clock(client: Any, runtime: Any, sandbox_tenant: str) -> None:
    send(client, runtime, billing(), "d1")
    row = row_of(runtime)
    assert row.tier == 2
    assert (row.sla_state, row.sla_due_at, row.sla_warn_at) == ("ok", DUE, WARN)
    assert row.sla_next_at == WARN
    assert row.timeline is not None and row.timeline["tiers"] == [[CREATED, 2]]
    assert row.sla_clock is not None and row.sla_clock["metrics"]


def test_sweep_warns_then_promotes_a_tier_2_breach_once(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    send(client, runtime, billing(), "d1")
    assert run_job(runtime, SWEEP_JOB, WARN - timedelta(minutes=1)).due == 0

    warned = run_job(runtime, SWEEP_JOB, WARN + timedelta(seconds=5))
    assert (warned.due, warned.warned, warned.promoted) == (1, 1, 0)
    assert row_of(runtime).sla_state == "warning"
    note = outbox_actions(runtime)[-1]
    assert [a["kind"] for a in note] == ["internal_note"]
    assert "SLA warning: first response" in note[0]["payload"]["body"]
    assert run_job(runtime, SWEEP_JOB, WARN + timedelta(minutes=1)).due == 0

    promoted = run_job(runtime, SWEEP_JOB, DUE + timedelta(seconds=3))
    assert (promoted.due, promoted.promoted) == (1, 1)
    row = row_of(runtime)
    assert (row.tier, row.priority) == (3, "urgent")
    assert row.sla_state in ("promoted", "ok")
    (decision,) = breach_decisions(runtime)
    assert [r["rule_id"] for r in decision.rules] == ["sla_breach"]
    assert (decision.previous_tier, decision.tier) == (2, 3)
    assert "blamed on tier 2" in decision.rules[0]["reason"]
    actions = outbox_actions(runtime)[-1]
    kinds = [a["kind"] for a in actions]
    assert {"add_tags", "set_priority", "assign", "internal_note", "public_reply"} <= set(kinds)
    tags = next(a for a in actions if a["kind"] == "add_tags")["payload"]["tags"]
    assert "escalade_tier_3" in tags
    assert next(a for a in actions if a["kind"] == "assign")["payload"]["group"] == "escalations"

    again = run_job(runtime, SWEEP_JOB, DUE + timedelta(minutes=5))
    assert again.promoted == 0 and again.breached == 0
    assert len(breach_decisions(runtime)) == 1
    # The write-backs reach the helpdesk through the outbox like any other decision.
    assert drain(runtime, now=DUE + timedelta(minutes=5)).delivered >= 2


def test_a_customer_reply_while_waiting_pauses_nothing_but_pending_does(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    send(client, runtime, billing(), "d1")
    pending = billing(status="pending", updated_at="2026-11-02T10:00:00Z")
    send(client, runtime, pending, "d2", now=T0 + timedelta(minutes=46), event="ticket.updated")
    row = row_of(runtime)
    assert (row.sla_state, row.sla_next_at) == ("paused", None)
    assert run_job(runtime, SWEEP_JOB, DUE + timedelta(hours=5)).due == 0
    reopened = billing(status="open", updated_at="2026-11-02T11:00:00Z")
    send(client, runtime, reopened, "d3", now=T0 + timedelta(hours=2), event="ticket.updated")
    row = row_of(runtime)
    # One paused hour (10:00-11:00Z, inside business hours) moves the due time by an hour.
    assert row.sla_state == "ok"
    assert row.sla_due_at == DUE + timedelta(hours=1)


def test_an_agent_reply_meets_the_first_response_and_moves_the_clock_on(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    send(client, runtime, billing(), "d1")
    replied = billing(updated_at="2026-11-02T10:00:00Z", messages=[
        *billing()["messages"],
        {"id": "20-m2", "author": "agent", "public": True,
         "body": "Thanks, we are correcting the invoice.", "created_at": "2026-11-02T10:00:00Z"},
    ])
    send(client, runtime, replied, "d2", now=T0 + timedelta(minutes=46), event="ticket.updated")
    row = row_of(runtime)
    assert row.sla_due_at is not None and row.sla_due_at > DUE
    assert row.sla_state == "ok"
    assert run_job(runtime, SWEEP_JOB, DUE + timedelta(minutes=1)).promoted == 0


def test_the_sweep_reads_due_tickets_through_the_index(runtime: Any) -> None:
    with store.session_scope(runtime.sessions) as s:
        dialect = s.get_bind().dialect.name
        if dialect != "sqlite":
            pytest.skip("the plan check reads SQLite's EXPLAIN QUERY PLAN")
        plan = s.execute(text(
            "EXPLAIN QUERY PLAN SELECT * FROM tickets WHERE sla_next_at IS NOT NULL "
            "AND sla_next_at <= :now ORDER BY sla_next_at, id LIMIT 1000"
        ), {"now": "2026-11-02 13:00:00"}).all()
    detail = " ".join(str(r[-1]) for r in plan)
    assert "ix_tickets_sla_next_at" in detail and "SCAN tickets" not in detail.replace(
        "USING INDEX", "")


def _due_tickets(client: Any, runtime: Any, count: int) -> None:
    for n in range(count):
        send(client, runtime, billing(id=str(100 + n)), f"d{n}")


# Two embedded schedulers' sweeps racing on one database; in scale-out mode the cluster-wide
# job lock keeps two sweeps from meeting (tests/scaleout/test_scaleout_flow.py).
@pytest.mark.embedded
def test_two_schedulers_on_one_database_promote_each_breach_once(
    client: Any, runtime: Any, sandbox_tenant: str, app_config: dict[str, Any]
) -> None:
    _due_tickets(client, runtime, 12)
    other = create_app(app_config).extensions["escalade"]
    at = DUE + timedelta(seconds=2)
    reports: list[Any] = []
    start = threading.Barrier(2)

    def sweep(rt: Any) -> None:
        start.wait()
        reports.append(sla_sweep(rt, at))

    threads = [threading.Thread(target=sweep, args=(rt,)) for rt in (runtime, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.engine.dispose()
    assert sum(r.promoted for r in reports) == 12
    decisions = breach_decisions(runtime)
    assert sorted(d.ticket_id for d in decisions) == sorted({d.ticket_id for d in decisions})
    assert len(decisions) == 12
    with store.session_scope(runtime.sessions) as s:
        keys = list(s.scalars(select(store.OutboxRow.idempotency_key).where(
            store.OutboxRow.idempotency_key.like("%:sla:%"))))
    assert len(keys) == len(set(keys)) == 12


@pytest.mark.embedded  # the in-process APScheduler itself; beat replaces it in scale-out mode
def test_a_running_scheduler_promotes_within_one_sweep(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    send(client, runtime, billing(), "d1")
    frozen = DUE + timedelta(seconds=1)
    scheduler = build_scheduler(runtime, sweep_seconds=0.2, clock=lambda: frozen)
    scheduler.start()
    try:
        for _ in range(100):
            if row_of(runtime).tier == 3:
                break
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert row_of(runtime).tier == 3
    assert len(breach_decisions(runtime)) == 1


@pytest.mark.embedded  # `python -m scheduler` processes; beat replaces them in scale-out mode
def test_two_scheduler_processes_promote_each_breach_once(
    client: Any, runtime: Any, sandbox_tenant: str, app_config: dict[str, Any]
) -> None:
    # Real processes, real clock: the tickets were created in the past, so all are overdue.
    _due_tickets(client, runtime, 8)
    env = {**os.environ, "ESCALADE_DATABASE_URL": app_config["DATABASE_URL"],
           "ESCALADE_VAR_DIR": str(app_config["VAR_DIR"]),
           "ESCALADE_SECRET_KEY": app_config["SECRET_KEY"],
           "ESCALADE_SLA_SWEEP_SECONDS": "0.2", "ESCALADE_LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, "-m", "scheduler"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    try:
        # Starting two processes takes seconds on a busy machine; the loop ends once done.
        for _ in range(900):
            if len(breach_decisions(runtime)) >= 8:
                break
            time.sleep(0.1)
        time.sleep(0.6)  # a few more sweeps by both: nothing may be promoted twice
    finally:
        for p in procs:
            p.terminate()
        outputs = [p.communicate(timeout=20) for p in procs]
    assert all(p.returncode in (0, -15) for p in procs), outputs
    decisions = breach_decisions(runtime)
    assert len(decisions) == 8
    assert len({d.ticket_id for d in decisions}) == 8


def test_a_tenant_on_another_calendar_gets_its_own_due_times(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        store.update_tenant(s, tenant, cipher=runtime.cipher,
                            settings={"calendar": "business_us"})
    runtime.forget_adapters()
    send(client, runtime, billing(), "d1")
    # 09:14Z is before New York opens (09:00 EST = 14:00Z): due four hours after that.
    assert row_of(runtime).sla_due_at == datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
    assert run_job(runtime, SWEEP_JOB, DUE + timedelta(seconds=1)).promoted == 0
    assert run_job(runtime, SWEEP_JOB, datetime(2026, 11, 2, 18, 0, 1, tzinfo=UTC)).promoted == 1
