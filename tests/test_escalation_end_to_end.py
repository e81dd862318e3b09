"""Issue 6 end to end: webhook → CRM enrichment → Tier 3 → Slack alert and HubSpot note/task →
a signed "Take ownership" click → the ticket assigned in the helpdesk, the alert updated."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from integration import store
from integration.web import create_app
from tests.conftest import SANDBOX_SECRET, make_ticket, post_sandbox, sandbox_body
from tests.connectors.hubspot_server import TOKEN as HUBSPOT_TOKEN
from tests.connectors.hubspot_server import HubSpotMock
from tests.connectors.slack_server import TEAM_ID, FakeSlack, running_slack_api, sign
from tests.connectors.slack_server import TOKEN as SLACK_TOKEN
from tests.work import drain

pytestmark = pytest.mark.scaleout

SIGNING_SECRET = "slack-signing-secret-for-tests"


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    with running_slack_api() as fake:
        yield fake


@pytest.fixture
def hubspot() -> Iterator[HubSpotMock]:
    with HubSpotMock() as mock:
        mock.add_owner("7001", "ana@ourco.example", "Ana", "Silva")
        mock.add_company("101", name="Northwind Freight", domain="northwind.example",
                         annualrevenue="250000", plan="Enterprise", lifecyclestage="customer",
                         health_score="0.3", hubspot_owner_id="7001",
                         renewal_date="2027-01-15")
        yield mock


@pytest.fixture
def wired(app_config: dict[str, Any], slack_api: FakeSlack, hubspot: HubSpotMock) -> Iterator[Any]:
    """An app with Slack and HubSpot connected for the sandbox tenant ``demo``."""
    store.upgrade(app_config["DATABASE_URL"])
    app = create_app({**app_config, "SLACK_SIGNING_SECRET": SIGNING_SECRET})
    runtime = app.extensions["escalade"]
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(
            s, slug="demo", name="Demo", helpdesk="sandbox", base_url=None,
            secrets={"webhook_secret": SANDBOX_SECRET, "slack.bot_token": SLACK_TOKEN,
                     "crm.access_token": HUBSPOT_TOKEN},
            settings={
                "connectors": ["slack", "crm"],
                "slack": {"channel": "C0ALERTS", "team_id": TEAM_ID, "base_url": slack_api.url,
                          "users": {"U0DANA": "agent-42"}},
                "crm": {"base_url": hubspot.base_url},
            },
            cipher=runtime.cipher)
    yield app
    runtime.engine.dispose()


def click(client: Any, value: str, action_id: str = "escalade_take_ownership", *,
          team: str = TEAM_ID, user: str = "U0DANA") -> Any:
    payload = {
        "type": "block_actions",
        "team": {"id": team, "domain": "escalade-test"},
        "user": {"id": user, "username": "dana", "name": "dana", "team_id": team},
        "api_app_id": "A0APP", "token": "legacy",
        "container": {"type": "message", "message_ts": "1", "channel_id": "C0ALERTS",
                      "is_ephemeral": False},
        "trigger_id": "1.2.3",
        "channel": {"id": "C0ALERTS", "name": "escalations"},
        "message": {"type": "message", "ts": "1", "text": "Tier 3"},
        "response_url": "https://hooks.slack.com/actions/T0/1/x",
        "actions": [{"action_id": action_id, "block_id": "escalade_alert_actions",
                     "type": "button", "action_ts": f"{time.time():.6f}", "value": value}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    ts = str(int(time.time()))
    return client.post("/slack/events", data=body,
                       content_type="application/x-www-form-urlencoded",
                       headers={"X-Slack-Request-Timestamp": ts,
                                "X-Slack-Signature": sign(SIGNING_SECRET, ts, body)})


def button_value(message: dict[str, Any], action_id: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button in {message['blocks']}")


def refund_ticket(minutes_ago: int = 2, **overrides: Any) -> dict[str, Any]:
    at = (datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
          ).isoformat().replace("+00:00", "Z")
    values: dict[str, Any] = dict(
        id="900", subject="Charged twice - refund now", created_at=at, updated_at=at,
        requester={"id": "u7", "email": "lee@northwind.example", "name": "Lee"},
        messages=[{"id": "m1", "author": "customer", "public": True, "created_at": at,
                   "body": "We were charged twice for November. I already asked your bot and "
                           "it only linked the billing page. I want a refund of the second "
                           "charge today."}])
    values.update(overrides)
    return make_ticket(**values)


def escalate(wired: Any, **overrides: Any) -> dict[str, Any]:
    """A refund demand from Northwind through the pipeline; the ticket as sent."""
    runtime = wired.extensions["escalade"]
    ticket = refund_ticket(**overrides)
    body = sandbox_body(ticket, delivery_id=f"e2e-{ticket['id']}-{len(ticket['messages'])}")
    assert post_sandbox(wired.test_client(), body).status_code == 202
    drain(runtime)
    return ticket


def test_tier_3_reaches_slack_and_hubspot_and_a_click_assigns_the_ticket(
    wired: Any, slack_api: FakeSlack, hubspot: HubSpotMock
) -> None:
    runtime = wired.extensions["escalade"]
    client = wired.test_client()
    escalate(wired)

    with store.session_scope(runtime.sessions) as s:
        row = store.get_ticket(s, 1, "sandbox", "900")
        assert row is not None and row.tier == 3
        # The CRM filled the account the helpdesk did not send.
        assert row.data["account"]["arr"] == 250000
        assert row.data["account"]["owner"] == "ana@ourco.example"

    (alert,) = slack_api.top_level()
    (post,) = slack_api.calls_to("chat.postMessage")
    assert post.args["channel"] == "C0ALERTS"
    text = json.dumps(alert["blocks"])
    assert "Northwind Freight" in text and "Charged twice" in text
    assert len(hubspot.objects["notes"]) == 1 and len(hubspot.objects["tasks"]) == 1

    response = click(client, button_value(alert, "escalade_take_ownership"))
    assert response.status_code == 200
    assert drain(runtime).delivered == 2  # the assignment, then the message update

    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        s.expunge(tenant)
    assigned = runtime.adapter_for(tenant).fetch_ticket("900")
    assert assigned.assignee == "agent-42"
    updates = slack_api.calls_to("chat.update")
    assert updates and "U0DANA" in json.dumps(updates[-1].args["blocks"])
    assert len(slack_api.top_level()) == 1  # updated and threaded, never a second alert


def _helpdesk_note(runtime: Any) -> str:
    from sqlalchemy import select

    with store.session_scope(runtime.sessions) as s:
        for row in s.scalars(select(store.OutboxRow).where(store.OutboxRow.target == "helpdesk")):
            for action in row.actions:
                if action["kind"] == "internal_note":
                    return str(action["payload"]["body"])
    raise AssertionError("no handoff note")


def test_the_handoff_note_carries_the_crm_facts_and_the_customers_ask(wired: Any) -> None:
    runtime = wired.extensions["escalade"]
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    ticket = make_ticket(
        id="901", subject="Export broken", created_at=at, updated_at=at,
        requester={"id": "u8", "email": "kim@northwind.example", "name": "Kim"},
        messages=[{"id": "m1", "author": "customer", "public": True, "created_at": at,
                   "body": "The CSV export fails with error 500. We already cleared the cache "
                           "and tried another browser. Can you fix the export?"}])
    post_sandbox(wired.test_client(), sandbox_body(ticket, delivery_id="e2e-2"))
    drain(runtime)
    note = _helpdesk_note(runtime)
    assert "ARR 250,000" in note and "owner ana@ourco.example" in note
    assert 'Customer asks: "Can you fix the export?"' in note
    assert "Already tried:" in note and "cleared the cache" in note


def test_a_crm_outage_degrades_to_an_unknown_account(wired: Any, hubspot: HubSpotMock) -> None:
    runtime = wired.extensions["escalade"]
    hubspot.fail("POST", "/crm/v3/objects/companies/search", 503, times=10)
    hubspot.fail("POST", "/crm/v3/objects/contacts/search", 503, times=10)
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    ticket = make_ticket(id="902", created_at=at, updated_at=at,
                         requester={"id": "u9", "email": "ola@northwind.example", "name": "Ola"})
    post_sandbox(wired.test_client(), sandbox_body(ticket, delivery_id="e2e-3"))
    assert drain(runtime).decided == 1
    with store.session_scope(runtime.sessions) as s:
        row = store.get_ticket(s, 1, "sandbox", "902")
        assert row is not None and row.tier is not None
        assert "account" not in row.data


def test_a_click_from_another_workspace_changes_nothing(wired: Any, slack_api: FakeSlack) -> None:
    runtime = wired.extensions["escalade"]
    value = json.dumps({"dedupe_key": "demo:sandbox:900:tier_3", "ticket_key": "demo:sandbox:900"})
    response = click(wired.test_client(), value, team="T0STRANGER")
    assert response.status_code == 200  # refused politely, nothing queued
    assert drain(runtime).delivered == 0
    assert slack_api.calls_to("chat.update") == []


def test_the_alert_and_the_crm_note_carry_what_the_account_manager_needs(
    wired: Any, slack_api: FakeSlack, hubspot: HubSpotMock
) -> None:
    slack_api.users["U0ANA"] = {"id": "U0ANA", "profile": {"email": "ana@ourco.example"}}
    client = wired.test_client()
    escalate(wired)

    (alert,) = slack_api.top_level()
    blocks = alert["blocks"]
    text = json.dumps(blocks)
    # A working link to the ticket, also in the demo: its Escalade sidebar page.
    url = button_url(alert, "escalade_open_ticket")
    assert "/sidebar/sandbox/demo/tickets/900?t=" in url
    assert client.get("/" + url.split("/", 3)[3]).status_code == 200
    assert f"<{url}|#900 Charged twice - refund now>" in text
    (note,) = hubspot.objects["notes"].values()
    assert f'href="{url.replace("&", "&amp;")}"' in note["hs_note_body"]
    # Renewal, the owner as a Slack mention, which SLA is due and when (the workspace zone).
    assert "*Renewal*\\nFri 15 Jan 2027" in text
    assert "*Account owner*\\n<@U0ANA>" in text
    assert "*First response due*\\n" in text and ("CET" in text or "CEST" in text)
    # The customer's demand in the headline; the why in plain words; figures as evidence.
    assert "Lee demands a refund" in text
    why = next(b for b in blocks if "*Why*" in json.dumps(b))["text"]["text"]
    assert "• Refund demand" in why and "confidence" not in why and "sentiment" not in why
    evidence = next(b for b in blocks if b["type"] == "context")["elements"][0]["text"]
    assert evidence.startswith("Evidence: ") and "sentiment" in evidence
    assert "First response due" in note["hs_note_body"]


def test_ownership_refused_by_the_helpdesk_is_not_announced_as_taken(
    wired: Any, slack_api: FakeSlack
) -> None:
    runtime = wired.extensions["escalade"]
    escalate(wired)
    (alert,) = slack_api.top_level()
    with store.session_scope(runtime.sessions) as s:  # the helpdesk now answers 422
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        tenant.settings = {**tenant.settings, "fail_with": 422}
    runtime.forget_adapters()

    assert click(wired.test_client(), button_value(alert, "escalade_take_ownership")
                 ).status_code == 200
    drain(runtime)

    (note,) = slack_api.replies(alert["ts"])
    assert note["text"].startswith(":warning: <@U0DANA> could not take ownership: the helpdesk "
                                   "refused the assignment: sandbox: simulated HTTP 422")
    assert "took ownership" not in json.dumps(list(slack_api.messages.values()))
    (assignment,) = [r for r in _rows(runtime, "helpdesk")
                     if any(a["kind"] == "assign" and "assignee" in a["payload"]
                            for a in r.actions)]
    assert assignment.status == "failed"


def test_an_unmapped_slack_user_is_told_in_words_how_to_get_mapped(
    wired: Any, slack_api: FakeSlack
) -> None:
    runtime = wired.extensions["escalade"]
    escalate(wired)
    (alert,) = slack_api.top_level()

    click(wired.test_client(), button_value(alert, "escalade_take_ownership"), user="U0NOBODY")
    drain(runtime)

    (note,) = slack_api.replies(alert["ts"])
    assert note["text"] == (
        ":warning: <@U0NOBODY> could not take ownership: no helpdesk agent is mapped to this "
        "Slack user (an admin maps Slack users to agents in the workspace's Slack settings); "
        "the ticket was not reassigned")


def test_a_second_take_ownership_click_assigns_nothing_and_says_who_owns_it(
    wired: Any, slack_api: FakeSlack
) -> None:
    runtime = wired.extensions["escalade"]
    slack_api.users["U0DANA"] = {"id": "U0DANA"}
    escalate(wired)
    (alert,) = slack_api.top_level()
    value = button_value(alert, "escalade_take_ownership")
    click(wired.test_client(), value)
    drain(runtime)

    time.sleep(0.002)  # a later click: another action_ts
    click(wired.test_client(), value)
    report = drain(runtime)

    assert report.delivered == 1  # the Slack answer only, no second assignment
    assignments = [r for r in _rows(runtime, "helpdesk")
                   if any(a["kind"] == "assign" and "assignee" in a["payload"]
                          for a in r.actions)]
    assert len(assignments) == 1
    notes = [r["text"] for r in slack_api.replies(alert["ts"])]
    assert len([n for n in notes if "took ownership" in n]) == 1
    (told,) = slack_api.calls_to("chat.postEphemeral")
    assert told.args["text"] == "You already own this escalation."


def test_the_customer_writing_again_is_posted_in_the_alert_thread(
    wired: Any, slack_api: FakeSlack
) -> None:
    ticket = escalate(wired, minutes_ago=5)
    (alert,) = slack_api.top_level()
    at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    again = [*ticket["messages"], {"id": "m2", "author": "customer", "public": True,
                                   "created_at": at, "body": "Still nothing. If the refund "
                                   "is not here by Friday we cancel."}]
    escalate(wired, created_at=ticket["created_at"], messages=again, updated_at=at)

    assert len(slack_api.top_level()) == 1
    (reply,) = slack_api.replies(alert["ts"])
    assert reply["text"].startswith(":speech_balloon: *Lee wrote again:*\n>Still nothing.")
    assert "we cancel" in reply["text"]


def button_url(message: dict[str, Any], action_id: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["url"])
    raise AssertionError(f"no {action_id} link in {message['blocks']}")


def _rows(runtime: Any, target: str) -> list[Any]:
    from sqlalchemy import select

    with store.session_scope(runtime.sessions) as s:
        rows = list(s.scalars(select(store.OutboxRow).where(store.OutboxRow.target == target)))
        s.expunge_all()
        return rows
