"""A later decision adds to a ticket's story, it never erases it: the timeline everywhere.

An SLA promotion, a breach and an agent's override each add a step; the start page and the
sidebar keep showing the reasons of the decision that set the tier and of every earlier one,
with what each wrote back and whether it landed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integration import store
from integration.matrix import default_matrix
from integration.pipeline import process_event
from integration.worker import drain
from scheduler import sla_sweep
from sidebar_ui.sidebar_view import build_sidebar
from sidebar_ui.timeline_view import build_timeline
from tests.conftest import make_ticket, post_sandbox, sandbox_body
from tests.sidebar.test_sidebar_page import sidebar_url, token_for

# Monday 2 November 2026, 09:14 UTC; a Tier 2 first response is due 4 business hours later.
CREATED = "2026-11-02T09:14:00Z"
T0 = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
DUE = datetime(2026, 11, 2, 13, 14, tzinfo=UTC)
BILLING = ("Our invoice INV-2291 charged 19% VAT although we gave you our EU VAT ID. "
           "Please correct it and send a new invoice.")
ZONE = default_matrix().display_zone


def decision(id: int, *, tier: int, previous: int | None, cause: str = "event",
             rule: str = "billing_adjustment", minutes: int = 0) -> store.DecisionRow:
    return store.DecisionRow(
        id=id, ticket_id=1, cause=cause, decided_at=T0 + timedelta(minutes=minutes), tier=tier,
        previous_tier=previous, matrix_version="v1-test", sentiment=0.0, signals={},
        rules=[{"rule_id": rule, "reason": f"{rule} fired"}])


def write(id: int, *, decision_id: int | None, minutes: int = 0, status: str = "delivered",
          actions: list[dict[str, Any]] | None = None) -> store.OutboxRow:
    return store.OutboxRow(
        id=id, decision_id=decision_id, ticket_id=1, target="helpdesk", status=status,
        attempts=1, created_at=T0 + timedelta(minutes=minutes), last_error=None, result=None,
        actions=actions or [{"kind": "add_tags", "payload": {"tags": ["escalade_tier_2"]}}])


# --- the story, pure --------------------------------------------------------------------------


def test_a_promotion_sets_the_tier_and_the_first_reasons_stay() -> None:
    decisions = [decision(2, tier=3, previous=2, cause="sla_breach", rule="sla_breach",
                          minutes=240),
                 decision(1, tier=2, previous=None)]
    writes = [write(12, decision_id=2, minutes=240), write(11, decision_id=1)]

    timeline = build_timeline(3, decisions, writes, zone=ZONE)

    assert [(s.by, s.change) for s in timeline.steps] == [
        ("SLA sweep", "Tier 2 → 3"), ("New ticket", "Tier 2")]
    assert [[r.rule_id for r in s.rules] for s in timeline.steps] == [
        ["sla_breach"], ["billing_adjustment"]]
    assert [[w.status for w in s.writes] for s in timeline.steps] == [["delivered"]] * 2
    assert timeline.set_by is timeline.steps[0]
    assert timeline.steps[0].at == "Mon 2 Nov 14:15 CET"


def test_a_breach_that_keeps_the_tier_does_not_take_over_the_why() -> None:
    row = store.TicketRow(id=1, helpdesk="sandbox", external_id="9", data={}, status="open",
                          tier=3, sla_state="breached")
    decisions = [decision(2, tier=3, previous=3, cause="sla_breach", rule="sla_breach",
                          minutes=90),
                 decision(1, tier=3, previous=None, rule="refund_demand")]

    view = build_sidebar(row, decisions, [], matrix=default_matrix(), now=T0)

    assert [r.rule_id for r in view.rules] == ["refund_demand"]
    assert view.timeline.set_by is view.timeline.steps[1]
    assert [s.change for s in view.timeline.steps] == ["Tier 3, unchanged", "Tier 3"]


def test_the_latest_reading_of_the_ticket_says_why_even_at_the_same_tier() -> None:
    # The customer wrote again: the matrix weighed the ticket afresh and kept tier 3 for a
    # new reason; that reason, not the first one, is why the ticket is tier 3 now.
    decisions = [decision(3, tier=3, previous=3, cause="sla_breach", rule="sla_breach",
                          minutes=90),
                 decision(2, tier=3, previous=3, rule="churn_risk", minutes=30),
                 decision(1, tier=3, previous=None, rule="refund_demand")]

    timeline = build_timeline(3, decisions, [], zone=ZONE)

    assert timeline.set_by is timeline.steps[1]
    assert [r.rule_id for r in timeline.set_by.rules] == ["churn_risk"]
    assert timeline.set_by.by == "Ticket changed"


def test_a_write_back_without_a_decision_is_a_step_of_its_own() -> None:
    note = {"kind": "internal_note",
            "payload": {"body": "Escalade: SLA warning: first response is due soon."}}
    timeline = build_timeline(
        2, [decision(1, tier=2, previous=None)],
        [write(12, decision_id=None, minutes=200, status="failed", actions=[note]),
         write(11, decision_id=1)], zone=ZONE)

    warning, first = timeline.steps
    assert (warning.by, warning.change, warning.said) == (
        "Written back", None, "Escalade: SLA warning: first response is due soon.")
    assert [(w.status, w.written) for w in warning.writes] == [("failed", ("internal note",))]
    assert first.sets_tier and not warning.sets_tier


# --- the story, through the real pipeline, sweep and override ---------------------------------


@pytest.fixture
def promoted(client: Any, runtime: Any, sandbox_tenant: str, monkeypatch: pytest.MonkeyPatch
             ) -> Any:
    """A Tier 2 billing ticket nobody answered: the sweep promotes it to Tier 3."""
    clock = [T0]
    monkeypatch.setattr(runtime, "now", lambda: clock[0])
    ticket = make_ticket(
        id="20", subject="Wrong VAT on invoice", created_at=CREATED, updated_at=CREATED,
        requester={"id": "u20", "email": "lee@shop.example", "name": "Lee"},
        messages=[{"id": "m1", "author": "customer", "public": True, "body": BILLING,
                   "created_at": CREATED}])
    response = post_sandbox(client, sandbox_body(ticket, delivery_id="d1"))
    process_event(runtime, response.get_json()["event_id"], now=T0)
    drain(runtime, now=T0)
    clock[0] = DUE + timedelta(minutes=1)
    assert sla_sweep(runtime, clock[0]).promoted == 1
    drain(runtime, now=clock[0])
    return runtime


def row_html(page: str, ticket_id: str) -> str:
    start = page.index(f'id="ticket-demo-{ticket_id}"')
    return page[start:page.index("</tr>", start)]


def test_the_start_page_keeps_the_reasons_before_a_promotion(client: Any, promoted: Any
                                                             ) -> None:
    row = row_html(client.get("/").text, "20")

    assert "Tier 3, set Mon 2 Nov 14:15 CET · SLA sweep" in row
    steps = re.findall(r'<li class="step[^"]*">(.*?)</li>\s*(?=<li class="step|</ol>)', row,
                       re.S)
    assert len(steps) == 2
    assert "SLA sweep · <strong>Tier 2 → 3</strong>" in steps[0]
    assert "<code>sla_breach</code>" in steps[0] and "priority → urgent" in steps[0]
    assert "New ticket · <strong>Tier 2</strong>" in steps[1]
    assert "<code>billing_adjustment</code>" in steps[1] and "priority → high" in steps[1]
    assert steps[0].count('class="delivery delivered"') == steps[1].count(
        'class="delivery delivered"') == 1


def test_the_sidebar_shows_why_the_tier_and_every_step(client: Any, promoted: Any) -> None:
    html = client.get(sidebar_url("20", token_for(promoted, ticket_id="20"))).text

    why = html[html.index('id="why"'):html.index('id="timeline"')]
    assert "Why tier 3" in why and 'data-rule="sla_breach"' in why
    assert 'data-rule="billing_adjustment"' not in why
    timeline = html[html.index('id="timeline"'):]
    assert timeline.index('data-rule="sla_breach"') < timeline.index(
        'data-rule="billing_adjustment"')
    assert timeline.count("<code>helpdesk</code> delivered") == 2


def test_an_override_adds_a_step_on_top_and_keeps_the_rest(client: Any, promoted: Any
                                                           ) -> None:
    token = token_for(promoted, ticket_id="20", user="kim@ourco.example")
    answer = client.post(f"{sidebar_url('20')}/override",
                         data={"sidebar_token": token, "tier": "2",
                               "reason": "Only a VAT correction, no rush"})
    assert answer.status_code == 303

    row = row_html(client.get("/").text, "20")

    assert "Tier 2, set" in row and "· Agent override</p>" in row
    order = [row.index(f"<code>{rule}</code>")
             for rule in ("agent_override", "sla_breach", "billing_adjustment")]
    assert order == sorted(order)
    assert "Only a VAT correction, no rush" in row
    assert "Agent override · <strong>Tier 3 → 2</strong>" in row
    assert 'class="delivery pending"' in row  # the override's write-back is on its way
