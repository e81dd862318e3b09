"""The Slack side of the buttons: a Bolt app mounted in Flask at ``POST /slack/events``.

Bolt verifies every request (``X-Slack-Signature`` v0 over the raw body, timestamps older than
five minutes refused with 401) and answers ``url_verification``. Each click on an alert
button is acknowledged at once and handed to ``on_action`` as a :class:`SlackAction`; the
caller does the work through the outbox (assign in the helpdesk, then an ALERT action whose
payload :func:`update_payload` builds, which ``SlackConnector.update_message`` renders once
the assignment landed).

``authorize`` maps the request's workspace to a bot token (one Slack app serves every tenant;
each tenant's workspace installs it), e.g.
``lambda team_id: AuthorizeResult(team_id=team_id, bot_token=token_of(team_id))``; None
refuses the request. ``on_action`` should also check that ``team_id`` belongs to the tenant
named in ``dedupe_key`` before acting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request
from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import CallableAuthorize

from adapters.connectors.slack.blocks import (
    ACTION_IDS,
    SNOOZE,
    UPDATE_KIND,
    parse_button_value,
)
from integration.errors import ValidationError
from integration.models import format_time

__all__ = [
    "EVENT_FOR_ACTION",
    "SlackAction",
    "build_bolt_app",
    "slack_blueprint",
    "to_slack_action",
    "update_payload",
]

log = logging.getLogger(__name__)

REFUSED = "This Slack workspace is not connected to Escalade."
_AUTHORIZED = "escalade_authorize_result"
# The message event each button leads to (Open ticket changes nothing).
EVENT_FOR_ACTION: Mapping[str, str] = {
    "acknowledge": "acknowledged",
    "take_ownership": "owned",
    "snooze": "snoozed",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class SlackAction:
    """A click on an alert button: who, where, on which escalation."""

    action: str
    team_id: str | None
    user_id: str
    user_name: str | None
    channel_id: str | None
    message_ts: str | None
    dedupe_key: str
    ticket_key: str | None
    action_ts: str | None = None
    response_url: str | None = None


def _str(data: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def to_slack_action(name: str, body: Mapping[str, Any], action: Mapping[str, Any]) -> SlackAction:
    """Read a ``block_actions`` payload (and the clicked element) into a :class:`SlackAction`."""
    user = _obj(body, "user")
    user_id = _str(user, "id")
    if user_id is None:
        raise ValidationError("user.id", "a button click without a user")
    container, message = _obj(body, "container"), _obj(body, "message")
    dedupe_key, ticket_key = parse_button_value(_str(action, "value"))
    return SlackAction(
        action=name,
        team_id=_str(_obj(body, "team"), "id") or _str(user, "team_id"),
        user_id=user_id,
        user_name=_str(user, "username", "name"),
        channel_id=_str(_obj(body, "channel"), "id") or _str(container, "channel_id"),
        message_ts=_str(container, "message_ts") or _str(message, "ts"),
        dedupe_key=dedupe_key,
        ticket_key=ticket_key,
        action_ts=_str(action, "action_ts"),
        response_url=_str(body, "response_url"),
    )


def update_payload(
    click: SlackAction,
    *,
    now: datetime,
    agent_id: str | None = None,
    error: str | None = None,
    awaits: str | None = None,
) -> dict[str, Any]:
    """The ALERT payload (``kind: slack_update``) that shows ``click`` on the alert message.

    ``awaits``: the outbox key of the helpdesk assignment an ownership is shown after.
    """
    event = EVENT_FOR_ACTION.get(click.action)
    if event is None:
        raise ValidationError("action", f"{click.action!r} does not change the message")
    payload: dict[str, Any] = {
        "kind": UPDATE_KIND,
        "dedupe_key": click.dedupe_key,
        "ticket_key": click.ticket_key,
        "event": event,
        "user_id": click.user_id,
        "at": format_time(now),
        "event_id": click.action_ts or f"{click.user_id}:{click.action}:{format_time(now)}",
    }
    if event == "owned" and agent_id is not None:
        payload["agent_id"] = agent_id
    if event == "snoozed":
        payload["until"] = format_time(now + SNOOZE)
    if error is not None:
        payload["error"] = error
    if awaits is not None:
        payload["awaits"] = awaits
    if click.channel_id:
        payload["channel_id"] = click.channel_id
    return payload


def build_bolt_app(
    *,
    signing_secret: str,
    authorize: Callable[..., AuthorizeResult | None],
    on_action: Callable[[SlackAction], None],
) -> App:
    """A Bolt app that verifies requests and hands the alert buttons to ``on_action``.

    ``authorize`` is called like Bolt's own (keyword arguments by name: ``team_id``,
    ``enterprise_id``, ``user_id``, ``context``, ...). A click from a workspace it refuses gets
    a 200 with a short message and does nothing.
    """
    # Bolt types the function as never returning None, though it handles None.
    lookup = CallableAuthorize(logger=log, func=authorize)  # type: ignore[arg-type]

    def gate(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
        # Bolt answers a refused interactive request by POSTing to its response_url from
        # inside the web request; refuse here instead, with no outbound call.
        if req.context.response_url is None:
            return next()
        result = lookup(context=req.context, enterprise_id=req.context.enterprise_id,
                        team_id=req.context.team_id, user_id=req.context.user_id)
        if result is None:
            log.warning("slack: refused a request from workspace %s", req.context.team_id)
            return BoltResponse(status=200, body=REFUSED)
        req.context[_AUTHORIZED] = result
        return next()

    def authorized(
        context: BoltContext, enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult | None:
        found = context.get(_AUTHORIZED)
        if isinstance(found, AuthorizeResult):
            return found
        return lookup(context=context, enterprise_id=enterprise_id, team_id=team_id,
                      user_id=user_id)

    app = App(
        signing_secret=signing_secret,
        before_authorize=gate,
        authorize=authorized,  # type: ignore[arg-type]  # as above
        # Flask answers after the listener returns, so the work must be quick (an outbox
        # insert); ack() comes first regardless.
        process_before_response=True,
        name="escalade.slack",
    )
    for name, action_id in ACTION_IDS.items():
        app.action(action_id)(_listener(name, on_action))
    return app


def _listener(
    name: str, on_action: Callable[[SlackAction], None]
) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        try:
            click = to_slack_action(name, body, action)
        except ValidationError as err:
            log.warning("slack: ignored a %s click: %s", name, err)
            return
        on_action(click)

    listener.__name__ = f"on_{name}"
    return listener


def slack_blueprint(bolt_app: App) -> Blueprint:
    """A Flask blueprint serving Bolt at ``POST /slack/events`` (events and interactivity)."""
    handler = SlackRequestHandler(bolt_app)
    blueprint = Blueprint("slack", __name__)

    @blueprint.post("/slack/events")
    def slack_events() -> Response:
        response: Response = handler.handle(request)
        return response

    return blueprint
