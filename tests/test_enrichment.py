"""Around the ticket: product activity, routing and previous tickets in the pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from integration import store
from integration.worker import drain
from tests.conftest import make_ticket, post_sandbox, sandbox_body

ROUTING = {
    "groups": [{"id": "support_tier_2", "skills": []},
               {"id": "escalations", "skills": [], "senior": True}],
    "agents": [
        {"id": "11", "name": "Ana", "groups": ["support_tier_2"], "skills": ["bug"],
         "max_open": 5},
        {"id": "12", "name": "Ben", "groups": ["support_tier_2"], "skills": ["billing"],
         "max_open": 5},
        {"id": "21", "name": "Olga", "groups": ["escalations"], "skills": ["bug", "billing"],
         "max_open": 5, "aliases": ["olga@ourco.example"]},
    ],
}


def _at(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat().replace(
        "+00:00", "Z")


def _configure(runtime: Any, **settings: Any) -> None:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        store.update_tenant(s, tenant, cipher=runtime.cipher, settings=settings)
    runtime.forget_adapters()


def _latest(runtime: Any, ticket_id: str) -> tuple[Any, list[dict[str, Any]]]:
    with store.session_scope(runtime.sessions) as s:
        row = store.get_ticket(s, 1, "sandbox", ticket_id)
        assert row is not None
        decision = store.decisions_for_ticket(s, row.id, limit=1)[0]
        actions = [a for o in s.scalars(select(store.OutboxRow).where(
            store.OutboxRow.ticket_id == row.id)) for a in o.actions]
        s.expunge_all()
        return decision, actions


def bug(id: str, *, at: str, account: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return make_ticket(
        id=id, subject="CSV export fails", created_at=at, updated_at=at,
        account=account or {"id": "c1", "name": "Northwind", "plan": "enterprise",
                            "arr": 90000, "health": 0.8, "owner": "olga@ourco.example"},
        messages=[{"id": f"{id}-m1", "author": "customer", "public": True, "created_at": at,
                   "body": "The CSV export fails with error 500 since this morning. "
                           "We already tried another browser."}],
        **extra)


def test_routing_picks_the_skilled_agent_and_explains_it(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    _configure(runtime, routing=ROUTING)
    post_sandbox(client, sandbox_body(bug("30", at=_at(1)), delivery_id="r1"))
    drain(runtime)
    decision, actions = _latest(runtime, "30")
    assert decision.tier == 2
    assert decision.route["assignee"] == "11"
    assert "Ana" in decision.route["reason"] and "bug" in decision.route["reason"]
    assign = next(a for a in actions if a["kind"] == "assign")
    assert assign["payload"] == {"group": "support_tier_2", "assignee": "11"}


def test_declining_usage_before_renewal_escalates_and_shows_in_the_note(
    client: Any, runtime: Any, sandbox_tenant: str, tmp_path: Path
) -> None:
    renewal = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
    usage = tmp_path / "usage.csv"
    usage.write_text("account_id,domain,logins_30d,logins_prev_30d,mrr,renewal_date\n"
                     f"c1,northwind.example,4,40,7500,{renewal}\n", encoding="utf-8")
    _configure(runtime, activity={"kind": "csv", "path": str(usage)}, routing=ROUTING)
    post_sandbox(client, sandbox_body(bug("31", at=_at(1)), delivery_id="a1"))
    drain(runtime)
    decision, actions = _latest(runtime, "31")
    assert decision.tier == 3
    assert [r["rule_id"] for r in decision.rules][-1] == "declining_before_renewal"
    # Tier 3 goes to the account owner when they can take it.
    assert decision.route["assignee"] == "21"
    note = next(a for a in actions if a["kind"] == "internal_note")["payload"]["body"]
    assert "4 logins in the last 30 days (previous 30 days: 40)" in note
    assert "product usage is declining" in note and f"renews on {renewal}" in note
    assert 'Already tried: "We already tried another browser."' in note


def test_the_note_lists_earlier_tickets_on_the_same_issue(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    post_sandbox(client, sandbox_body(bug("40", at=_at(60 * 24 * 20), status="solved"),
                                      delivery_id="p1"))
    drain(runtime)
    post_sandbox(client, sandbox_body(bug("41", at=_at(1)), delivery_id="p2"))
    drain(runtime)
    decision, actions = _latest(runtime, "41")
    note = next(a for a in actions if a["kind"] == "internal_note")["payload"]["body"]
    assert "Previous tickets on this issue:" in note
    assert "- #40 CSV export fails (solved," in note
    # The decision log keeps the handoff for the sidebar.
    assert [p["id"] for p in decision.handoff["previous"]] == ["40"]
    assert decision.handoff["tried"] == ["We already tried another browser."]


def test_routing_that_finds_nobody_keeps_the_matrix_group() -> None:
    from integration.enrich import route_decision
    from integration.models import (
        Action,
        ActionKind,
        Category,
        Decision,
        Priority,
        Route,
        Ticket,
        Tier,
    )
    from integration.routing import RoutingTable

    ticket = Ticket.from_dict(bug("50", at=_at(1)))
    assign = Action(kind=ActionKind.ASSIGN, target="helpdesk", payload={"group": "escalations"})
    decision = Decision(ticket_id="50", tier=Tier.THREE, priority=Priority.URGENT,
                        category=Category.BUG, sentiment=0.0, triggers=(), rules=(),
                        matrix_version="v1", route=Route(group=None), actions=(assign,))
    empty = RoutingTable.from_settings({"groups": [], "agents": []})
    routed = route_decision(decision, ticket, routing=empty, previous_tier=None,
                            last_assigned={}, now=datetime.now(UTC))
    assert [a.payload for a in routed.actions if a.kind is ActionKind.ASSIGN] == [
        {"group": "escalations"}]
    assert routed.route.assignee is None and routed.route.reason
