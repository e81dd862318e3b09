"""The one writer of decisions: decision, SLA state and outbox rows together, or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from integration.clocks import SlaFields
from integration.decisions import DecisionLog, Entry, SlaStep, record
from integration.errors import ValidationError
from integration.models import Action, ActionKind, Priority, Tier
from integration.sla import SlaState
from integration.store import DecisionRow, OutboxRow, TicketRow, session_scope, upsert_ticket
from tests.store.helpers import (
    BACKENDS,
    T0,
    Store,
    backend_store,
    make_decision,
    make_ticket,
    new_tenant,
)

TAGS = Action(kind=ActionKind.ADD_TAGS, target="helpdesk", payload={"tags": ["escalade_tier_3"]})
ALERT = Action(kind=ActionKind.ALERT, target="slack", payload={"kind": "escalation"})
DUE = T0 + timedelta(hours=1)
SLA = SlaFields(state=SlaState.OK, due_at=DUE, warn_at=DUE - timedelta(minutes=30),
                next_at=DUE - timedelta(minutes=30), clock={"state": "ok"},
                timeline={"statuses": [], "tiers": []})


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with backend_store(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def ticket_id(store: Store) -> int:
    """A tenant ``acme`` with one tier-2 ticket, its SLA not yet computed."""
    tenant = new_tenant(store, "acme")
    with session_scope(store.factory) as s:
        row = upsert_ticket(s, tenant_id=tenant, ticket=make_ticket(), tier=2, priority="high",
                            category="billing", sla_due_at=None, input_fingerprint="fp")
        return row.id


def entry(ticket_id: int, cause_key: str = "event:7", **fields: Any) -> Entry:
    values: dict[str, Any] = {
        "tenant_id": 1, "tenant_slug": "acme", "ticket_id": ticket_id,
        "ticket_external_id": "4711", "cause_key": cause_key, "decided_at": T0,
        "decision": make_decision(tier=Tier.THREE), "actions": (TAGS, ALERT), "event_id": None,
    }
    return Entry(**{**values, **fields})


def counts(store: Store) -> tuple[int, int]:
    with session_scope(store.factory) as s:
        return (s.scalar(select(func.count()).select_from(DecisionRow)) or 0,
                s.scalar(select(func.count()).select_from(OutboxRow)) or 0)


def test_a_decision_its_sla_and_its_outbox_rows_are_written_together(
        store: Store, ticket_id: int) -> None:
    with session_scope(store.factory) as s:
        row = s.get(TicketRow, ticket_id)
        recorded = record(s, entry(ticket_id), sla=SLA, ticket=row)

    with session_scope(store.factory) as s:
        ticket = s.get(TicketRow, ticket_id)
        assert ticket is not None
        assert (ticket.tier, ticket.priority, ticket.sla_state, ticket.sla_due_at) == (
            3, Priority.HIGH.value, "ok", DUE)
        decision = s.get(DecisionRow, recorded.decision_id)
        assert decision is not None and decision.tier == 3
        rows = s.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
    # One row per target, each citing the decision, keyed by the tenant, the cause and target.
    assert [(r.target, r.idempotency_key, r.decision_id, r.ticket_id) for r in rows] == [
        ("helpdesk", "acme:event:7:helpdesk", recorded.decision_id, ticket_id),
        ("slack", "acme:event:7:slack", recorded.decision_id, ticket_id),
    ]
    assert recorded.outbox_ids == tuple(r.id for r in rows)


def test_the_same_cause_queues_nothing_twice(store: Store, ticket_id: int) -> None:
    with session_scope(store.factory) as s:
        first = record(s, entry(ticket_id))
    with session_scope(store.factory) as s:
        again = record(s, entry(ticket_id))
    assert len(first.outbox_ids) == 2
    assert again.outbox_ids == ()
    assert counts(store)[1] == 2


def test_a_refused_decision_leaves_nothing_half_written(store: Store, ticket_id: int) -> None:
    unversioned = replace(make_decision(), matrix_version="")
    with pytest.raises(ValidationError, match="matrix version"), \
            session_scope(store.factory) as s:
        record(s, entry(ticket_id, decision=unversioned), sla=SLA,
               ticket=s.get(TicketRow, ticket_id))
    assert counts(store) == (0, 0)
    with session_scope(store.factory) as s:
        ticket = s.get(TicketRow, ticket_id)
        assert ticket is not None and (ticket.tier, ticket.sla_state) == (2, None)


def test_sla_fields_need_the_ticket_row(store: Store, ticket_id: int) -> None:
    with pytest.raises(ValueError, match="ticket row"), session_scope(store.factory) as s:
        record(s, entry(ticket_id), sla=SLA)
    assert counts(store) == (0, 0)


def test_write_backs_without_a_decision_cite_none(store: Store, ticket_id: int) -> None:
    with session_scope(store.factory) as s:
        recorded = record(s, entry(ticket_id, "sla:1:warning", decision=None, actions=(ALERT,)))
        row = s.get(OutboxRow, recorded.outbox_ids[0])
        assert row is not None
        assert (row.decision_id, row.idempotency_key) == (None, "acme:sla:1:warning:slack")
    assert recorded.decision_id is None
    assert counts(store) == (0, 1)


def test_of_two_writers_of_one_sla_step_only_the_first_writes(
        store: Store, ticket_id: int) -> None:
    with session_scope(store.factory) as s:
        record(s, entry(ticket_id, actions=()), sla=SLA, ticket=s.get(TicketRow, ticket_id))
    # Both read the ticket at "ok" before either moved it, as two schedulers would.
    step = SlaStep(expect_state="ok", expect_next_at=SLA.next_at,
                   changes={"state": SlaState.WARNING, "next_at": DUE})
    decided = counts(store)
    with session_scope(store.factory) as first_s, session_scope(store.factory) as second_s:
        first, second = DecisionLog(first_s), DecisionLog(second_s)
        assert first.add(entry(ticket_id, "sla:1:warning", decision=None, actions=(ALERT,)),
                         sla=step)
        first.flush()
        first_s.commit()
        assert not second.add(entry(ticket_id, "sla:1:warning", decision=None,
                                    actions=(ALERT,)), sla=step)
        assert second.flush() == []
    assert counts(store) == (decided[0], decided[1] + 1)
    with session_scope(store.factory) as s:
        ticket = s.get(TicketRow, ticket_id)
        assert ticket is not None and (ticket.sla_state, ticket.sla_next_at) == ("warning", DUE)


def test_a_log_writes_many_entries_in_order(store: Store, ticket_id: int) -> None:
    with session_scope(store.factory) as s:
        log = DecisionLog(s)
        log.add(entry(ticket_id, "sla:1:breach", cause="sla_breach"))
        log.add(entry(ticket_id, "sla:1:warning", decision=None, actions=(ALERT,)))
        log.add(entry(ticket_id, "sla:1:recheck", decision=None, actions=()))
        breach, warning, recheck = log.flush()
        decision = s.get(DecisionRow, breach.decision_id)
        assert decision is not None and decision.cause == "sla_breach"
    assert len(breach.outbox_ids) == 2 and len(warning.outbox_ids) == 1
    assert breach.outbox_ids[-1] < warning.outbox_ids[0]
    assert (warning.decision_id, recheck.decision_id, recheck.outbox_ids) == (None, None, ())
