"""Slack buttons → outbox: the account manager acts on a Tier 3 alert from Slack (M4.3).

One Slack app serves every tenant: a click's workspace (``team_id``) names the tenant whose
``settings.slack.team_id`` matches, and that tenant's bot token answers it. The handler acks
at once (Bolt) and only writes outbox rows here — the helpdesk assignment for "Take
ownership" and the message update showing who did what — so Slack never waits on a vendor.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint
from slack_bolt.authorization import AuthorizeResult

from adapters.connectors.slack_app import (
    EVENT_FOR_ACTION,
    SlackAction,
    build_bolt_app,
    slack_blueprint,
    update_payload,
)
from integration import outbox, store
from integration.models import Action, ActionKind

if TYPE_CHECKING:
    from integration.runtime import Runtime

__all__ = ["handle_click", "slack_events_blueprint", "tenant_for_team"]

log = logging.getLogger(__name__)


def tenant_for_team(runtime: Runtime, team_id: str | None) -> store.TenantRow | None:
    """The tenant whose Slack workspace is ``team_id`` and who connected Slack."""
    if not team_id:
        return None
    with store.session_scope(runtime.sessions) as s:
        for tenant in store.list_tenants(s):
            slack = (tenant.settings or {}).get("slack") or {}
            if slack.get("team_id") == team_id and "slack" in runtime.connected_targets(tenant):
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
    tenant = tenant_for_team(runtime, click.team_id)
    own = f"{tenant.slug}:" if tenant is not None else None
    if own is None or not click.dedupe_key.startswith(own) or (
            click.ticket_key is not None and not click.ticket_key.startswith(own)):
        log.warning("slack click for %s from team %s refused", click.dedupe_key, click.team_id)
        return 0
    assert tenant is not None
    now = runtime.now()
    ticket_id = click.ticket_key.split(":", 2)[2] if click.ticket_key else None
    rows: list[tuple[str, list[Action], str]] = []
    agent: str | None = None
    error: str | None = None
    awaits: str | None = None
    if click.action == "take_ownership":
        with store.session_scope(runtime.sessions) as s:
            alert = store.alerts.get_alert(s, tenant_id=tenant.id, dedupe_key=click.dedupe_key)
            state = dict(alert.state or {}) if alert is not None else {}
        connector = runtime.connector_for(tenant, "slack")
        agent = connector.agent_for(click.user_id)  # type: ignore[attr-defined]
        if state.get("owned_by"):
            pass  # nothing to assign: the update tells the clicker who owns it
        elif agent is None:
            # No mention here: the note names the clicker already, and escapes this text.
            error = ("no helpdesk agent is mapped to this Slack user (an admin maps Slack "
                     "users to agents in the workspace's Slack settings); the ticket was not "
                     "reassigned")
        elif ticket_id is None:
            error = "this alert is not about one ticket; there is nothing to assign"
        else:
            # One assignment per attempt: a second click while it runs queues nothing new,
            # and after a refusal the next click gets a fresh attempt.
            attempt = int(state.get("ownership_attempts") or 0)
            awaits = f"{tenant.slug}:slack:own:{click.dedupe_key}:{attempt}"
            assign = Action(kind=ActionKind.ASSIGN, target="helpdesk",
                            payload={"assignee": agent})
            rows.append(("helpdesk", [assign], awaits))
    payload = update_payload(click, now=now, agent_id=agent, error=error, awaits=awaits)
    # Slack retries a click it thinks was lost: the same action_ts writes nothing.
    rows.append(("slack", [Action(kind=ActionKind.ALERT, target="slack", payload=payload)],
                 f"{tenant.slug}:slack:{payload['event_id']}:slack"))
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
    runtime.wake()
    return written


def slack_events_blueprint(runtime: Runtime, *, signing_secret: str) -> Blueprint:
    """``POST /slack/events`` for the whole deployment, signatures verified by Bolt."""
    def on_action(click: SlackAction) -> None:
        handle_click(runtime, click)

    app = build_bolt_app(
        signing_secret=signing_secret, authorize=_authorize(runtime), on_action=on_action
    )
    return slack_blueprint(app)
