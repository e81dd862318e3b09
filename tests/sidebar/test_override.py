"""An agent overrides the tier: recorded for the review, logged, written back via the outbox."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from integration import store
from integration.demo.seed import seed_demo
from integration.store.people import TierOverrideRow
from integration.worker import drain
from sidebar_ui.override import validate_override
from tests.sidebar.test_sidebar_page import sidebar_url, token_for

AGENT = "kim@ourco.example"


def _first(runtime: Any, tier: int) -> str:
    with store.session_scope(runtime.sessions) as s:
        found = s.scalars(select(store.TicketRow.external_id)
                          .where(store.TicketRow.tier == tier)
                          .order_by(store.TicketRow.external_id)).first()
    assert found is not None, f"the demo workspace has no tier {tier} ticket"
    return str(found)


@pytest.fixture
def seeded(runtime: Any) -> Any:
    """The demo workspace, its first deliveries done (so only the override's rows are new)."""
    seed_demo(runtime)
    return runtime


def counts(runtime: Any) -> dict[str, int]:
    """Rows in the tables an override writes to."""
    with store.session_scope(runtime.sessions) as s:
        return {
            name: s.scalar(select(func.count()).select_from(table)) or 0
            for name, table in (("overrides", TierOverrideRow),
                                ("decisions", store.DecisionRow),
                                ("outbox", store.OutboxRow))
        }


def ticket_state(runtime: Any, ticket_id: str) -> tuple[int | None, str | None]:
    """The ticket row's tier and priority."""
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        row = store.get_ticket(s, tenant.id, "sandbox", ticket_id)
        assert row is not None
        return row.tier, row.priority


def post_override(client: Any, runtime: Any, ticket_id: str, **form: str) -> Any:
    """Submit the sidebar's override form the way the browser does."""
    token = token_for(runtime, ticket_id=ticket_id, user=AGENT)
    return client.post(f"{sidebar_url(ticket_id)}/override",
                       data={"sidebar_token": token, **form})


def test_override_down_is_recorded_logged_and_written_back(client: Any, seeded: Any) -> None:
    ticket_id = _first(seeded, 3)
    before = counts(seeded)

    response = post_override(client, seeded, ticket_id, tier="1",
                             reason="Routine PO change, no risk to the account")

    assert response.status_code == 303
    assert counts(seeded) == {"overrides": before["overrides"] + 1,
                              "decisions": before["decisions"] + 1,
                              "outbox": before["outbox"] + 1}
    assert ticket_state(seeded, ticket_id) == (1, "normal")
    with store.session_scope(seeded.sessions) as s:
        override = s.scalars(select(TierOverrideRow).order_by(TierOverrideRow.id.desc())).first()
        assert override is not None
        assert (override.from_tier, override.to_tier, override.agent, override.reason) == (
            3, 1, AGENT, "Routine PO change, no risk to the account")
        decision = s.get(store.DecisionRow, override.decision_id)
        assert decision is not None
        assert (decision.cause, decision.tier, decision.previous_tier) == ("agent_override", 1, 3)
        assert decision.rules == [{
            "rule_id": "agent_override",
            "reason": f"Agent {AGENT} set tier 1: Routine PO change, no risk to the account",
        }]
        assert decision.signals, "the evidence of the decision overridden is kept"
        row = s.scalars(select(store.OutboxRow).where(store.OutboxRow.decision_id == decision.id)
                        ).one()
        actions = {a["kind"]: a["payload"] for a in row.actions}
    assert row.target == "helpdesk" and row.ticket_external_id == ticket_id
    assert "escalade_tier_1" in actions["add_tags"]["tags"]
    assert "escalade_tier_3" in actions["remove_tags"]["tags"]
    assert actions["set_field"] == {"field": "tier", "value": 1}
    assert actions["set_priority"] == {"priority": "normal"}
    assert "Routine PO change" in actions["internal_note"]["body"]
    assert "public_reply" not in actions and "assign" not in actions

    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'id="tier-badge"[^>]*>Tier 1<', html)
    result = re.search(r'id="override-result"[^>]*>(.*?)</div>', html, re.S)
    assert result is not None and "recorded with the ticket" in result.group(1)
    assert 'id="overrides"' in html and "Routine PO change" in html


def test_override_write_back_is_delivered(client: Any, seeded: Any) -> None:
    ticket_id = _first(seeded, 3)
    post_override(client, seeded, ticket_id, tier="2", reason="Handled by the CSM already")

    drain(seeded)

    with store.session_scope(seeded.sessions) as s:
        rows = s.scalars(select(store.OutboxRow)
                         .where(store.OutboxRow.idempotency_key.like("demo:override:%"))).all()
        assert [r.status for r in rows] == ["delivered"]


def test_override_up_routes_notes_and_alerts_but_never_replies(client: Any,
                                                               seeded: Any) -> None:
    with store.session_scope(seeded.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        store.update_tenant(s, tenant, cipher=seeded.cipher, settings={"connectors": ["slack"]})
    ticket_id = _first(seeded, 2)

    response = client.post(
        f"{sidebar_url(ticket_id)}/override",
        json={"sidebar_token": token_for(seeded, ticket_id=ticket_id, user=AGENT),
              "tier": 3, "reason": "Their CFO called: renewal at risk"},
    )

    assert response.status_code == 200
    body = response.get_json()
    assert (body["tier"], body["from_tier"]) == (3, 2)
    assert "recorded with the ticket" in body["message"]
    with store.session_scope(seeded.sessions) as s:
        rows = s.scalars(select(store.OutboxRow)
                         .where(store.OutboxRow.id.in_(body["outbox_ids"]))).all()
        by_target = {r.target: [a["kind"] for a in r.actions] for r in rows}
    assert "slack" in by_target and set(by_target["slack"]) == {"alert"}
    assert {"add_tags", "set_field", "internal_note"} <= set(by_target["helpdesk"])
    assert "public_reply" not in by_target["helpdesk"]
    assert ticket_state(seeded, ticket_id) == (3, "urgent")


def test_override_down_never_alerts(client: Any, seeded: Any) -> None:
    with store.session_scope(seeded.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        store.update_tenant(s, tenant, cipher=seeded.cipher, settings={"connectors": ["slack"]})
    ticket_id = _first(seeded, 3)

    response = post_override(client, seeded, ticket_id, tier="2", reason="Not a churn risk")

    assert response.status_code == 303
    with store.session_scope(seeded.sessions) as s:
        targets = s.scalars(select(store.OutboxRow.target)
                            .where(store.OutboxRow.idempotency_key.like("demo:override:%"))
                            ).all()
    assert targets == ["helpdesk"]


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"tier": "1", "reason": "   "}, "reason", "Say why the tier is wrong"),
    ({"tier": "1"}, "reason", "Say why the tier is wrong"),
    ({"tier": "7", "reason": "wrong"}, "tier", "The tier must be 1, 2 or 3"),
    ({"tier": "", "reason": "wrong"}, "tier", "Choose the tier"),
    ({"tier": "3", "reason": "same"}, "tier", "already tier 3"),
])
def test_bad_override_is_422_at_the_field_and_writes_nothing(
    client: Any, seeded: Any, form: dict[str, str], field: str, message: str
) -> None:
    ticket_id = _first(seeded, 3)
    before = counts(seeded)

    response = post_override(client, seeded, ticket_id, **form)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(rf'id="override-{field}-error"[^>]*>([^<]*)<', html)
    assert error is not None and message in error.group(1)
    assert f'aria-describedby="override-{field}-error"' in html
    # What the agent typed is kept so they can fix it.
    if form.get("reason", "").strip():
        assert form["reason"] in html
    assert counts(seeded) == before
    assert ticket_state(seeded, ticket_id)[0] == 3


def test_bad_json_override_answers_errors_by_field(client: Any, seeded: Any) -> None:
    ticket_id = _first(seeded, 3)
    before = counts(seeded)

    response = client.post(
        f"{sidebar_url(ticket_id)}/override",
        json={"sidebar_token": token_for(seeded, ticket_id=ticket_id), "tier": 0},
    )

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"tier", "reason"}
    assert counts(seeded) == before


def test_override_without_token_is_401_and_writes_nothing(client: Any, seeded: Any) -> None:
    ticket_id = _first(seeded, 3)
    before = counts(seeded)

    response = client.post(f"{sidebar_url(ticket_id)}/override",
                           data={"tier": "1", "reason": "no token"})

    assert response.status_code == 401
    assert counts(seeded) == before


def test_validate_override_collapses_whitespace_and_caps_length() -> None:
    parsed, errors = validate_override({"tier": " 2 ", "reason": " too\n many  spaces "},
                                       current_tier=3)
    assert errors == {} and parsed is not None
    assert (int(parsed.tier), parsed.reason) == (2, "too many spaces")

    _, errors = validate_override({"tier": "2", "reason": "x" * 2001}, current_tier=3)
    assert set(errors) == {"reason"}
