"""Jira and Linear "issue resolved" webhooks: signatures, tenants, events, and the handler."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from integration import store
from integration.errors import RetriableError
from integration.web import tracker_webhooks
from integration.web.tracker_webhooks import set_resolved_handler, sign
from tests.conftest import SHARED

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SCHEMA = SHARED / "specs" / "linear" / "schema.graphql"
JIRA_SECRET, LINEAR_SECRET = "jira-hook-secret", "linear-hook-secret"
# The Linear fixture's webhookTimestamp (ms) is 1795788131000.
NOW = datetime.fromtimestamp(1795788131, UTC)


def fixture(vendor: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / vendor / name).read_text())
    return data


@pytest.fixture
def calls(app: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """A tenant with both webhook secrets, the blueprint, a fixed clock and a recording handler."""
    if "tracker_webhooks" not in app.blueprints:
        app.register_blueprint(tracker_webhooks.bp)
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="demo", name="Demo", helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": "helpdesk-secret",
                                  "jira.webhook_secret": JIRA_SECRET,
                                  "linear.webhook_secret": LINEAR_SECRET},
                         settings={}, cipher=runtime.cipher)
        store.add_tenant(s, slug="bare", name="Bare", helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": "x"}, settings={}, cipher=runtime.cipher)
    monkeypatch.setattr(runtime, "now", lambda: NOW)
    seen: list[Any] = []

    def handler(tenant: str, tracker: str, key: str) -> int:
        seen.append((tenant, tracker, key))
        return 3

    previous = set_resolved_handler(handler)
    yield seen
    set_resolved_handler(previous)


def post_jira(client: Any, payload: Any, *, tenant: str = "demo", secret: str = JIRA_SECRET,
              signature: str | None = None) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    header = signature if signature is not None else f"sha256={sign(secret, body)}"
    return client.post(f"/webhooks/jira/{tenant}", data=body,
                       headers={"Content-Type": "application/json", "X-Hub-Signature": header})


def post_linear(client: Any, payload: Any, *, tenant: str = "demo",
                secret: str = LINEAR_SECRET) -> Any:
    body = json.dumps(payload).encode()
    return client.post(f"/webhooks/linear/{tenant}", data=body,
                       headers={"Content-Type": "application/json",
                                "Linear-Signature": sign(secret, body),
                                "Linear-Event": str(payload.get("type"))})


def stored_events(runtime: Any) -> int:
    with store.session_scope(runtime.sessions) as s:
        return s.scalar(select(func.count()).select_from(store.InboundEventRow)) or 0


# --- Jira -----------------------------------------------------------------------------------


def test_jira_resolution_notifies_the_linked_tickets(client: Any, calls: list[Any]) -> None:
    response = post_jira(client, fixture("jira", "webhook_issue_resolved.json"))
    assert response.status_code == 200, response.json
    assert response.json == {"status": "resolved", "issue": "PAY-42", "tickets_notified": 3}
    assert calls == [("demo", "jira", "PAY-42")]


@pytest.mark.parametrize(
    ("kwargs", "status", "needle"),
    [
        ({"secret": "wrong"}, 401, "does not match"),
        ({"signature": ""}, 401, "missing"),
        ({"signature": "sha1=abc"}, 401, "malformed"),
        ({"tenant": "nobody"}, 404, "unknown tenant"),
        ({"tenant": "bare"}, 401, "jira.webhook_secret"),
    ],
)
def test_jira_rejections(client: Any, runtime: Any, calls: list[Any], kwargs: dict[str, Any],
                         status: int, needle: str) -> None:
    response = post_jira(client, fixture("jira", "webhook_issue_resolved.json"), **kwargs)
    assert response.status_code == status
    assert needle in response.json["error"]
    assert calls == [] and stored_events(runtime) == 0


def _not_done(payload: dict[str, Any]) -> dict[str, Any]:
    payload["issue"]["fields"]["status"]["statusCategory"]["key"] = "indeterminate"
    payload["issue"]["fields"]["resolution"] = None
    return payload


def _edit_after_done(payload: dict[str, Any]) -> dict[str, Any]:
    payload["changelog"]["items"] = [{"field": "summary", "fieldtype": "jira",
                                      "fromString": "a", "toString": "b"}]
    return payload


@pytest.mark.parametrize(
    "payload",
    [
        fixture("jira", "webhook_comment_created.json"),
        _not_done(fixture("jira", "webhook_issue_resolved.json")),
        _edit_after_done(fixture("jira", "webhook_issue_resolved.json")),
    ],
    ids=["comment_created", "not_done", "edit_of_a_done_issue"],
)
def test_jira_other_events_are_ignored(client: Any, calls: list[Any],
                                       payload: dict[str, Any]) -> None:
    response = post_jira(client, payload)
    assert response.status_code == 202
    assert response.json["status"] == "ignored"
    assert calls == []


def test_jira_resolution_without_changelog_counts(client: Any, calls: list[Any]) -> None:
    payload = fixture("jira", "webhook_issue_resolved.json")
    del payload["changelog"]
    assert post_jira(client, payload).status_code == 200
    assert calls == [("demo", "jira", "PAY-42")]


def test_signed_garbage_is_400(client: Any, calls: list[Any]) -> None:
    response = post_jira(client, b'{"webhookEvent": ')
    assert response.status_code == 400 and response.json["field"] == "body"
    assert calls == []


# --- Linear ---------------------------------------------------------------------------------


def test_linear_completion_notifies_the_linked_tickets(client: Any, calls: list[Any]) -> None:
    response = post_linear(client, fixture("linear", "webhook_issue_completed.json"))
    assert response.status_code == 200, response.json
    assert response.json["issue"] == "ENG-214"
    assert calls == [("demo", "linear", "ENG-214")]


@pytest.mark.parametrize("offset_ms", [61_000, -61_000])
def test_linear_stale_or_future_timestamp_is_401(client: Any, calls: list[Any],
                                                  offset_ms: int) -> None:
    payload = fixture("linear", "webhook_issue_completed.json")
    payload["webhookTimestamp"] += offset_ms
    response = post_linear(client, payload)
    assert response.status_code == 401 and "61 s off" in response.json["error"]
    assert calls == []


def test_linear_timestamp_within_a_minute_is_accepted(client: Any, calls: list[Any]) -> None:
    payload = fixture("linear", "webhook_issue_completed.json")
    payload["webhookTimestamp"] -= 59_000
    assert post_linear(client, payload).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [({"secret": "wrong"}, 401), ({"tenant": "nobody"}, 404), ({"tenant": "bare"}, 401)],
)
def test_linear_rejections(client: Any, runtime: Any, calls: list[Any], kwargs: dict[str, Any],
                           status: int) -> None:
    response = post_linear(client, fixture("linear", "webhook_issue_completed.json"), **kwargs)
    assert response.status_code == status
    assert calls == [] and stored_events(runtime) == 0


def test_linear_missing_signature_is_401(client: Any, calls: list[Any]) -> None:
    body = json.dumps(fixture("linear", "webhook_issue_completed.json")).encode()
    response = client.post("/webhooks/linear/demo", data=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 401 and calls == []


def _started(payload: dict[str, Any]) -> dict[str, Any]:
    payload["data"]["state"].update(name="In Progress", type="started")
    return payload


def _retitled(payload: dict[str, Any]) -> dict[str, Any]:
    payload["updatedFrom"] = {"title": "old title", "updatedAt": "2026-11-27T16:40:00.000Z"}
    return payload


@pytest.mark.parametrize(
    "payload",
    [
        fixture("linear", "webhook_comment_create.json"),
        _started(fixture("linear", "webhook_issue_completed.json")),
        _retitled(fixture("linear", "webhook_issue_completed.json")),
    ],
    ids=["comment_create", "not_completed", "edit_of_a_completed_issue"],
)
def test_linear_other_events_are_ignored(client: Any, calls: list[Any],
                                         payload: dict[str, Any]) -> None:
    payload["webhookTimestamp"] = 1795788131000
    response = post_linear(client, payload)
    assert response.status_code == 202 and response.json["status"] == "ignored"
    assert calls == []


# --- the handler ------------------------------------------------------------------------------


def test_by_default_the_bug_service_closes_the_loop(client: Any, calls: list[Any],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    set_resolved_handler(None)
    with caplog.at_level("INFO", logger="integration.bugs.service"):
        response = post_jira(client, fixture("jira", "webhook_issue_resolved.json"))
    # No bug group was filed as PAY-42 here, so nobody is notified, and it says so.
    assert response.json["tickets_notified"] == 0
    assert "PAY-42 resolved, but no group was filed as it" in caplog.text


def test_retriable_handler_failure_asks_the_vendor_to_redeliver(client: Any,
                                                                calls: list[Any]) -> None:
    def failing(tenant: str, tracker: str, key: str) -> int:
        raise RetriableError("database busy")

    set_resolved_handler(failing)
    assert post_jira(client, fixture("jira", "webhook_issue_resolved.json")).status_code == 503


def test_helpdesk_webhooks_still_route_to_their_own_view(client: Any, calls: list[Any]) -> None:
    response = client.post("/webhooks/sandbox/demo", data=b"{}",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 401  # the helpdesk view: unsigned sandbox delivery
    assert calls == []


# --- fixtures against Linear's webhook payload types ------------------------------------------


def _conforms(schema: Any, value: Any, type_: Any, path: str) -> list[str]:
    from graphql import (
        GraphQLEnumType,
        GraphQLList,
        GraphQLNonNull,
        GraphQLObjectType,
        GraphQLScalarType,
        GraphQLUnionType,
    )

    if isinstance(type_, GraphQLNonNull):
        if value is None:
            return [f"{path}: required"]
        type_ = type_.of_type
    if value is None:
        return []
    if isinstance(type_, GraphQLList):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [e for i, v in enumerate(value) for e in _conforms(schema, v, type_.of_type,
                                                                  f"{path}[{i}]")]
    if isinstance(type_, GraphQLScalarType):
        scalars: dict[str, type | tuple[type, ...]] = {
            "String": str, "ID": str, "DateTime": str, "Boolean": bool, "Int": int,
            "Float": (int, float), "JSONObject": dict}
        expected = scalars.get(type_.name, object)
        ok = isinstance(value, expected) and not (type_.name in ("Int", "Float")
                                                  and isinstance(value, bool))
        return [] if ok else [f"{path}: not a {type_.name}"]
    if isinstance(type_, GraphQLEnumType):
        return [] if value in type_.values else [f"{path}: not a {type_.name}"]
    if isinstance(type_, GraphQLUnionType):
        if any(not _conforms(schema, value, t, path) for t in type_.types):
            return []
        return [f"{path}: matches no member of {type_.name}"]
    assert isinstance(type_, GraphQLObjectType)
    if not isinstance(value, dict):
        return [f"{path}: expected an object"]
    errors = [f"{path}.{k}: not in {type_.name}" for k in value if k not in type_.fields]
    for name, field in type_.fields.items():
        errors += _conforms(schema, value.get(name), field.type, f"{path}.{name}")
    return errors


@pytest.mark.parametrize(
    ("name", "data_type"),
    [("webhook_issue_completed.json", "IssueWebhookPayload"),
     ("webhook_comment_create.json", "CommentWebhookPayload")],
)
def test_linear_fixtures_match_the_webhook_payload_types(name: str, data_type: str) -> None:
    if not SCHEMA.is_file():
        pytest.skip("../shared/specs/linear is absent (fresh clone): schema checks are skipped")
    from graphql import build_schema

    schema = build_schema(SCHEMA.read_text())
    payload = fixture("linear", name)
    assert _conforms(schema, payload, schema.get_type("EntityWebhookPayload"), "$") == []
    assert _conforms(schema, payload["data"], schema.get_type(data_type), "$.data") == []
    broken = copy.deepcopy(payload["data"])
    broken.pop("id")
    broken["surprise"] = 1
    assert len(_conforms(schema, broken, schema.get_type(data_type), "$.data")) == 2
