"""What an admin types to connect Slack, HubSpot, Jira or Linear, checked before it is stored.

``CONNECTOR_FIELDS`` is what ``escalade tenant connect`` takes and the admin's connection forms
show, per connector; ``check_connector`` raises ``ValidationError`` naming the field a
connector cannot use. No call is made to the service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integration.errors import EscaladeError, ValidationError
from integration.workspaces.validation import MIN_WEBHOOK_SECRET, check_email, check_url

__all__ = [
    "CONNECTOR_FIELDS",
    "CONNECTOR_NAMES",
    "TOKEN_SECRET",
    "ConnectorField",
    "check_connector",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectorField:
    """One thing a connector takes: a setting or a secret, and how it is checked."""

    name: str
    label: str
    secret: bool = False
    required: bool = False
    kind: str = "text"
    hint: str = ""
    placeholder: str = ""


def _field(name: str, label: str, **kwargs: Any) -> ConnectorField:
    return ConnectorField(name=name, label=label, **kwargs)


# What ``escalade tenant connect`` takes and the admin's connection forms show, per connector.
# ``--token`` fills the connector's first secret; ``--email`` and ``--webhook-secret`` theirs.
CONNECTOR_FIELDS: dict[str, tuple[ConnectorField, ...]] = {
    "slack": (
        _field("bot_token", "Bot token", secret=True, required=True, placeholder="xoxb-…"),
        _field("channel", "Alert channel id", required=True, kind="slack_channel",
               placeholder="C0123ABCD", hint="The id, not the name: names change."),
        _field("managers_channel", "Managers' channel id", kind="slack_channel",
               placeholder="C0456EFGH"),
        _field("team_id", "Workspace (team) id", kind="slack_team", placeholder="T0123ABCD"),
        _field("users", "Slack user → helpdesk agent", kind="slack_users",
               placeholder="U0ABC123 = 42",
               hint="One per line: Slack user id = agent id (for “Take ownership”)."),
    ),
    "crm": (
        _field("access_token", "Private app token", secret=True, required=True,
               placeholder="pat-…"),
        _field("properties", "Company properties", kind="object",
               hint="Which HubSpot properties hold arr, plan, health, lifecycle, renewal."),
    ),
    "jira": (
        _field("base_url", "Site URL", required=True, kind="url",
               placeholder="https://yourteam.atlassian.net"),
        _field("email", "Account e-mail", secret=True, required=True, kind="email",
               hint="The Atlassian account the API token belongs to."),
        _field("api_token", "API token", secret=True, required=True),
        _field("project", "Project key", required=True, kind="jira_project", placeholder="SUP",
               hint="Where bug reports are filed."),
        _field("webhook_secret", "Webhook secret", secret=True, kind="webhook_secret",
               hint="The secret of the Jira webhook that tells Escalade an issue is done."),
    ),
    "linear": (
        _field("api_key", "API key", secret=True, required=True, placeholder="lin_api_…"),
        _field("team_id", "Team id", required=True,
               hint="The team bug reports are filed in (Linear: Settings → Teams)."),
        _field("webhook_secret", "Webhook signing secret", secret=True, kind="webhook_secret",
               hint="Linear signs its webhooks with it; Escalade hears when an issue is done."),
    ),
}
CONNECTOR_NAMES = {"slack": "Slack", "crm": "HubSpot", "jira": "Jira", "linear": "Linear"}
# The secret ``escalade tenant connect --token`` fills, per connector.
TOKEN_SECRET = {"slack": "bot_token", "crm": "access_token", "jira": "api_token",
                "linear": "api_key"}
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def check_connector(
    connector: str, settings: Mapping[str, Any], credentials: Mapping[str, str],
) -> None:
    """Raise ``ValidationError`` naming the field the connector cannot use, before storing.

    Checks the fields here, then builds the connector (no call is made), which checks the
    rest of its settings the way it reads them when delivering.
    """
    if connector not in CONNECTOR_FIELDS:
        raise ValidationError("connector", f"{connector!r} is not one of: "
                                           f"{', '.join(sorted(CONNECTOR_FIELDS))}")
    label = CONNECTOR_NAMES[connector]
    for spec in CONNECTOR_FIELDS[connector]:
        value = credentials.get(spec.name) if spec.secret else settings.get(spec.name)
        if value in (None, "", {}, []):
            if spec.required:
                raise ValidationError(spec.name, f"{label} needs the {spec.label.lower()}")
            continue
        _check_connector_value(spec, value)
    if settings.get("base_url"):
        check_url("base_url", settings["base_url"])
    _build_connector(connector, settings, credentials)


def _check_connector_value(spec: ConnectorField, value: Any) -> None:
    name = spec.name
    if spec.kind == "url":
        check_url(name, value)
    elif spec.kind == "email":
        check_email(name, value)
    elif spec.kind == "webhook_secret" and len(str(value)) < MIN_WEBHOOK_SECRET:
        raise ValidationError(name, f"at least {MIN_WEBHOOK_SECRET} characters")
    elif spec.kind == "slack_channel" and not _SLACK_CHANNEL.match(str(value)):
        raise ValidationError(name, f"{name} must be a channel id such as C0123ABCD "
                                    f"(not the name {value!r}: names change)")
    elif spec.kind == "slack_team" and not re.match(r"^[TE][A-Z0-9]{2,}$", str(value)):
        raise ValidationError(name, "a workspace id looks like T0123ABCD")
    elif spec.kind == "slack_users":
        if not isinstance(value, Mapping):
            raise ValidationError(name, "expected an object of Slack user id to agent id")
        for user in value:
            if not _SLACK_USER.match(str(user)):
                raise ValidationError(name, f"{user!r} is not a Slack user id (U0123ABCD)")
    elif spec.kind == "jira_project" and not re.fullmatch(r"[A-Z][A-Z0-9_]{0,49}",
                                                          str(value).strip().upper()):
        raise ValidationError(name, f"{value!r} is not a Jira project key such as PAY")
    elif spec.kind == "object" and not isinstance(value, Mapping):
        raise ValidationError(name, "expected a JSON object")


def _build_connector(connector: str, settings: Mapping[str, Any],
                     credentials: Mapping[str, str]) -> None:
    from adapters.connectors.base import ConnectorConfig
    from adapters.registry import build_connector

    config = ConnectorConfig(tenant="check", connector=connector, credentials=dict(credentials),
                             settings=dict(settings), base_url=settings.get("base_url"))
    try:
        built = build_connector(config)
    except EscaladeError as err:
        text = str(err)
        known = [*(f.name for f in CONNECTOR_FIELDS[connector]), *settings]
        where = next((k for k in sorted(known, key=len, reverse=True) if k in text), "settings")
        raise ValidationError(where, text.removeprefix(f"{connector}: ")) from err
    built.close()
