"""What each connection form holds, and turning a submitted form into settings and secrets.

``merge`` reads a submitted form against what is stored and returns the settings and secrets
to store (pure); ``check_section`` validates them with the same checks as the CLI. Secrets
are write-only: a blank secret field keeps the stored value, and no stored secret is ever
put back into a page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.registry import adapter_class
from integration.errors import ValidationError
from integration.workspaces.connector_fields import (
    CONNECTOR_FIELDS,
    CONNECTOR_NAMES,
    TOKEN_SECRET,
    ConnectorField,
    check_connector,
)
from integration.workspaces.validation import BASE_URL_OPTIONAL, check_url

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
    # The same connection from the command line, with {slug} for the workspace.
    cli: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Merged:
    """A submitted form read against what is stored."""

    settings: dict[str, Any]
    secrets: dict[str, str]
    new_secrets: dict[str, str] = field(default_factory=dict)


_PROPERTY_HINT = "HubSpot company property; blank uses the default shown"
_PROPERTY_PLACEHOLDERS = {"arr": "annualrevenue", "plan": "plan", "health": "health_score",
                          "lifecycle": "lifecyclestage", "renewal": "renewal_date"}
_PROPERTY_LABELS = {"arr": "ARR property", "plan": "Plan property", "health": "Health property",
                    "lifecycle": "Lifecycle property", "renewal": "Renewal date property"}
_INTROS = {
    "slack": "Escalation alerts in a channel, with buttons.",
    "crm": "Account context (ARR, plan, health, owner) and notes and tasks on the company.",
    "jira": "Bug reports from tickets: filed once per problem, commented on as more customers "
            "hit it.",
    "linear": "Bug reports from tickets, filed in a Linear team.",
}


def _form_field(spec: ConnectorField) -> Field:
    return Field(name=spec.name, label=spec.label, secret=spec.secret, required=spec.required,
                 multiline=spec.kind == "slack_users", hint=spec.hint,
                 placeholder=spec.placeholder)


def _connector_section(key: str) -> Section:
    if key == "crm":
        token = next(f for f in CONNECTOR_FIELDS["crm"] if f.secret)
        fields = (_form_field(token), *(
            Field(name=name, label=_PROPERTY_LABELS[name], hint=_PROPERTY_HINT,
                  placeholder=_PROPERTY_PLACEHOLDERS[name]) for name in _PROPERTY_LABELS))
    else:
        fields = tuple(_form_field(spec) for spec in CONNECTOR_FIELDS[key])
    return Section(key=key, title=CONNECTOR_NAMES[key], intro=_INTROS[key], fields=fields,
                   cli=_cli_line(key))


def _cli_line(key: str) -> str:
    flags = {TOKEN_SECRET[key]: "--token", "email": "--email",
             "webhook_secret": "--webhook-secret"}
    parts = [f"escalade tenant connect {{slug}} {key}"]
    for spec in CONNECTOR_FIELDS[key]:
        if not spec.required:
            continue
        if spec.name in flags:
            parts.append(f"{flags[spec.name]} <{spec.label.lower()}>")
        else:
            parts.append(f"--option {spec.name}=<{spec.label.lower()}>")
    return " ".join([*parts, "--check"])


# The same fields ``escalade tenant connect`` takes
# (``integration.workspaces.validation.CONNECTOR_FIELDS``).
CONNECTORS: tuple[Section, ...] = tuple(_connector_section(k)
                                        for k in ("slack", "crm", "jira", "linear"))
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
    placeholder = adapter_class(helpdesk).base_url_placeholder
    base = () if placeholder is None else (
        Field(name="base_url", label="Base URL", required=helpdesk not in BASE_URL_OPTIONAL,
              placeholder=placeholder),)
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


def check_section(section: Section, merged: Merged) -> None:
    """Raise ``ValidationError`` (naming the field) for settings that cannot work.

    The connectors' checks are ``escalade tenant connect``'s own
    (``integration.workspaces.connector_fields.check_connector``).
    """
    for f in section.fields:
        present = merged.secrets.get(f.name) if f.secret else merged.settings.get(f.name)
        if f.required and not present:
            raise ValidationError(f.name, f"{f.label} is required")
    if section.key == "helpdesk":
        if merged.settings.get("base_url"):
            check_url("base_url", merged.settings["base_url"])
        return
    check_connector(section.key, merged.settings, merged.secrets)
