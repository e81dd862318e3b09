"""Slack buttons → outbox: the account manager acts on a Tier 3 alert from Slack.

One Slack app serves every tenant: a click's workspace (``team_id``) names the tenant whose
``settings.slack.team_id`` matches, and that tenant's bot token answers it. The handler acks
at once (Bolt) and only writes outbox rows here — the helpdesk assignment for "Take
ownership" and the message update showing who did what — so Slack never waits on a vendor.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs

from flask import Blueprint, Response, jsonify, request
from slack_bolt.authorization import AuthorizeResult

from adapters.connectors.slack.app import (
    EVENT_FOR_ACTION,
    SlackAction,
    build_bolt_app,
    slack_blueprint,
    update_payload,
)
from adapters.connectors.slack.blocks import ACTION_IDS
from integration import outbox, store
from integration.context import connected_targets
from integration.errors import ValidationError, WebhookVerificationError
from integration.inbound import load_json, same_secret
from integration.models import Action, ActionKind
from integration.store.db import ping

if TYPE_CHECKING:
    from integration.runtime import Runtime

__all__ = ["check_slack_request", "handle_click", "slack_events_blueprint", "tenant_for_team"]

log = logging.getLogger(__name__)


def tenant_for_team(runtime: Runtime, team_id: str | None) -> store.TenantRow | None:
    """The tenant whose Slack workspace is ``team_id`` and who connected Slack."""
    if not team_id:
        return None
    with store.session_scope(runtime.sessions) as s:
        for tenant in store.list_tenants(s):
            slack = (tenant.settings or {}).get("slack") or {}
            if slack.get("team_id") == team_id and "slack" in connected_targets(tenant):
                s.expunge(tenant)
                return tenant
    return None


def _authorize(runtime: Runtime) -> Any:
    # Bolt passes the arguments a function names (team_id, enterprise_id, user_id, ...).
    def authorize(team_id: str | None, user_id: str | None) -> AuthorizeResult | None:
        tenant = tenant_for_team(runtime, team_id)
        if tenant is None:
            return None
        token = runtime.connector_config(tenant, "slack").credentials.get("bot_token")
        return AuthorizeResult(enterprise_id=None, team_id=team_id, user_id=user_id,
                               bot_token=token)

    return authorize


def handle_click(runtime: Runtime, click: SlackAction) -> int:
    """Queue what a button asks for; the number of outbox rows written (0 if ignored).

    "Take ownership" queues the helpdesk assignment and a message update that waits for it:
    the alert says who owns it only once the helpdesk accepted the assignment, and says why
    when it refused. A repeated click queues no second assignment; the connector tells the
    clicker who already has it.
    """
    if click.action not in EVENT_FOR_ACTION:
        return 0  # "Open ticket" and "Open issue" are links; nothing to do here
    tenant = _clicking_tenant(runtime, click)
    if tenant is None:
        return 0
    now = runtime.now()
    ticket_id = click.ticket_key.split(":", 2)[2] if click.ticket_key else None
    rows: list[_Row] = []
    take = _Ownership()
    if click.action == "take_ownership":
        take = _take_ownership(runtime, tenant, click, ticket_id)
        if take.assign is not None:
            rows.append(take.assign)
    payload = update_payload(click, now=now, agent_id=take.agent, error=take.error,
                             awaits=take.awaits)
    # Slack retries a click it thinks was lost: the same action_ts writes nothing.
    rows.append(("slack", [Action(kind=ActionKind.ALERT, target="slack", payload=payload)],
                 f"{tenant.slug}:slack:{payload['event_id']}:slack"))
    written = _enqueue(runtime, tenant, ticket_id, rows, now)
    runtime.wake()
    return written


# An outbox row to write: its target, its actions and its idempotency key.
_Row = tuple[str, list[Action], str]


@dataclass(frozen=True, kw_only=True, slots=True)
class _Ownership:
    """What "Take ownership" comes to: the agent, why not, and the assignment it waits for."""

    agent: str | None = None
    error: str | None = None
    awaits: str | None = None
    assign: _Row | None = None


def _clicking_tenant(runtime: Runtime, click: SlackAction) -> store.TenantRow | None:
    """The tenant of the clicking workspace, if the alert and its ticket are that tenant's."""
    tenant = tenant_for_team(runtime, click.team_id)
    own = f"{tenant.slug}:" if tenant is not None else None
    if own is None or not click.dedupe_key.startswith(own) or (
            click.ticket_key is not None and not click.ticket_key.startswith(own)):
        log.warning("slack click for %s from team %s refused", click.dedupe_key, click.team_id)
        return None
    return tenant


def _take_ownership(
    runtime: Runtime, tenant: store.TenantRow, click: SlackAction, ticket_id: str | None
) -> _Ownership:
    """The clicker's helpdesk agent and the assignment to queue, or why there is none."""
    with store.session_scope(runtime.sessions) as s:
        alert = store.alerts.get_alert(s, tenant_id=tenant.id, dedupe_key=click.dedupe_key)
        state = dict(alert.state or {}) if alert is not None else {}
    connector = runtime.connector_for(tenant, "slack")
    agent = connector.agent_for(click.user_id)  # type: ignore[attr-defined]
    if state.get("owned_by"):
        return _Ownership(agent=agent)  # nothing to assign: the update tells who owns it
    if agent is None:
        # No mention here: the note names the clicker already, and escapes this text.
        return _Ownership(error=(
            "no helpdesk agent is mapped to this Slack user (an admin maps Slack users to "
            "agents in the workspace's Slack settings); the ticket was not reassigned"))
    if ticket_id is None:
        return _Ownership(
            agent=agent, error="this alert is not about one ticket; there is nothing to assign"
        )
    # One assignment per attempt: a second click while it runs queues nothing new,
    # and after a refusal the next click gets a fresh attempt.
    attempt = int(state.get("ownership_attempts") or 0)
    awaits = f"{tenant.slug}:slack:own:{click.dedupe_key}:{attempt}"
    assign = Action(kind=ActionKind.ASSIGN, target="helpdesk", payload={"assignee": agent})
    return _Ownership(agent=agent, awaits=awaits, assign=("helpdesk", [assign], awaits))


def _enqueue(
    runtime: Runtime,
    tenant: store.TenantRow,
    ticket_id: str | None,
    rows: list[_Row],
    now: datetime,
) -> int:
    """Write the rows to the outbox in one transaction; how many were new."""
    written = 0
    with store.session_scope(runtime.sessions) as s:
        row = store.get_ticket(s, tenant.id, tenant.helpdesk, ticket_id) if ticket_id else None
        for target, actions, key in rows:
            queued = outbox.enqueue(
                s,
                tenant_id=tenant.id,
                target=target,
                ticket_external_id=ticket_id,
                actions=actions,
                idempotency_key=key,
                ticket_id=row.id if row is not None else None,
                now=now,
            )
            written += queued is not None
    return written


def slack_events_blueprint(runtime: Runtime, *, signing_secret: str) -> Blueprint:
    """``POST /slack/events`` for the whole deployment, signatures verified by Bolt."""
    def on_action(click: SlackAction) -> None:
        handle_click(runtime, click)

    app = build_bolt_app(
        signing_secret=signing_secret, authorize=_authorize(runtime), on_action=on_action
    )
    blueprint = slack_blueprint(app)
    blueprint.before_request(_checked_first(signing_secret, runtime))
    return blueprint


# --- before Bolt sees a request: verify, then read ----------------------------------------

SLACK_MAX_SKEW_SECONDS = 300
_CLICKED = frozenset(ACTION_IDS[name] for name in EVENT_FOR_ACTION)


def _checked_first(secret: str, runtime: Runtime) -> Callable[[], Any]:
    # Bolt parses the body before it checks the signature, and a body it cannot parse is a
    # 500; so the signature is checked here first, then the body is read strictly. Bolt also
    # answers 500 when the database fails inside it: ask the database first, so an outage
    # is the app's 503.
    def check() -> tuple[Response, int] | None:
        try:
            # werkzeug's Headers reads case-insensitively but is not a registered Mapping.
            check_slack_request(headers=cast("Mapping[str, str]", request.headers),
                                body=request.get_data(cache=True),
                                content_type=request.mimetype, secret=secret,
                                now=runtime.now())
        except WebhookVerificationError as err:
            return jsonify({"error": str(err)}), 401
        except ValidationError as err:
            return jsonify({"error": str(err), "field": err.field}), 400
        ping(runtime.engine)
        return None

    return check


def check_slack_request(
    *, headers: Mapping[str, str], body: bytes, content_type: str, secret: str, now: datetime
) -> None:
    """Raise unless the request is signed by Slack (v0) and its body is one Escalade reads.

    ``WebhookVerificationError`` for a missing, wrong or stale signature; ``ValidationError``
    naming the field for a signed body that is not a Slack payload or a button Escalade made.
    https://api.slack.com/authentication/verifying-requests-from-slack
    """
    stamp = (headers.get("X-Slack-Request-Timestamp") or "").strip()
    given = (headers.get("X-Slack-Signature") or "").strip()
    if not stamp.isascii() or not stamp.isdigit():
        raise WebhookVerificationError("X-Slack-Request-Timestamp is missing or not a Unix time")
    if abs(now.timestamp() - int(stamp)) > SLACK_MAX_SKEW_SECONDS:
        raise WebhookVerificationError("X-Slack-Request-Timestamp is more than 5 minutes off")
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    if not same_secret(given, f"v0={digest.hexdigest()}"):
        raise WebhookVerificationError("X-Slack-Signature does not match the body")
    if content_type == "application/json" or body.lstrip().startswith(b"{"):
        data = load_json(body)
        if not isinstance(data, dict):
            raise ValidationError("body", "expected a JSON object")
        _check_event(data)
        return
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as err:
        raise ValidationError("body", f"not UTF-8: {err.reason}") from err
    if "payload" in form:
        payload = load_json(form["payload"][0], field="payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            raise ValidationError("payload", "expected an object with a type")
        _check_interaction(payload)


# What Slack sends an app that, like Escalade, has buttons and no other interactivity.
# https://api.slack.com/apis/events-api#receiving-events
_EVENT_TYPES = frozenset({"url_verification", "event_callback", "app_rate_limited"})


def _check_event(data: Mapping[str, Any]) -> None:
    kind = data.get("type")
    if kind not in _EVENT_TYPES:
        raise ValidationError("type", f"not a Slack event Escalade receives: {kind!r:.60}")
    if kind == "url_verification" and not isinstance(data.get("challenge"), str):
        raise ValidationError("challenge", "expected a string")
    if kind == "event_callback" and not isinstance(data.get("event"), dict):
        raise ValidationError("event", "expected an object")


def _check_interaction(payload: Mapping[str, Any]) -> None:
    if payload["type"] != "block_actions":
        raise ValidationError("payload.type", "Escalade's messages have buttons only "
                              f"(block_actions), not {payload['type']!r:.60}")
    for key in ("team", "user", "channel", "container", "message", "enterprise", "view"):
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            raise ValidationError(f"payload.{key}", "expected an object")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        raise ValidationError("payload.actions", "expected a list of the clicked buttons")
    for i, action in enumerate(actions):
        where = f"payload.actions[{i}]"
        if not isinstance(action, dict):
            raise ValidationError(where, "expected an object")
        action_id = action.get("action_id")
        if not isinstance(action_id, str) or not action_id:
            raise ValidationError(f"{where}.action_id", "is required")
        if action_id in _CLICKED:
            _check_button_value(action.get("value"), f"{where}.value")


def _check_button_value(value: Any, where: str) -> None:
    # The value of a button Escalade rendered: {dedupe_key, ticket_key "tenant:helpdesk:id"}.
    if not isinstance(value, str) or not value:
        raise ValidationError(where, "the button carries no escalation")
    try:
        data = load_json(value, field=where)
    except ValidationError as err:
        raise ValidationError(where, f"not a button Escalade made ({err.message})") from err
    if not isinstance(data, dict) or not isinstance(data.get("dedupe_key"), str):
        raise ValidationError(where, "expected {dedupe_key, ticket_key}")
    ticket_key = data.get("ticket_key")
    parts = ticket_key.split(":", 2) if isinstance(ticket_key, str) else []
    if len(parts) != 3 or not all(parts):
        raise ValidationError(where, "names no ticket (expected ticket_key 'tenant:helpdesk:id')")
