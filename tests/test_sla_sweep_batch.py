"""The SLA sweep's batch writes: the same outcome as one ticket at a time, and still once only.

The sweep moves every due ticket's SLA state in one batch (``store.transition_many``), queues
its outbox rows in one statement and refreshes the dashboard's facts together. These tests run
one mixed set of tickets through the batch path and through the per-ticket path it replaced
(the same database copied) and compare everything written; and they let another scheduler
act between a sweep's read and its writes.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from integration import decisions, outbox, store
from integration.models import Action, ActionKind
from integration.outbox import outbox_values
from integration.store.dashboard import DashboardFactRow, DashboardRollupRow
from integration.store.ops import insert_ignore_id
from integration.store.outbox import add_outbox_rows
from integration.web import create_app
from scheduler import sla_sweep
from tests.conftest import make_ticket
from tests.test_sla_sweep import DUE, WARN, billing, send

TUESDAY = datetime(2026, 11, 3, 7, 15, tzinfo=UTC)
# Each sweep of the mixed set, and what it acts on (Berlin business hours, 07:00-17:00Z).
SWEEPS = [
    datetime(2026, 11, 2, 10, 15, tzinfo=UTC),  # 25's next check was moved: a recheck
    WARN + timedelta(minutes=6),  # 20, 25 warned; 23 (from Saturday, due 11:00Z) promoted
    DUE + timedelta(minutes=1),  # 20, 25 promoted; 22 (pending) stays paused
    datetime(2026, 11, 2, 16, 1, tzinfo=UTC),  # 21 promoted without a warning first
    datetime(2026, 11, 2, 16, 45, tzinfo=UTC),  # 24 (tier 1) warned
    TUESDAY,  # 24 breached (tier 1 has nothing to promote to); 20 and 21 stay promoted
]


def _mixed(client: Any, runtime: Any) -> None:
    """Tier 2 breaching, tier 2 later, paused by pending, weekend start, tier 1, moved check."""
    send(client, runtime, billing("20"), "m20")
    later = "2026-11-02T12:00:00Z"
    send(client, runtime, billing("21", created_at=later, updated_at=later,
                                  messages=[{**billing("21")["messages"][0], "created_at": later}]),
         "m21", now=datetime(2026, 11, 2, 12, 1, tzinfo=UTC))
    send(client, runtime, billing("22"), "m22")
    send(client, runtime, billing("22", status="pending", updated_at="2026-11-02T10:00:00Z"),
         "m22b", now=datetime(2026, 11, 2, 10, 1, tzinfo=UTC), event="ticket.updated")
    saturday = "2026-10-31T10:00:00Z"
    send(client, runtime, billing("23", created_at=saturday, updated_at=saturday,
                                  messages=[{**billing("23")["messages"][0],
                                             "created_at": saturday}]),
         "m23", now=datetime(2026, 10, 31, 10, 1, tzinfo=UTC))
    send(client, runtime, make_ticket(id="24", requester={
        "id": "u24", "email": "kim@tools.example", "name": "Kim"}), "m24")
    send(client, runtime, billing("25"), "m25")
    with store.session_scope(runtime.sessions) as s:
        row = store.get_ticket(s, 1, "sandbox", "25")
        assert row is not None
        # A threshold that moved: due to be looked at, nothing to act on yet.
        row.sla_next_at = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def _snapshot(runtime: Any) -> dict[str, Any]:
    """Everything the sweeps wrote, without database ids."""
    with store.session_scope(runtime.sessions) as s:
        external = dict(s.execute(select(store.TicketRow.id, store.TicketRow.external_id)).all())
        tickets = {r.external_id: (r.tier, r.priority, r.sla_state, r.sla_due_at, r.sla_warn_at,
                                   r.sla_next_at, r.sla_clock, r.timeline)
                   for r in s.scalars(select(store.TicketRow))}
        made = [(external[d.ticket_id], d.cause, d.tier, d.previous_tier, d.priority, d.rules,
                 d.route, d.decided_at) for d in s.scalars(
                     select(store.DecisionRow).order_by(store.DecisionRow.id))]
        queued = sorted((r.idempotency_key, r.target, r.ticket_external_id, r.actions,
                         r.decision_id is not None) for r in s.scalars(select(store.OutboxRow)))
        facts = sorted(tuple(getattr(f, c.key) for c in DashboardFactRow.__table__.c
                             if c.key != "ticket_id") + (external[f.ticket_id],)
                       for f in s.scalars(select(DashboardFactRow)))
        rollups = sorted(tuple(getattr(r, c.key) for c in DashboardRollupRow.__table__.c
                               if c.key != "id")
                         for r in s.scalars(select(DashboardRollupRow)))
    return {"tickets": tickets, "decisions": made, "outbox": queued, "facts": facts,
            "rollups": rollups}


def _one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-ticket path the batch replaced: one conditional UPDATE, one INSERT per row."""
    def add_steps(self: decisions.DecisionLog, steps: Any) -> list[bool]:
        return [self.add(entry, sla=step) for entry, step in steps]

    def enqueue_many(s: Any, rows: Any) -> list[int | None]:
        return [insert_ignore_id(s, store.OutboxRow, r, ("idempotency_key",)) for r in rows]

    monkeypatch.setattr(decisions.DecisionLog, "add_steps", add_steps)
    monkeypatch.setattr(outbox, "add_outbox_rows", enqueue_many)


def test_the_batch_sweep_writes_what_the_per_ticket_sweep_wrote(
    client: Any, runtime: Any, sandbox_tenant: str, app_config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
) -> None:
    if not app_config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("compares two copies of one SQLite file")
    _mixed(client, runtime)
    copy_path = tmp_path / "per-ticket.db"
    with sqlite3.connect(app_config["DATABASE_URL"].removeprefix("sqlite:///")) as source, \
            sqlite3.connect(copy_path) as copy:
        source.backup(copy)
    other = create_app({**app_config, "DATABASE_URL": f"sqlite:///{copy_path}"})
    per_ticket = other.extensions["escalade"]
    try:
        batch_reports = [sla_sweep(runtime, at) for at in SWEEPS]
        with monkeypatch.context() as patched:
            _one_by_one(patched)
            single_reports = [sla_sweep(per_ticket, at) for at in SWEEPS]
        got, want = _snapshot(runtime), _snapshot(per_ticket)
    finally:
        per_ticket.engine.dispose()
    counts = [(r.due, r.warned, r.breached, r.promoted, r.skipped, r.errors)
              for r in batch_reports]
    assert counts == [(r.due, r.warned, r.breached, r.promoted, r.skipped, r.errors)
                      for r in single_reports]
    # (due, warned, breached, promoted, skipped): every kind of step, and a recheck.
    assert [c[:5] for c in counts] == [(1, 0, 0, 0, 1), (3, 2, 0, 1, 0), (2, 0, 0, 2, 0),
                                       (1, 0, 0, 1, 0), (1, 1, 0, 0, 0), (1, 0, 1, 0, 0)]
    assert got["tickets"]["22"][2] == "paused"
    assert [got["tickets"][t][0] for t in ("20", "21", "23", "24", "25")] == [3, 3, 3, 1, 3]
    for part in ("tickets", "decisions", "outbox", "facts", "rollups"):
        assert got[part] == want[part], part
    assert len(got["outbox"]) > len(SWEEPS)


def _swept_by(other: Any, at: datetime, limit: int) -> Any:
    """Stand-in for ``latest_sentiments``: another scheduler sweeps first, then it runs."""
    from scheduler import jobs

    real = getattr(jobs, "latest_sentiments")  # noqa: B009 (not exported; patched here)
    done: list[Any] = []
    started: list[bool] = []

    def meanwhile(s: Any, ids: Any) -> Any:
        if not started:
            started.append(True)  # the other sweep reads sentiments through here too
            done.append(sla_sweep(other, at, limit=limit))
        return real(s, ids)

    return meanwhile, done


@pytest.mark.parametrize("first", [3, 6])
def test_a_sweep_overtaken_between_its_read_and_its_writes_writes_only_what_is_left(
    client: Any, runtime: Any, sandbox_tenant: str, app_config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch, first: int,
) -> None:
    for n in range(6):
        send(client, runtime, billing(str(40 + n)), f"o{n}")
    at = DUE + timedelta(seconds=2)
    other = create_app(app_config).extensions["escalade"]
    try:
        meanwhile, done = _swept_by(other, at, limit=first)
        monkeypatch.setattr("scheduler.jobs.latest_sentiments", meanwhile)
        late = sla_sweep(runtime, at)
    finally:
        other.engine.dispose()
    (early,) = done
    # The late sweep read all six, but the other had moved the first ``first`` meanwhile.
    assert (late.due, early.promoted, late.promoted) == (6, first, 6 - first)
    assert late.skipped == first
    with store.session_scope(runtime.sessions) as s:
        made = list(s.scalars(select(store.DecisionRow.ticket_id).where(
            store.DecisionRow.cause == "sla_breach")))
        keys = list(s.scalars(select(store.OutboxRow.idempotency_key).where(
            store.OutboxRow.idempotency_key.like("%:sla:%"))))
        tiers = set(s.scalars(select(store.TicketRow.tier).where(
            store.TicketRow.external_id.like("4%"))))
    assert len(made) == len(set(made)) == 6
    assert len(keys) == len(set(keys)) == 6
    assert tiers == {3}


def test_transition_many_moves_only_the_rows_still_as_read(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    for n in range(3):
        send(client, runtime, billing(str(60 + n)), f"t{n}")
    with store.session_scope(runtime.sessions) as s:
        rows = [store.get_ticket(s, 1, "sandbox", str(60 + n)) for n in range(3)]
        read = [(r.id, r.sla_state, r.sla_next_at) for r in rows if r is not None]
    with store.session_scope(runtime.sessions) as s:
        # Someone else warned the middle one first.
        assert store.transition_sla(s, read[1][0], expect_state=read[1][1],
                                    expect_next_at=read[1][2], state="warning", next_at=DUE)
    with store.session_scope(runtime.sessions) as s:
        won = store.transition_many(s, [
            store.Transition(ticket_id=i, expect_state=st, expect_next_at=nx,
                             changes={"state": "breached", "next_at": None, "tier": 2})
            for i, st, nx in read])
    assert won == [True, False, True]
    with store.session_scope(runtime.sessions) as s:
        states = [s.get(store.TicketRow, i) for i, _, _ in read]
        assert [(r.sla_state, r.sla_next_at) for r in states if r is not None] == [
            ("breached", None), ("warning", DUE), ("breached", None)]
    with store.session_scope(runtime.sessions) as s:
        assert store.transition_many(s, []) == []


def test_outbox_rows_queued_together_get_their_own_ids_and_duplicates_none(
    runtime: Any, sandbox_tenant: str
) -> None:
    now = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)

    def row(key: str) -> dict[str, Any]:
        note = Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk", payload={"body": key})
        return outbox_values(tenant_id=1, target="helpdesk", ticket_external_id="7",
                             actions=[note], idempotency_key=key, now=now)

    with store.session_scope(runtime.sessions) as s:
        (before,) = add_outbox_rows(s, [row("demo:a")])
    with store.session_scope(runtime.sessions) as s:
        ids = add_outbox_rows(s, [row("demo:b"), row("demo:a"), row("demo:c"), row("demo:b")])
    assert before is not None and ids[1] is None and ids[3] is None
    assert ids[0] is not None and ids[2] is not None and len({before, ids[0], ids[2]}) == 3
    with store.session_scope(runtime.sessions) as s:
        stored = {r.id: (r.idempotency_key, r.actions[0]["payload"]["body"])
                  for r in s.scalars(select(store.OutboxRow))}
    assert stored == {before: ("demo:a", "demo:a"), ids[0]: ("demo:b", "demo:b"),
                      ids[2]: ("demo:c", "demo:c")}
