"""Requests that used to be 500s: each is a 4xx naming the problem, one log line, nothing stored.

The cases are the ones a round of attacks found (most of them needed no valid signature);
``tests/fuzz`` looks for new ones.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import func, select

from integration import store
from tests.fuzz.targets import (
    hostile_app,
    sign_canvas,
    sign_jira,
    sign_linear,
    sign_sandbox,
    sign_slack,
    sign_zendesk,
)
from tests.store.helpers import BACKENDS

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
DEEP = b"[" * 1000 + b"]" * 1000
HUGE_INT = b'{"delivery_id": ' + b"7" * 4400 + b"}"


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with hostile_app(request.param, tmp_path) as built:
        yield built


def _stored(app: Any) -> tuple[int, int]:
    runtime = app.extensions["escalade"]
    with store.session_scope(runtime.sessions) as s:
        events = s.scalar(select(func.count()).select_from(store.InboundEventRow)) or 0
        rows = s.scalar(select(func.count()).select_from(store.OutboxRow)) or 0
    return events, rows


def _click(value: Any, *, action_id: str | None = "escalade_take_ownership") -> bytes:
    action: dict[str, Any] = {"block_id": "escalade_alert_actions", "type": "button",
                              "action_ts": "1764000100.000200", "value": value}
    if action_id is not None:
        action["action_id"] = action_id
    payload = {"type": "block_actions", "team": {"id": "T0TEAM"},
               "user": {"id": "U0DANA", "team_id": "T0TEAM"},
               "container": {"type": "message", "message_ts": "1", "channel_id": "C0"},
               "response_url": "https://hooks.slack.com/actions/T0/1/x", "actions": [action]}
    return urlencode({"payload": json.dumps(payload)}).encode()


Signer = Callable[[bytes], dict[str, str]]


def _unsigned(_: bytes) -> dict[str, str]:
    return {}


def _fixed(**headers: str) -> Signer:
    return lambda _body: {k.replace("_", "-"): v for k, v in headers.items()}


SANDBOX = "/webhooks/sandbox/demo"
ZENDESK = "/webhooks/zendesk/zd"
# (path, body, content type, signer, status, words the error must contain)
CASES: dict[str, tuple[str, bytes, str, Signer, int, str]] = {
    # /slack/events parsed the body before checking the signature
    "slack unsigned payload=null": ("/slack/events", b"payload=null", FORM, _unsigned, 401,
                                    "X-Slack-Request-Timestamp"),
    "slack unsigned payload={": ("/slack/events", b"payload=%7B", FORM, _unsigned, 401,
                                 "X-Slack-Request-Timestamp"),
    "slack unsigned payload=[]": ("/slack/events", b"payload=%5B%5D", FORM, _unsigned, 401,
                                  "X-Slack-Request-Timestamp"),
    "slack unsigned JSON null": ("/slack/events", b"null", JSON, _unsigned, 401,
                                 "X-Slack-Request-Timestamp"),
    "slack unsigned JSON []": ("/slack/events", b"[]", JSON, _unsigned, 401,
                               "X-Slack-Request-Timestamp"),
    "slack unsigned JSON {": ("/slack/events", b"{", JSON, _unsigned, 401,
                              "X-Slack-Request-Timestamp"),
    "slack timestamp abc": ("/slack/events", b"{}", JSON,
                            _fixed(X_Slack_Request_Timestamp="abc", X_Slack_Signature="v0=00"),
                            401, "not a Unix time"),
    "slack signed payload=null": ("/slack/events", b"payload=null", FORM, sign_slack, 400,
                                  "payload: expected an object"),
    "slack signed payload={": ("/slack/events", b"payload=%7B", FORM, sign_slack, 400,
                               "payload: not valid JSON"),
    "slack signed payload=[]": ("/slack/events", b"payload=%5B%5D", FORM, sign_slack, 400,
                                "payload: expected an object"),
    "slack signed JSON null": ("/slack/events", b"null", JSON, sign_slack, 400,
                               "expected a JSON object"),
    "slack signed JSON {": ("/slack/events", b"{", JSON, sign_slack, 400, "not valid JSON"),
    "slack signed deep JSON": ("/slack/events", DEEP, JSON, sign_slack, 400, "nested deeper"),
    "slack button bare string": ("/slack/events", _click("acme:zendesk:1:tier_3"), FORM,
                                 sign_slack, 400, "actions[0].value"),
    "slack button without ticket_key": ("/slack/events", _click(json.dumps(
        {"dedupe_key": "acme:zendesk:1:tier_3"})), FORM, sign_slack, 400, "names no ticket"),
    "slack button ticket_key acme:zendesk": ("/slack/events", _click(json.dumps(
        {"dedupe_key": "k", "ticket_key": "acme:zendesk"})), FORM, sign_slack, 400,
        "names no ticket"),
    "slack action without action_id": ("/slack/events", _click("x", action_id=None), FORM,
                                       sign_slack, 400, "action_id: is required"),
    "slack actions null": ("/slack/events", urlencode({"payload": json.dumps(
        {"type": "block_actions", "team": {"id": "T0"}, "user": {"id": "U0"},
         "actions": None})}).encode(), FORM, sign_slack, 400, "payload.actions"),
    "slack event not for Escalade": ("/slack/events", b'{"type": "shortcut"}', JSON,
                                     sign_slack, 400, "not a Slack event"),
    # non-ASCII signatures: hmac.compare_digest raised TypeError
    "canvas initialize é": ("/intercom/canvas/ic/initialize", b"{}", JSON,
                            _fixed(X_Body_Signature="é"), 401, "X-Body-Signature"),
    "canvas submit é": ("/intercom/canvas/ic/submit", b"{}", JSON,
                        _fixed(X_Body_Signature="é"), 401, "X-Body-Signature"),
    "jira é": ("/webhooks/jira/demo", b"{}", JSON, _fixed(X_Hub_Signature="sha256=é"), 401,
               "X-Hub-Signature"),
    "linear é": ("/webhooks/linear/demo", b"{}", JSON, _fixed(Linear_Signature="é"), 401,
                 "Linear-Signature"),
    "sandbox é": (SANDBOX, b"{}", JSON, _fixed(X_Escalade_Signature="sha256=é"), 401,
                  "X-Escalade-Signature"),
    "zendesk é": (ZENDESK, b"{}", JSON, _fixed(
        X_Zendesk_Webhook_Signature="é", X_Zendesk_Webhook_Signature_Timestamp="é"), 401,
        "zendesk"),
    "intercom é": ("/webhooks/intercom/ic", b"{}", JSON, _fixed(X_Hub_Signature="sha1=é"),
                   401, "X-Hub-Signature"),
    "freshdesk é": ("/webhooks/freshdesk/fd", b"{}", JSON, _fixed(X_Escalade_Secret="é"),
                    401, "do not match"),
    # behind a valid signature
    "sandbox deep JSON": (SANDBOX, DEEP, JSON, sign_sandbox, 400, "nested deeper"),
    "zendesk deep JSON": (ZENDESK, DEEP, JSON, sign_zendesk, 400, "nested deeper"),
    "jira deep JSON": ("/webhooks/jira/demo", DEEP, JSON, sign_jira, 400, "nested deeper"),
    "linear deep JSON": ("/webhooks/linear/demo", DEEP, JSON, sign_linear, 401,
                         "nested deeper"),
    "canvas deep JSON": ("/intercom/canvas/ic/initialize", DEEP, JSON, sign_canvas, 400,
                         "nested deeper"),
    "sandbox 4,400-digit integer": (SANDBOX, HUGE_INT, JSON, sign_sandbox, 400,
                                    "number of 4400 characters"),
    "jira 4,400-digit integer": ("/webhooks/jira/demo", HUGE_INT, JSON, sign_jira, 400,
                                 "number of 4400 characters"),
    "sandbox escaped lone surrogate": (SANDBOX, json.dumps(
        {"delivery_id": "\ud800", "event": "ticket.created", "ticket": {}}).encode(), JSON,
        sign_sandbox, 400, "lone surrogate"),
    "sandbox encoded lone surrogate": (
        SANDBOX, b'{"delivery_id": "\xed\xa0\x80", "event": "ticket.created"}', JSON,
        sign_sandbox, 400, "not UTF-8"),
    "sandbox NUL": (SANDBOX, b'{"delivery_id": "a\\u0000b", "event": "ticket.created"}', JSON,
                    sign_sandbox, 400, "NUL"),
    "sandbox NaN": (SANDBOX, b'{"delivery_id": NaN}', JSON, sign_sandbox, 400, "NaN"),
    "zendesk type []": (ZENDESK, json.dumps({"type": [], "id": "1", "detail": {"id": "1"}})
                        .encode(), JSON, sign_zendesk, 422, "type"),
    "zendesk event [...]": (ZENDESK, json.dumps(
        {"ticket_id": "1", "event": ["ticket.created"]}).encode(), JSON, sign_zendesk, 422,
        "event"),
    "zendesk delivery id too long": (ZENDESK, json.dumps(
        {"type": "zen:event-type:ticket.created", "id": "x" * 300, "detail": {"id": "1"}})
        .encode(), JSON, sign_zendesk, 422, "delivery_id"),
    "jira status not an object": ("/webhooks/jira/demo", json.dumps(
        {"webhookEvent": "jira:issue_updated", "issue": {"key": "B-1", "fields":
         {"status": "done"}}, "changelog": []}).encode(), JSON, sign_jira, 202, ""),
    "path with NUL": ("/webhooks/sandbox/de%00mo", b"{}", JSON, sign_sandbox, 400,
                      "control character"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_request_gets_a_4xx_one_log_line_and_stores_nothing(
    app: Any, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    path, body, content_type, signer, status, needle = CASES[case]
    client = app.test_client()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = client.post(path, data=body, content_type=content_type,
                               headers=signer(body))
    assert response.status_code == status, response.data[:300]
    if status >= 400:
        assert needle.lower() in response.get_json()["error"].lower()
        lines = [r for r in caplog.records if r.levelno >= logging.INFO]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert lines[0].exc_info is None
        assert needle.lower() in lines[0].getMessage().lower()
        assert "\n" not in lines[0].getMessage()
    assert _stored(app) == (0, 0)


def test_a_sidebar_token_is_not_parsed_before_its_signature(app: Any) -> None:
    deep = quote(base64.urlsafe_b64encode(b"[" * 3000).decode())
    response = app.test_client().get(f"/sidebar/sandbox/demo/tickets/1?sidebar_token={deep}.AAAA",
                                     headers={"Accept": JSON})
    assert response.status_code == 401
    assert "signature" in response.get_json()["error"]


def test_a_badly_signed_body_is_never_logged_only_its_size_and_why(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"delivery_id": "d1", "note": "SECRET-CUSTOMER-TEXT\nforged line"})
    client = app.test_client()
    with caplog.at_level(logging.DEBUG):
        for path in (SANDBOX, ZENDESK, "/webhooks/jira/demo", "/webhooks/linear/demo",
                     "/intercom/canvas/ic/initialize", "/slack/events"):
            response = client.post(path, data=body, content_type=JSON,
                                   headers={"X-Escalade-Signature": "sha256=00",
                                            "X-Hub-Signature": "sha256=00"})
            assert response.status_code == 401
    assert "SECRET-CUSTOMER-TEXT" not in caplog.text
    rejected = [r.getMessage() for r in caplog.records if "-> 401" in r.getMessage()]
    assert len(rejected) == 6
    assert all(f"({len(body)} bytes)" in line for line in rejected)


def test_control_characters_in_what_is_logged_are_escaped(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"webhookEvent": "jira:issue_updated\nFORGED 500"}).encode()
    with caplog.at_level(logging.INFO):
        response = app.test_client().post("/webhooks/jira/demo", data=body, content_type=JSON,
                                          headers=sign_jira(body))
    assert response.status_code == 202  # an event we ignore, said in one line
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "\\nFORGED 500" in lines[0] and "\n" not in lines[0]
