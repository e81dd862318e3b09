"""What each connection form holds, and turning a submitted form into settings and secrets.

Pure functions, no I/O: ``merge`` reads a submitted form against what is stored and returns
the settings and secrets to store; ``check_section`` validates them the way the connector
will read them. Secrets are write-only: a blank secret field keeps the stored value, and no
stored secret is ever put back into a page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from integration.errors import ConfigurationError, ValidationError

__all__ = [
    "CONNECTORS",
    "Field",
    "Merged",
    "Section",
    "check_section",
    "form_values",
    "format_users",
    "helpdesk_section",
    "merge",
    "parse_users",
]

_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True, kw_only=True, slots=True)
class Field:
    """One input of a connection form."""

    name: str
    label: str
    secret: bool = False
    required: bool = False
    multiline: bool = False
    hint: str = ""
    placeholder: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Section:
    """One connection form: ``key`` is the settings key and the secrets' prefix."""

    key: str
    title: str
    fields: tuple[Field, ...]
    intro: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Merged:
    """A submitted form read against what is stored."""

    settings: dict[str, Any]
    secrets: dict[str, str]
    new_secrets: dict[str, str] = field(default_factory=dict)


_PROPERTY_HINT = "HubSpot company property; blank uses the default shown"

CONNECTORS: tuple[Section, ...] = (
    Section(key="slack", title="Slack", intro="Escalation alerts in a channel, with buttons.",
            fields=(
                Field(name="bot_token", label="Bot token", secret=True, required=True,
                      placeholder="xoxb-…"),
                Field(name="channel", label="Alert channel id", required=True,
                      placeholder="C0123ABCD", hint="The id, not the name: names change."),
                Field(name="managers_channel", label="Managers' channel id",
                      placeholder="C0456EFGH"),
                Field(name="team_id", label="Workspace (team) id", placeholder="T0123ABCD"),
                Field(name="users", label="Slack user → helpdesk agent", multiline=True,
                      placeholder="U0ABC123 = 42",
                      hint="One per line: Slack user id = agent id (who “Take it” assigns)."),
            )),
    Section(key="crm", title="HubSpot", intro="Account context (ARR, plan, health, owner) "
            "and notes and tasks on the company.", fields=(
                Field(name="access_token", label="Private app token", secret=True,
                      required=True, placeholder="pat-…"),
                Field(name="arr", label="ARR property", hint=_PROPERTY_HINT,
                      placeholder="annualrevenue"),
                Field(name="plan", label="Plan property", hint=_PROPERTY_HINT,
                      placeholder="plan"),
                Field(name="health", label="Health property", hint=_PROPERTY_HINT,
                      placeholder="health_score"),
                Field(name="lifecycle", label="Lifecycle property", hint=_PROPERTY_HINT,
                      placeholder="lifecyclestage"),
                Field(name="renewal", label="Renewal date property", hint=_PROPERTY_HINT,
                      placeholder="renewal_date"),
            )),
    Section(key="jira", title="Jira", intro="Linked bugs (the connector arrives in a later "
            "release; the connection can be set up and tested now).", fields=(
                Field(name="site_url", label="Site URL", required=True,
                      placeholder="https://yourteam.atlassian.net"),
                Field(name="email", label="Account e-mail", required=True),
                Field(name="api_token", label="API token", secret=True, required=True),
                Field(name="project", label="Project key", placeholder="SUP"),
            )),
    Section(key="linear", title="Linear", intro="Linked bugs (the connector arrives in a later "
            "release; the connection can be set up and tested now).", fields=(
                Field(name="api_key", label="API key", secret=True, required=True,
                      placeholder="lin_api_…"),
                Field(name="team", label="Team key", placeholder="ENG"),
            )),
)
PROPERTY_FIELDS = ("arr", "plan", "health", "lifecycle", "renewal")

_HELPDESK_SECRETS: dict[str, tuple[Field, ...]] = {
    "zendesk": (Field(name="email", label="Agent e-mail", secret=True, required=True),
                Field(name="api_token", label="API token", secret=True, required=True)),
    "freshdesk": (Field(name="api_key", label="API key", secret=True, required=True),),
    "intercom": (Field(name="access_token", label="Access token", secret=True, required=True),),
    "sandbox": (),
}
_WEBHOOK_LABEL = {"zendesk": "Webhook signing secret", "freshdesk": "Webhook secret",
                  "intercom": "App client secret", "sandbox": "Webhook secret"}


def helpdesk_section(helpdesk: str) -> Section:
    """The helpdesk form for this tenant's helpdesk kind."""
    base = () if helpdesk == "sandbox" else (
        Field(name="base_url", label="Base URL", required=helpdesk != "intercom",
              placeholder={"zendesk": "https://yourcompany.zendesk.com",
                           "freshdesk": "https://yourcompany.freshdesk.com",
                           "intercom": "blank: api.intercom.io (or the region's)"}.get(helpdesk,
                                                                                    "")),)
    webhook = Field(name="webhook_secret", label=_WEBHOOK_LABEL.get(helpdesk, "Webhook secret"),
                    secret=True)
    return Section(key="helpdesk", title=f"Helpdesk ({helpdesk})",
                   fields=(*base, *_HELPDESK_SECRETS.get(helpdesk, ()), webhook))


def parse_users(text: str) -> dict[str, str]:
    """``U0ABC = 42`` lines (or a JSON object) into a Slack user -> agent id map."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValidationError("users", f"not valid JSON: {err.msg}") from err
        if not isinstance(data, dict):
            raise ValidationError("users", "expected an object of Slack user id to agent id")
        pairs = [(str(k), str(v)) for k, v in data.items()]
    else:
        pairs = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            user, sep, agent = line.partition("=")
            if not sep or not user.strip() or not agent.strip():
                raise ValidationError("users", f"line {number}: write SLACK_USER_ID = AGENT_ID")
            pairs.append((user.strip(), agent.strip()))
    for user, _ in pairs:
        if not _SLACK_USER.match(user):
            raise ValidationError("users", f"{user!r} is not a Slack user id (U0123ABCD)")
    return dict(pairs)


def format_users(users: Mapping[str, Any] | None) -> str:
    """The user map as the form shows it."""
    return "\n".join(f"{k} = {v}" for k, v in sorted((users or {}).items()))


def form_values(section: Section, settings: Mapping[str, Any]) -> dict[str, str]:
    """The stored non-secret values of a connector section, as form text."""
    values: dict[str, str] = {}
    for f in section.fields:
        if f.secret:
            continue
        if section.key == "crm" and f.name in PROPERTY_FIELDS:
            values[f.name] = str((settings.get("properties") or {}).get(f.name) or "")
        elif f.name == "users":
            values[f.name] = format_users(settings.get("users"))
        else:
            values[f.name] = str(settings.get(f.name) or "")
    return values


def merge(section: Section, form: Mapping[str, str], *, settings: Mapping[str, Any],
          secrets: Mapping[str, str]) -> Merged:
    """Settings and secrets after the submitted form; untouched keys keep their values.

    ``secrets`` are the section's stored secrets without prefix; blank secret fields keep
    them, and so do fields the form did not send. Settings keys the form does not show
    (``base_url`` for tests, rate limits) stay.
    """
    merged = dict(settings)
    kept = dict(secrets)
    new: dict[str, str] = {}
    properties = dict(merged.get("properties") or {})
    for f in section.fields:
        if f.name not in form:
            continue  # a field the form did not send keeps its value
        raw = str(form[f.name]).strip()
        if f.secret:
            if raw:
                kept[f.name] = new[f.name] = raw
        elif section.key == "crm" and f.name in PROPERTY_FIELDS:
            if raw:
                properties[f.name] = raw
            else:
                properties.pop(f.name, None)
        elif f.name == "users":
            users = parse_users(raw)
            if users:
                merged["users"] = users
            else:
                merged.pop("users", None)
        elif raw:
            merged[f.name] = raw
        else:
            merged.pop(f.name, None)
    if section.key == "crm":
        if properties:
            merged["properties"] = properties
        else:
            merged.pop("properties", None)
    return Merged(settings=merged, secrets=kept, new_secrets=new)


def _check_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(name, "must be an https:// URL")


def check_section(section: Section, merged: Merged) -> None:
    """Raise ``ValidationError`` (naming the field) for settings the connector cannot use."""
    for f in section.fields:
        present = merged.secrets.get(f.name) if f.secret else merged.settings.get(f.name)
        if f.required and not present:
            raise ValidationError(f.name, f"{f.label} is required")
    if section.key == "slack":
        from adapters.connectors.slack import SlackSettings

        try:
            SlackSettings.from_mapping(merged.settings)
        except ConfigurationError as err:
            text = str(err)
            where = "managers_channel" if "managers_channel" in text else "channel"
            raise ValidationError(where, text.removeprefix("slack: ")) from err
        team = merged.settings.get("team_id")
        if team and not re.match(r"^[TE][A-Z0-9]{2,}$", str(team)):
            raise ValidationError("team_id", "a workspace id looks like T0123ABCD")
    elif section.key == "jira":
        _check_url("site_url", str(merged.settings.get("site_url", "")))
        if "@" not in str(merged.settings.get("email", "")):
            raise ValidationError("email", "the Atlassian account's e-mail address")
    elif section.key == "helpdesk" and merged.settings.get("base_url"):
        _check_url("base_url", str(merged.settings["base_url"]))
