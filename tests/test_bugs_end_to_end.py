"""Issue 8 end to end: three accounts hit the same error → one Jira bug, every ticket linked;
the bug is resolved → each ticket gets a note and the customer a message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import select

from integration import store
from integration.store.bugs import BugGroupRow, BugGroupTicketRow
from integration.web.tracker_webhooks import sign
from tests import recorded
from tests.conftest import SANDBOX_SECRET, make_ticket, post_sandbox, sandbox_body
from tests.work import drain

pytestmark = pytest.mark.scaleout

SITE = "https://acme-test.atlassian.net"
API = f"{SITE}/rest/api/3"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "jira"
WEBHOOK_SECRET = "jira-webhook-secret"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _tenant(runtime: Any) -> None:
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(
            s, slug="demo", name="Demo", helpdesk="sandbox", base_url=None,
            secrets={"webhook_secret": SANDBOX_SECRET, "jira.email": "bot@acme.example",
                     "jira.api_token": "tok-123", "jira.webhook_secret": WEBHOOK_SECRET},
            settings={"connectors": ["jira"], "jira": {"project": "PAY", "base_url": SITE}},
            cipher=runtime.cipher)


def _report(n: int, minutes_ago: int) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")
    return make_ticket(
        id=str(500 + n), subject="CSV export fails", created_at=at, updated_at=at,
        requester={"id": f"u{n}", "email": f"ops@customer{n}.example", "name": f"Sam {n}"},
        account={"id": f"acct-{n}", "name": f"Customer {n}", "plan": "pro", "arr": 20000},
        messages=[{"id": f"{n}-m1", "author": "customer", "public": True, "created_at": at,
                   "body": "When I click Export CSV on the monthly report, the export fails "
                           "with HTTP 500. It worked last week."}])


def _signed(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json",
            "X-Hub-Signature": f"sha256={sign(WEBHOOK_SECRET, body)}"}


def _outbox(runtime: Any, target: str) -> list[Any]:
    with store.session_scope(runtime.sessions) as s:
        rows = list(s.scalars(select(store.OutboxRow).where(store.OutboxRow.target == target)
                              .order_by(store.OutboxRow.id)))
        s.expunge_all()
        return rows


def _links(mocked: Any, times: int) -> None:
    for _ in range(times):
        mocked.post(f"{API}/issue/PAY-57/remotelink", json={"id": 1, "self": "x"}, status=201)


@responses.activate
def test_one_bug_for_three_accounts_linked_and_closed(client: Any, runtime: Any) -> None:
    _tenant(runtime)
    responses.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    responses.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    responses.post(f"{API}/issue", json=fixture("issue_created.json"), status=201)
    _links(responses, 3)

    for n in range(2):
        post_sandbox(client, sandbox_body(_report(n, 50 - n), delivery_id=f"b{n}"))
        drain(runtime)
    assert _outbox(runtime, "jira") == []  # two pro accounts: not due yet
    post_sandbox(client, sandbox_body(_report(2, 10), delivery_id="b2"))
    drain(runtime)

    (filed,) = _outbox(runtime, "jira")
    assert filed.status == "delivered"
    report = filed.actions[0]["payload"]["report"]
    assert [c["name"] for c in report["customers"]] == ["Customer 0", "Customer 1", "Customer 2"]
    assert any("When I click Export CSV" in step for step in report["steps"])
    create = next(c for c in responses.calls if c.request.url == f"{API}/issue")
    created = recorded.sent_json(create.request)
    assert report["fingerprint"] in created["fields"]["labels"]
    # The title names what fails, the error as people write it, and how many accounts.
    assert created["fields"]["summary"] == "CSV export fails with HTTP 500 (3 accounts)"
    # Each ticket is linked on the issue; the demo's tickets link to their sidebar page.
    linked = [recorded.sent_json(c.request)["object"]["url"] for c in responses.calls
              if recorded.url(c.request).endswith("/remotelink")]
    assert len(linked) == 3 and all("/sidebar/sandbox/demo/tickets/50" in u for u in linked)
    assert client.get("/" + linked[0].split("/", 3)[3]).status_code == 200  # a working link
    with store.session_scope(runtime.sessions) as s:
        group = s.scalars(select(BugGroupRow)).one()
        assert (group.status, group.tracker_key) == ("reported", "PAY-57")
        assert s.query(BugGroupTicketRow).count() == 3
    notes = [r for r in _outbox(runtime, "helpdesk")
             if any("linked to bug PAY-57" in a["payload"].get("body", "") for a in r.actions)]
    assert sorted(r.ticket_external_id for r in notes) == ["500", "501", "502"]
    assert all(r.status == "delivered" for r in notes)

    resolved = fixture("webhook_issue_resolved.json")
    resolved["issue"]["key"] = "PAY-57"
    body = json.dumps(resolved).encode()
    answer = client.post("/webhooks/jira/demo", data=body, headers=_signed(body))
    assert answer.status_code == 200 and answer.json["tickets_notified"] == 3
    drain(runtime)
    fixed = [r for r in _outbox(runtime, "helpdesk")
             if any(a["kind"] == "public_reply" and "has been fixed" in a["payload"]["body"]
                    for a in r.actions)]
    assert len(fixed) == 3 and all(r.status == "delivered" for r in fixed)
    # The vendor redelivers: nobody is told twice.
    again = client.post("/webhooks/jira/demo", data=body, headers=_signed(body))
    assert again.json["tickets_notified"] == 0


def test_the_sidebar_shows_the_linked_bug(client: Any, runtime: Any) -> None:
    from integration.store.pages import linked_bug
    from sidebar_ui.auth import DEMO_PROOF, SidebarIdentity, issue_sidebar_token

    with responses.RequestsMock() as mocked:
        mocked.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
        mocked.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
        mocked.post(f"{API}/issue", json=fixture("issue_created.json"), status=201)
        _links(mocked, 3)
        _tenant(runtime)
        for n in range(3):
            post_sandbox(client, sandbox_body(_report(n, 30 - n), delivery_id=f"s{n}"))
            drain(runtime)
    with store.session_scope(runtime.sessions) as s:
        row = store.get_ticket(s, 1, "sandbox", "501")
        assert row is not None
        bug = linked_bug(s, row.id)
    assert bug is not None and bug.key == "PAY-57" and bug.title == "CSV export fails"
    identity = SidebarIdentity(tenant="demo", helpdesk="sandbox", user="demo-agent",
                               ticket_id="501", via=DEMO_PROOF)
    token = issue_sidebar_token(identity, key=runtime.cipher.sign_key("sidebar"),
                                now=runtime.now())
    page = client.get(f"/sidebar/sandbox/demo/tickets/501?t={token}")
    assert page.status_code == 200, page.text
    assert 'id="linked-bug"' in page.text and "<code>PAY-57</code>" in page.text


@responses.activate
def test_a_customer_joining_renames_the_issue_and_is_quoted_and_linked(
    client: Any, runtime: Any
) -> None:
    _tenant(runtime)
    responses.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    responses.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    responses.post(f"{API}/issue", json=fixture("issue_created.json"), status=201)
    _links(responses, 3)
    for n in range(3):
        post_sandbox(client, sandbox_body(_report(n, 50 - n), delivery_id=f"j{n}"))
        drain(runtime)
    (first,) = _outbox(runtime, "jira")
    fingerprint = first.actions[0]["payload"]["report"]["fingerprint"]

    # Jira now has the issue as filed: our title, our label, the three customers.
    found = fixture("search_jql_found.json")
    issue = found["issues"][0]
    issue["key"], issue["id"] = "PAY-57", "10057"
    issue["fields"]["summary"] = "CSV export fails with HTTP 500 (3 accounts)"
    issue["fields"]["labels"] = ["escalade", fingerprint]
    issue["fields"]["description"] = {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": " ".join(
            f"Customer {n}, ticket demo:sandbox:{500 + n}" for n in range(3))}]}]}
    issue["fields"]["comment"]["comments"] = []
    responses.post(f"{API}/search/jql", json=found)
    responses.put(f"{API}/issue/PAY-57", status=204)
    responses.post(f"{API}/issue/PAY-57/comment", json=fixture("comment_created.json"),
                   status=201)
    _links(responses, 1)
    fourth = _report(3, 5)
    fourth["messages"][0]["body"] = ("1. Open the monthly report\n2. Click Export CSV\n"
                                     "It fails with HTTP 500.")
    post_sandbox(client, sandbox_body(fourth, delivery_id="j3"))
    drain(runtime)

    second = _outbox(runtime, "jira")[-1]
    assert second.status == "delivered", second.last_error
    rename = next(c for c in responses.calls if c.request.method == "PUT")
    assert recorded.sent_json(rename.request) == {
        "fields": {"summary": "CSV export fails with HTTP 500 (4 accounts)"}}
    comment = next(c for c in responses.calls if recorded.url(c.request).endswith("/comment"))
    text = json.dumps(recorded.sent_json(comment.request)["body"])
    assert "Customer 3, in their own words (ticket demo:sandbox:503)" in text
    assert "1. Open the monthly report" in text and "2. Click Export CSV" in text
    assert "Customer 0" not in text
    link = [c for c in responses.calls if recorded.url(c.request).endswith("/remotelink")][-1]
    assert "/sidebar/sandbox/demo/tickets/503" in recorded.sent_json(link.request)["object"]["url"]


def test_a_spike_across_accounts_raises_one_incident_alert_with_its_own_layout(
    client: Any, runtime: Any
) -> None:
    from tests.connectors.slack_server import TEAM_ID, running_slack_api
    from tests.connectors.slack_server import TOKEN as SLACK_TOKEN

    with running_slack_api() as slack_api:
        with store.session_scope(runtime.sessions) as s:
            store.add_tenant(
                s, slug="demo", name="Demo", helpdesk="sandbox", base_url=None,
                secrets={"webhook_secret": SANDBOX_SECRET, "slack.bot_token": SLACK_TOKEN},
                settings={"connectors": ["slack"], "slack": {
                    "channel": "C0ALERTS", "team_id": TEAM_ID, "base_url": slack_api.url}},
                cipher=runtime.cipher)
        hour = (datetime.now(UTC) - timedelta(minutes=1)).replace(minute=0, second=0,
                                                                  microsecond=0)
        for n in range(6):
            ticket = _report(n, 0)
            at = (hour + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
            ticket.update(created_at=at, updated_at=at)
            ticket["messages"][0]["created_at"] = at
            post_sandbox(client, sandbox_body(ticket, delivery_id=f"spike{n}"))
            drain(runtime)

        incidents = [m for m in slack_api.top_level() if "Emerging incident" in m["text"]]
        assert len(incidents) == 1  # one per hour, not one per ticket
        blocks = incidents[0]["blocks"]
        text = json.dumps(blocks)
        assert blocks[0]["text"]["text"] == (
            ":rotating_light: Emerging incident: CSV export fails with HTTP 500")
        assert "*Accounts hit*\\n5: Customer 0, Customer 1" in text
        assert "*ARR affected*\\n$100,000" in text
        assert "*This hour*\\n5 tickets" in text and "*Bug*\\nnot filed yet" in text
        assert "*First seen*" in text and "*Last seen*" in text
        actions = {e["action_id"] for b in blocks if b["type"] == "actions"
                   for e in b["elements"]}
        assert actions == {"escalade_acknowledge", "escalade_snooze"}  # no one ticket to own
        assert "Tier 3" not in text
        # The next ticket of the same hour adds nothing; a later hour's spike would thread.
        assert len(slack_api.top_level()) == 1


@responses.activate
def test_a_bug_filed_after_the_alert_is_noted_in_its_thread(client: Any, runtime: Any) -> None:
    from tests.connectors.slack_server import TEAM_ID, running_slack_api
    from tests.connectors.slack_server import TOKEN as SLACK_TOKEN

    responses.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    responses.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    responses.post(f"{API}/issue", json=fixture("issue_created.json"), status=201)
    _links(responses, 3)
    with running_slack_api() as slack_api:
        with store.session_scope(runtime.sessions) as s:
            store.add_tenant(
                s, slug="demo", name="Demo", helpdesk="sandbox", base_url=None,
                secrets={"webhook_secret": SANDBOX_SECRET, "jira.email": "bot@acme.example",
                         "jira.api_token": "tok-123", "slack.bot_token": SLACK_TOKEN},
                settings={"connectors": ["jira", "slack"],
                          "jira": {"project": "PAY", "base_url": SITE},
                          "slack": {"channel": "C0ALERTS", "team_id": TEAM_ID,
                                    "base_url": slack_api.url}},
                cipher=runtime.cipher)
        for n in range(3):
            ticket = _report(n, 30 - n)
            if n == 0:  # the first one is an outage: Tier 3, alerted before any bug is filed
                ticket["messages"][0]["body"] = (
                    "The export is down for all our users: it fails with HTTP 500.")
            post_sandbox(client, sandbox_body(ticket, delivery_id=f"n{n}"))
            drain(runtime)

        alerts = [m for m in slack_api.top_level() if m["text"].startswith("Tier 3")]
        assert alerts, "the outage ticket was alerted"
        first = alerts[0]
        notes = [r["text"] for r in slack_api.replies(first["ts"])]
        assert any(n.startswith(":beetle: Filed as <https://acme-test.atlassian.net/browse/"
                                "PAY-57|PAY-57>") for n in notes)
        assert "*Bug*\\n<https://acme-test.atlassian.net/browse/PAY-57|PAY-57>" in json.dumps(
            first["blocks"])
