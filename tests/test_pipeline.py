"""From a stored event to a decision and exactly one delivered write-back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from integration import store
from tests.conftest import make_ticket, post_sandbox, sandbox_body
from tests.work import drain, run_once

pytestmark = pytest.mark.scaleout

REFUND = make_ticket(
    id="7", subject="Refund now",
    account={"id": "c1", "name": "BigCo", "plan": "enterprise", "arr": 250000, "health": 0.8},
    messages=[{"id": "m1", "author": "customer", "public": True,
               "body": "We were charged twice this month. I want a full refund of the second "
                       "charge, otherwise we will dispute it with our bank.",
               "created_at": "2026-11-02T09:14:00Z"}],
)


def _count(runtime: Any, table: Any) -> int:
    with store.session_scope(runtime.sessions) as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def _outbox(runtime: Any) -> list[Any]:
    with store.session_scope(runtime.sessions) as s:
        rows = list(s.scalars(select(store.OutboxRow).order_by(store.OutboxRow.id)))
        s.expunge_all()
        return rows


def test_webhook_to_decision_to_write_back(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    assert post_sandbox(client, sandbox_body(REFUND, delivery_id="d1")).status_code == 202
    report = drain(runtime)
    assert report.decided == 1 and report.delivered == 1
    with store.session_scope(runtime.sessions) as s:
        ticket = store.get_ticket(s, 1, "sandbox", "7")
        assert ticket is not None and ticket.tier == 3
        decision = s.scalars(select(store.DecisionRow)).one()
        assert decision.matrix_version == runtime.matrix.version
        assert decision.rules, "a decision must cite the rules that fired"
        assert any("refund" in r["rule_id"] or "refund" in r["reason"] for r in decision.rules)
    (row,) = _outbox(runtime)
    assert row.status == "delivered"
    kinds = {a["kind"] for a in row.actions}
    assert {"add_tags", "set_priority", "internal_note"} <= kinds
    assert any("escalade_tier_3" in a["payload"].get("tags", []) for a in row.actions)


def test_duplicate_delivery_gives_one_decision(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    body = sandbox_body(REFUND, delivery_id="d1")
    post_sandbox(client, body)
    drain(runtime)
    post_sandbox(client, body)
    drain(runtime)
    assert _count(runtime, store.DecisionRow) == 1
    assert _count(runtime, store.OutboxRow) == 1


def test_own_write_back_does_not_loop(client: Any, runtime: Any, sandbox_tenant: str) -> None:
    post_sandbox(client, sandbox_body(REFUND, delivery_id="d1"))
    drain(runtime)
    # The helpdesk echoes our update: our tags, priority and note, nothing new from a human.
    echoed = dict(REFUND, tags=["escalade_tier_3", "escalade_refund"], priority="urgent",
                  updated_at="2026-11-02T09:15:00Z",
                  messages=[*REFUND["messages"],
                            {"id": "m2", "author": "bot", "public": False,
                             "body": "Escalade: Tier 3 because ...",
                             "created_at": "2026-11-02T09:15:00Z"}])
    post_sandbox(client, sandbox_body(echoed, delivery_id="d2", event="ticket.updated"))
    report = drain(runtime)
    assert report.unchanged == 1 and report.decided == 0
    assert _count(runtime, store.DecisionRow) == 1
    assert _count(runtime, store.OutboxRow) == 1


def test_new_customer_message_is_rescored_and_tier_never_drops(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    at_risk = make_ticket(
        id="8", subject="Invoice shows the wrong seat count",
        account={"id": "c2", "name": "Globex", "plan": "enterprise", "arr": 90000,
                 "health": 0.2},
        messages=[{"id": "m1", "author": "customer", "public": True,
                   "body": "Our November invoice bills 40 seats but we only have 32. "
                           "Please correct the invoice.",
                   "created_at": "2026-11-02T09:14:00Z"}],
    )
    post_sandbox(client, sandbox_body(at_risk, delivery_id="d1"))
    drain(runtime)
    # The CRM now says the account is healthy and the customer adds a polite follow-up:
    # on its own this is a Tier 2 billing question, but an open ticket's tier never drops.
    healthier = dict(at_risk, updated_at="2026-11-03T09:00:00Z",
                     account={**at_risk["account"], "health": 0.9},
                     messages=[*at_risk["messages"],
                               {"id": "m3", "author": "customer", "public": True,
                                "body": "Thanks, could you also send the corrected PDF?",
                                "created_at": "2026-11-03T09:00:00Z"}])
    post_sandbox(client, sandbox_body(healthier, delivery_id="d2", event="ticket.updated"))
    report = drain(runtime)
    assert report.decided == 1
    with store.session_scope(runtime.sessions) as s:
        decisions = list(s.scalars(select(store.DecisionRow).order_by(store.DecisionRow.id)))
        assert [d.tier for d in decisions] == [3, 3]
        assert any(r["rule_id"] == "at_risk_enterprise" for r in decisions[0].rules)
        assert decisions[1].previous_tier == 3
        assert any(r["rule_id"] == "tier_floor" for r in decisions[1].rules)
    # The acknowledgment went out once: the re-score does not send it again.
    replies = [a for row in _outbox(runtime) for a in row.actions if a["kind"] == "public_reply"]
    assert len(replies) == 1


def test_restart_between_decision_and_delivery_delivers_once(
    app_config: dict[str, Any], client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    from integration.pipeline import process_event
    from integration.runtime import Runtime

    post_sandbox(client, sandbox_body(REFUND, delivery_id="d1"))
    # Decide but "crash" before the outbox is delivered.
    (event_id,) = store.claim_pending_events(runtime.sessions, now=runtime.now(), limit=5)
    process_event(runtime, event_id, now=runtime.now())
    assert [r.status for r in _outbox(runtime)] == ["pending"]
    runtime.engine.dispose()

    restarted = Runtime(config=runtime.config)
    report = run_once(restarted)
    assert report.delivered == 1
    assert run_once(restarted).delivered == 0
    assert [r.status for r in _outbox(restarted)] == ["delivered"]
    restarted.engine.dispose()


def test_an_agents_override_stands_until_the_customer_writes_again(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    from datetime import UTC, datetime

    from integration.store.people import add_override

    post_sandbox(client, sandbox_body(REFUND, delivery_id="o1"))
    drain(runtime)
    with store.session_scope(runtime.sessions) as s:
        row = store.get_ticket(s, 1, "sandbox", "7")
        assert row is not None and row.tier == 3
        add_override(s, tenant_id=1, ticket_id=row.id, from_tier=3, to_tier=2,
                     reason="duplicate charge already reversed by the bank", agent="ana",
                     now=datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    agent_reply = {"id": "m2", "author": "agent", "public": True,
                   "body": "We are checking with finance.", "created_at": "2026-11-02T09:40:00Z"}
    replied = dict(REFUND, updated_at="2026-11-02T09:40:00Z",
                   messages=[*REFUND["messages"], agent_reply])
    post_sandbox(client, sandbox_body(replied, delivery_id="o2", event="ticket.updated"))
    drain(runtime)
    with store.session_scope(runtime.sessions) as s:
        row = store.get_ticket(s, 1, "sandbox", "7")
        assert row is not None and row.tier == 2
        (latest, *_) = store.decisions_for_ticket(s, row.id)
        assert [r["rule_id"] for r in latest.rules] == ["agent_override"]
        assert "the rules alone say tier 3" in latest.rules[0]["reason"]
    again = dict(replied, updated_at="2026-11-02T10:00:00Z", messages=[
        *replied["messages"], {"id": "m3", "author": "customer", "public": True,
                               "body": "Still no refund. I want my money back today.",
                               "created_at": "2026-11-02T10:00:00Z"}])
    post_sandbox(client, sandbox_body(again, delivery_id="o3", event="ticket.updated"))
    drain(runtime)
    with store.session_scope(runtime.sessions) as s:
        row = store.get_ticket(s, 1, "sandbox", "7")
        assert row is not None and row.tier == 3


def test_an_event_resolves_its_tenant_once(
    client: Any, runtime: Any, sandbox_tenant: str, monkeypatch: Any
) -> None:
    from integration.pipeline import process_event

    asked: list[str] = []
    for name in ("tenant_context", "matrix_for", "adapter_for", "routing_for",
                 "activity_source", "connector_for"):
        original = getattr(runtime, name)

        def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            asked.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(runtime, name, spy)
    response = post_sandbox(client, sandbox_body(REFUND, delivery_id="d1"))
    asked.clear()  # what the webhook itself needed
    result = process_event(runtime, response.get_json()["event_id"], now=runtime.now())
    assert result.outcome.value == "decided"
    # Everything the event needs of its tenant comes from one resolved context.
    assert asked.count("tenant_context") == 1
    assert asked.count("matrix_for") == asked.count("adapter_for") == 1
    assert asked.count("routing_for") == asked.count("activity_source") == 1
