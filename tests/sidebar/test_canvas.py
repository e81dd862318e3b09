"""The Intercom Canvas Kit app: signed requests in, schema-valid canvases out, overrides."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.helpdesk.intercom import body_signature
from integration import store
from integration.models import (
    Category,
    Decision,
    Evidence,
    Handoff,
    PreviousTicket,
    Priority,
    RuleHit,
    Signals,
    Status,
    Ticket,
    Tier,
)
from sidebar_ui.canvas import (
    UNKNOWN_TEXT,
    CanvasView,
    canvas_json,
    ticket_canvas,
    unknown_canvas,
)
from tests.conftest import make_ticket

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SECRET = "intercom-client-secret"
SCHEMAS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "specs" / "intercom"
           / "canvas-kit-schemas.from-2.11.json")


def assert_valid(response: dict[str, Any], schema: str = "initialize_response") -> None:
    """Check a response against Intercom's own schema, and its structure either way."""
    canvas = response["canvas"]
    components = canvas["content"]["components"]
    assert components and all(isinstance(c.get("type"), str) for c in components)
    assert len(canvas_json(canvas).encode()) < 64 * 1024  # Intercom's canvas size limit
    if not SCHEMAS.exists():
        pytest.skip(f"{SCHEMAS} absent (no ../shared): structure checked, schema not")
    import jsonschema

    document = json.loads(SCHEMAS.read_text())
    validator = jsonschema.Draft7Validator({**document,
                                            "$ref": f"#/components/schemas/{schema}"})
    errors = sorted(validator.iter_errors(response), key=str)
    assert not errors, "\n".join(e.message for e in errors[:5])


VIEW = CanvasView(
    ticket_id="1295", tier=3, priority="urgent",
    reasons=("Enterprise account with an outage: customer says *everything* is down",),
    evidence=("nothing loads since [9:00](http://evil.example)",),
    summary="Dashboards return 502 for all users since 9:00.",
    account={"id": "a1", "name": "BigCo", "plan": "enterprise", "arr": 240000,
             "health": 0.31, "owner": "pat@vendor.example"},
    sla_due_at=NOW + timedelta(minutes=45), sla_state="ok",
    previous=({"id": "1201", "subject": "Slow dashboards", "status": "solved",
               "created_at": "2026-10-20T08:00:00Z"},),
)


def test_ticket_canvas_shows_tier_why_context_and_form() -> None:
    canvas = ticket_canvas(VIEW, now=NOW)
    components = canvas["content"]["components"]
    texts = [c.get("text", "") for c in components if c["type"] == "text"]
    assert texts[0] == "Tier 3 · urgent priority"
    assert any("Enterprise account with an outage" in t for t in texts)
    # Customer words never become a Markdown link.
    assert "“nothing loads since [9:00] (http://evil.example)”" in texts
    table = next(c for c in components if c["type"] == "data-table")
    fields = {i["field"]: i["value"] for i in table["items"]}
    assert fields["ARR"] == "USD 240,000"
    assert fields["Health"] == "0.31 (at risk)"
    assert fields["Owner"] == "pat@vendor.example"
    assert fields["SLA due"] == "Mon 2 Nov 10:45 UTC (in 45 min)"  # no zone given: UTC
    listing = next(c for c in components if c["type"] == "list")
    assert listing["items"][0]["title"] == "Slow dashboards"
    dropdown = next(c for c in components if c["type"] == "dropdown")
    assert [o["id"] for o in dropdown["options"]] == ["1", "2", "3"]
    assert dropdown["value"] == "3"
    assert components[-1]["action"] == {"type": "submit"}
    assert_valid({"canvas": canvas})


def test_error_is_shown_next_to_the_reason_input() -> None:
    canvas = ticket_canvas(VIEW, now=NOW, values={"tier": "2"},
                           errors={"reason": "say why the tier is wrong"})
    components = canvas["content"]["components"]
    index = next(i for i, c in enumerate(components) if c.get("id") == "reason")
    assert components[index]["save_state"] == "failed"
    assert components[index + 1] == {"type": "text", "text": "say why the tier is wrong",
                                     "style": "error", "id": "reason-error"}
    assert next(c for c in components if c["type"] == "dropdown")["value"] == "2"
    assert_valid({"canvas": canvas}, "submit_response")


def test_unknown_conversation_canvas() -> None:
    canvas = unknown_canvas()
    assert any(c.get("text") == UNKNOWN_TEXT for c in canvas["content"]["components"])
    assert_valid({"canvas": canvas})


# --- the endpoints ------------------------------------------------------------------------


@pytest.fixture
def intercom(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Two Intercom tenants, conversation 1295 of "ic" decided Tier 3, the clock at NOW."""
    monkeypatch.setattr(runtime, "now", lambda: NOW)
    created = NOW - timedelta(hours=1)
    ticket = Ticket.from_dict(make_ticket(
        tenant="ic", helpdesk="intercom", id="1295", subject="Everything is down",
        created_at=created.isoformat(), updated_at=created.isoformat(),
        account={"id": "a1", "name": "BigCo", "plan": "enterprise", "arr": 240000,
                 "health": 0.31, "owner": "pat@vendor.example"},
    ))
    decision = Decision(
        ticket_id="1295", tier=Tier.THREE, priority=Priority.URGENT, category=Category.OUTAGE,
        sentiment=-0.6, triggers=("outage",), matrix_version=runtime.matrix.version,
        rules=(RuleHit(rule_id="enterprise_outage", reason="Enterprise outage: 'down'"),),
    )
    handoff = Handoff(summary="Dashboards return 502 since 9:00.", previous=(
        PreviousTicket(id="1201", subject="Slow dashboards", status=Status.SOLVED,
                       created_at=created - timedelta(days=10)),))
    with store.session_scope(runtime.sessions) as s:
        for slug in ("ic", "other"):
            store.add_tenant(s, slug=slug, name=slug, helpdesk="intercom", base_url=None,
                             secrets={"access_token": "x", "webhook_secret": f"{SECRET}-{slug}"},
                             settings={}, cipher=runtime.cipher)
        tenant = store.get_tenant(s, "ic")
        assert tenant is not None
        row = store.upsert_ticket(s, tenant_id=tenant.id, ticket=ticket, tier=3,
                                  priority="urgent", category="outage",
                                  sla_due_at=NOW + timedelta(minutes=30), input_fingerprint=None)
        store.add_decision(s, tenant_id=tenant.id, ticket_id=row.id, decision=decision,
                           decided_at=created, handoff=handoff, signals=Signals(
                               category=Category.OUTAGE, sentiment=-0.6,
                               evidence=(Evidence(kind="trigger", text="everything is down"),)))
    return runtime


def _post(client: Any, action: str, *, tenant: str = "ic", secret: str = f"{SECRET}-ic",
          conversation: str = "1295", **extra: Any) -> Any:
    body = json.dumps({
        "workspace_id": "ws1", "workspace_region": "us",
        "admin": {"id": "991", "email": "kim@ic.example"},
        "context": {"conversation_id": int(conversation), "location": "conversation"},
        "conversation": {"id": conversation}, "contact": {}, **extra,
    }).encode()
    return client.post(f"/intercom/canvas/{tenant}/{action}", data=body, headers={
        "Content-Type": "application/json", "X-Body-Signature": body_signature(secret, body)})


def _texts(response: Any) -> list[str]:
    return [c.get("text", "") for c in response.get_json()["canvas"]["content"]["components"]]


def test_initialize_returns_the_ticket_canvas(client: Any, intercom: Any) -> None:
    response = _post(client, "initialize", card_creation_options={})
    assert response.status_code == 200
    texts = _texts(response)
    assert texts[0] == "Tier 3 · urgent priority"
    assert "• Enterprise outage: 'down'" in texts
    assert "“everything is down”" in texts
    assert_valid(response.get_json())


def test_initialize_for_an_unknown_conversation(client: Any, intercom: Any) -> None:
    response = _post(client, "initialize", conversation="5")
    assert response.status_code == 200
    assert UNKNOWN_TEXT in _texts(response)
    assert_valid(response.get_json())


def test_requests_need_the_tenants_signature(client: Any, intercom: Any) -> None:
    assert _post(client, "initialize", secret="wrong").status_code == 401
    assert _post(client, "submit", secret="wrong").status_code == 401
    # Signed with the other tenant's client secret: valid proof, wrong tenant.
    assert _post(client, "initialize", secret=f"{SECRET}-other").status_code == 403
    unsigned = client.post("/intercom/canvas/ic/initialize", json={"conversation": {"id": "1"}})
    assert unsigned.status_code == 401
    assert "X-Body-Signature" in unsigned.get_json()["error"]


def _state(runtime: Any) -> tuple[Any, list[Any], list[Any]]:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "ic")
        assert tenant is not None
        row = store.get_ticket(s, tenant.id, "intercom", "1295")
        assert row is not None
        overrides = store.people.overrides_for_ticket(s, row.id)
        outbox = list(s.scalars(select(store.OutboxRow).where(store.OutboxRow.ticket_id == row.id)))
        decisions = store.decisions_for_ticket(s, row.id)
        s.expunge_all()
        return (row, decisions), overrides, outbox


def test_submit_records_the_override_and_queues_the_write_back(
    client: Any, intercom: Any
) -> None:
    response = _post(client, "submit", component_id="override", current_canvas={},
                     input_values={"tier": "2", "reason": "Only one dashboard is affected"})
    assert response.status_code == 200
    assert_valid(response.get_json(), "submit_response")
    texts = _texts(response)
    assert texts[0] == "Tier 2 · high priority"
    assert any(t.startswith("✓ Tier set to 2") for t in texts)
    assert "• Agent kim@ic.example set tier 2: Only one dashboard is affected" in texts
    # The context gathered by the matrix decision is still shown under the override.
    assert "Dashboards return 502 since 9:00." in texts
    (row, decisions), overrides, outbox = _state(intercom)
    assert row.tier == 2
    assert [(o.from_tier, o.to_tier, o.reason, o.agent) for o in overrides] == [
        (3, 2, "Only one dashboard is affected", "kim@ic.example")]
    assert decisions[0].cause == "agent_override"
    assert decisions[0].rules[0]["rule_id"] == "agent_override"
    assert "Only one dashboard is affected" in decisions[0].rules[0]["reason"]
    [queued] = outbox
    assert queued.target == "helpdesk" and queued.ticket_external_id == "1295"
    kinds = {a["kind"]: a["payload"] for a in queued.actions}
    assert kinds["set_field"] == {"field": "tier", "value": 2}
    assert "public_reply" not in kinds
    # Submitting the same form twice records a second override, never a duplicate outbox key.
    again = _post(client, "submit", component_id="override",
                  input_values={"tier": "1", "reason": "Workaround given"})
    assert again.status_code == 200
    assert len(_state(intercom)[2]) == 2


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"tier": "2", "reason": "  "}, "reason-error", "Say why the tier is wrong"),
    ({"tier": "2"}, "reason-error", "Say why the tier is wrong"),
    ({"tier": "3", "reason": "same"}, "tier-error", "already tier 3"),
    ({"tier": "9", "reason": "x"}, "tier-error", "must be 1, 2 or 3"),
])
def test_submit_with_a_bad_form_writes_nothing(
    client: Any, intercom: Any, values: dict[str, str], field: str, message: str
) -> None:
    response = _post(client, "submit", component_id="override", input_values=values)
    assert response.status_code == 200
    components = response.get_json()["canvas"]["content"]["components"]
    error = next(c for c in components if c.get("id") == field)
    assert message in error["text"] and error["style"] == "error"
    assert_valid(response.get_json(), "submit_response")
    (row, _), overrides, outbox = _state(intercom)
    assert (row.tier, overrides, outbox) == (3, [], [])


def test_submit_for_an_unknown_conversation(client: Any, intercom: Any) -> None:
    response = _post(client, "submit", conversation="5",
                     input_values={"tier": "1", "reason": "x"})
    assert response.status_code == 200
    assert UNKNOWN_TEXT in _texts(response)


def test_canvas_keeps_why_the_tier_and_lists_the_story_after_a_breach(
    client: Any, intercom: Any
) -> None:
    with store.session_scope(intercom.sessions) as s:
        tenant = store.get_tenant(s, "ic")
        assert tenant is not None
        row = store.get_ticket(s, tenant.id, "intercom", "1295")
        assert row is not None
        breach = Decision(
            ticket_id="1295", tier=Tier.THREE, priority=Priority.URGENT,
            category=Category.OUTAGE, sentiment=-0.6, triggers=(),
            matrix_version=intercom.matrix.version,
            rules=(RuleHit(rule_id="sla_breach", reason="SLA breach: first response was due"),))
        store.add_decision(s, tenant_id=tenant.id, ticket_id=row.id, decision=breach,
                           decided_at=NOW - timedelta(minutes=5), previous_tier=3,
                           cause="sla_breach")
        store.update_tenant(s, tenant, cipher=intercom.cipher, settings={"currency": "GBP"})

    response = _post(client, "initialize")

    texts = _texts(response)
    # The outage set tier 3; the breach is a later step, not the reason for the tier.
    assert "• Enterprise outage: 'down'" in texts
    assert not any(t.startswith("• SLA breach") for t in texts)
    history = texts[texts.index("**History**") + 1:]
    assert history[0] == "Mon 2 Nov 10:55 CET · SLA sweep · Tier 3, unchanged"
    assert history[1] == "Mon 2 Nov 10:00 CET · New ticket · Tier 3"
    table = next(c for c in response.get_json()["canvas"]["content"]["components"]
                 if c["type"] == "data-table")
    fields = {i["field"]: i["value"] for i in table["items"]}
    assert fields["ARR"] == "GBP 240,000"
    assert fields["SLA due"] == "Mon 2 Nov 11:30 CET (in 30 min)"  # the workspace's zone
    assert_valid(response.get_json())


def test_the_canvas_lists_the_help_centre_articles_that_open_in_a_new_tab() -> None:
    from dataclasses import replace

    from sidebar_ui.sidebar_view import KnowledgeView, SuggestionView

    article = SuggestionView(title="Export a report to CSV", kind="article", confidence="82%",
                             url="https://help.example.com/articles/1", excerpt="Open it.",
                             insert="Open it.")
    knowledge = KnowledgeView(status="Not answered automatically: it is a Tier 3 matter.",
                              suggestions=(article,))
    canvas = ticket_canvas(replace(VIEW, knowledge=knowledge), now=NOW)
    components = canvas["content"]["components"]
    texts = [c.get("text", "") for c in components if c["type"] == "text"]
    assert "**Help centre**" in texts
    assert "Not answered automatically: it is a Tier 3 matter." in texts
    item = next(i for c in components if c["type"] == "list" for i in c["items"]
                if i["id"] == "article-0")
    assert item["subtitle"] == "article · 82% sure"
    assert item["action"] == {"type": "url", "url": "https://help.example.com/articles/1"}
    assert_valid({"canvas": canvas})
