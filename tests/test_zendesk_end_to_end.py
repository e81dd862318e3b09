"""Zendesk end to end: signed webhook -> fetch -> decision -> one update written back."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from sqlalchemy import select

from adapters.helpdesk.common import has_marker
from integration import store
from tests import recorded
from tests.adapters import kit
from tests.adapters.test_zendesk import API, BOT, GROUPS, SECRET, SPEC, TIER_FIELD, load, sign
from tests.work import run_once

pytestmark = [pytest.mark.filterwarnings("error"), pytest.mark.scaleout]


@pytest.fixture
def zendesk_tenant(runtime: Any) -> str:
    """Tenant ``acme`` connected to a (faked) Zendesk."""
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(
            s, slug="acme", name="Acme", helpdesk="zendesk", base_url="https://acme.zendesk.com",
            secrets={"email": "bot@acme.example", "api_token": "t0ken", "webhook_secret": SECRET},
            settings={"tier_field_id": TIER_FIELD, "bot_user_id": BOT, "group_ids": GROUPS},
            cipher=runtime.cipher,
        )
    return "acme"


def _post(client: Any, payload: dict[str, Any], *, when: datetime | None = None) -> Any:
    body = json.dumps(payload).encode()
    stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {"Content-Type": "application/json", **sign(body, stamp)}
    return client.post("/webhooks/zendesk/acme", data=body, headers=headers)


def _mock_fetch(rsps: responses.RequestsMock, *,
                extra_comments: Sequence[dict[str, Any]] = ()) -> None:
    rsps.get(f"{API}/tickets/4711.json", json=load("ticket_show.json"))
    page1 = load("ticket_comments.json")
    page2 = copy.deepcopy(load("ticket_comments_page2.json"))
    page2["comments"].extend(extra_comments)
    rsps.get(f"{API}/tickets/4711/comments.json", json=page1,
             match=[responses.matchers.query_param_matcher(
                 {"page[size]": "100", "include": "users"})])
    rsps.get(f"{API}/tickets/4711/comments.json", json=page2,
             match=[responses.matchers.query_param_matcher(
                 {"page[after]": "xyz1", "page[size]": "100"})])


def _puts(rsps: responses.RequestsMock) -> list[dict[str, Any]]:
    return [recorded.sent_json(c.request) for c in rsps.calls if c.request.method == "PUT"]


def test_webhook_to_zendesk_update_and_no_loop(client: Any, runtime: Any,
                                               zendesk_tenant: str) -> None:
    assert _post(client, load("ticket_created.json")).status_code == 202
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _mock_fetch(rsps)
        rsps.put(f"{API}/tickets/4711.json", json=load("ticket_update.json"))
        report = run_once(runtime)
        assert (report.decided, report.delivered) == (1, 1)
        puts = _puts(rsps)
        api = kit.openapi(SPEC)
        for call in rsps.calls:
            kit.validate_exchange(api, call.request, recorded.answer(call), strip_suffix=".json")

    with store.session_scope(runtime.sessions) as s:
        row = store.get_ticket(s, 1, "zendesk", "4711")
        assert row is not None
        decision = s.scalars(select(store.DecisionRow)).one()
        tier = row.tier
        reasons = [r["reason"] for r in decision.rules]
    update = puts[0]["ticket"]
    assert f"escalade_tier_{tier}" in update["tags"]
    assert {"id": TIER_FIELD, "value": tier} in update["custom_fields"]
    assert update["comment"]["public"] is False
    assert all(reason in update["comment"]["body"] for reason in reasons)
    assert has_marker(update["comment"]["body"])

    # Zendesk tells us about our own update: the ticket now carries our note and tags.
    echo = copy.deepcopy(load("ticket_created.json"))
    echo["id"] = "5f0e2b9c-8a0d-4e1b-9c55-2a7f3e9d1a02"
    echo["type"] = "zen:event-type:ticket.comment_added"
    note = {"id": 9300, "type": "Comment", "author_id": BOT, "public": False,
            "body": update["comment"]["body"], "attachments": [], "audit_id": 8300,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            "metadata": {}, "created_at": "2026-11-03T10:02:00Z"}
    assert _post(client, echo).status_code == 202
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _mock_fetch(rsps, extra_comments=[note])
        report = run_once(runtime)
        assert _puts(rsps) == []
    assert (report.decided, report.unchanged) == (0, 1)


def test_rate_limited_update_waits_for_retry_after(client: Any, runtime: Any,
                                                  zendesk_tenant: str) -> None:
    _post(client, load("ticket_created.json"))
    now = datetime.now(UTC)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _mock_fetch(rsps)
        rsps.put(f"{API}/tickets/4711.json", status=429, headers={"Retry-After": "120"},
                 json={"error": "TooManyRequests"})
        first = run_once(runtime, now=now)
        assert (first.decided, first.delivered, first.retried) == (1, 0, 1)
        assert run_once(runtime, now=now + timedelta(seconds=60)).delivered == 0
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{API}/tickets/4711.json", json=load("ticket_show.json"))
        rsps.put(f"{API}/tickets/4711.json", json=load("ticket_update.json"))
        later = run_once(runtime, now=now + timedelta(seconds=121))
        assert later.delivered == 1
        puts = _puts(rsps)
        # One combined update, then the customer acknowledgment (one comment per update).
        assert [p["ticket"]["comment"]["public"] for p in puts] == [False, True]


def test_rejected_update_is_recorded_with_the_vendor_message(client: Any, runtime: Any,
                                                            zendesk_tenant: str) -> None:
    _post(client, load("ticket_created.json"))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _mock_fetch(rsps)
        rsps.put(f"{API}/tickets/4711.json", status=422, json=load("error_record_invalid.json"))
        report = run_once(runtime)
    assert report.failed == 1
    with store.session_scope(runtime.sessions) as s:
        row = s.scalars(select(store.OutboxRow)).one()
        assert row.status == "failed"
        assert row.last_error
        assert "422" in row.last_error or "invalid" in row.last_error.lower()


def test_stale_signature_is_rejected(client: Any, runtime: Any, zendesk_tenant: str) -> None:
    old = datetime.now(UTC) - timedelta(minutes=10)
    response = _post(client, load("ticket_created.json"), when=old)
    assert response.status_code == 401
    with store.session_scope(runtime.sessions) as s:
        assert s.scalars(select(store.InboundEventRow)).first() is None
