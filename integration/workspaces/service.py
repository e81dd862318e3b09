"""Setting a workspace up, shared by the CLI and the admin pages: add, connect, test, groups.

What the admin typed is checked first (``integration.workspaces.validation``); these functions
then call the vendor once where asked (``integration.workspaces.connection_tests``), store
(secrets encrypted) and record the test, so a status badge is green only when the last test
of exactly the stored settings passed. They also say where helpdesks reach Escalade
(``public_url``) and how to register those webhook URLs in each helpdesk (``REGISTRATION``),
and set or rotate a workspace's per-install secrets (``set_secret``, ``secret_statuses``): a
replaced webhook secret is still accepted for ``SECRET_GRACE`` while the helpdesk catches up.
"""

from __future__ import annotations

import logging
import secrets as token_source
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adapters.helpdesk.base import HelpdeskGroup
from integration import store
from integration.errors import EscaladeError, ValidationError
from integration.store.checks import connection_checks
from integration.workspaces.connection_tests import (
    CheckResult,
    record_if_stored,
    record_stored,
    run_check,
    stored_connection,
)
from integration.workspaces.connector_fields import CONNECTOR_NAMES, check_connector
from integration.workspaces.install_secrets import (
    SECRET_GRACE,
    InstallSecret,
    check_secret_value,
    install_secret,
    install_secrets,
    previous_secret,
    rotation_of,
    with_rotation,
)
from integration.workspaces.validation import (
    CREDENTIALS,
    NewTenant,
    group_option,
    group_report,
    groups_in_use,
)

__all__ = [
    "CheckFailed",
    "REGISTRATION",
    "REQUIRED_SECRETS",
    "SECRET_FROM_HELPDESK",
    "GroupStatus",
    "Registration",
    "SecretChange",
    "SecretStatus",
    "add_tenant",
    "check_stored",
    "connect",
    "connector_label",
    "group_status",
    "public_url",
    "registration_steps",
    "remember_served_url",
    "secret_statuses",
    "served_url",
    "set_secret",
    "store_secrets",
    "tracker_webhook_url",
    "webhook_url",
]

log = logging.getLogger(__name__)

REQUIRED_SECRETS = CREDENTIALS
# Helpdesks that create the webhook secret themselves (Zendesk's signing secret, Intercom's
# client secret): Escalade cannot make one up for them, the admin copies theirs in.
SECRET_FROM_HELPDESK = frozenset({"zendesk", "intercom"})
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
SERVED_URL_FILE = "served-url"


# --- where helpdesks reach Escalade ----------------------------------------------------------


def remember_served_url(config: Mapping[str, Any], url: str) -> None:
    """Note the address ``escalade serve`` listens on, for URLs printed by other commands."""
    var_dir = Path(config["VAR_DIR"])
    var_dir.mkdir(parents=True, exist_ok=True)
    (var_dir / SERVED_URL_FILE).write_text(url.rstrip("/") + "\n", encoding="utf-8")


def served_url(config: Mapping[str, Any]) -> str | None:
    """The address ``escalade serve`` last listened on, if it ever ran with this folder."""
    try:
        text = (Path(config["VAR_DIR"]) / SERVED_URL_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    parts = urlsplit(text)
    return text if parts.scheme in ("http", "https") and parts.netloc else None


def public_url(config: Mapping[str, Any], *, request_root: str | None = None) -> str:
    """Where helpdesks reach this app: ``ESCALADE_PUBLIC_URL`` when set, else the address
    actually served (the one this request came to, or the one ``escalade serve`` uses)."""
    configured = str(config.get("PUBLIC_URL") or "").strip()
    if configured:
        return configured.rstrip("/")
    if request_root:
        return request_root.rstrip("/")
    return served_url(config) or DEFAULT_PUBLIC_URL


def webhook_url(base: str, helpdesk: str, slug: str) -> str:
    """The URL a helpdesk posts a workspace's ticket events to."""
    return f"{base.rstrip('/')}/webhooks/{helpdesk}/{slug}"


def tracker_webhook_url(base: str, tracker: str, slug: str) -> str:
    """The URL Jira or Linear posts issue changes to."""
    return f"{base.rstrip('/')}/webhooks/{tracker}/{slug}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Registration:
    """How to register the webhook URL in one helpdesk, in its own menu names."""

    where: str
    steps: tuple[str, ...]
    # False where nothing has to be registered (the sandbox runs inside Escalade).
    needed: bool = True


_ZENDESK_BODY = ('{"ticket_id": "{{ticket.id}}", '
                 '"updated_at": "{{ticket.updated_at_with_timestamp}}"}')
_FRESHDESK_BODY = ('{"freshdesk_webhook": {"ticket_id": "{{ticket.id}}", "triggered_event": '
                   '"{{triggered_event}}", "ticket_updated_at": "{{ticket.modified_on}}"}}')
_INTERCOM_TOPICS = ("conversation.user.created, conversation.user.replied, "
                    "conversation.admin.replied, conversation.admin.assigned, "
                    "conversation.admin.closed")

# Steps use {url} for the workspace's webhook URL and {slug} for its slug.
REGISTRATION: dict[str, Registration] = {
    "zendesk": Registration(
        where="Admin Center → Apps and integrations → Actions and webhooks → Webhooks",
        steps=(
            "In Zendesk Admin Center, open Apps and integrations → Actions and webhooks → "
            "Webhooks (older accounts: Webhooks → Webhooks) and click Create webhook.",
            "Choose Trigger or automation, name it Escalade, endpoint URL {url}, request "
            "method POST, request format JSON, no authentication; create it.",
            "On the webhook's page click Reveal secret (Signing secret) and give it to "
            "Escalade: escalade tenant configure {slug} --webhook-secret <secret>, or the "
            "Helpdesk section of the workspace's admin page.",
            "Admin Center → Objects and rules → Business rules → Triggers → Add trigger: "
            "Ticket is Created, or Ticket is Updated; action Notify by → Active webhook → "
            "Escalade with the JSON body " + _ZENDESK_BODY + ".",
        )),
    "freshdesk": Registration(
        where="Admin → Workflows → Automations",
        steps=(
            "In Freshdesk open Admin → Workflows → Automations (Automation rules), tab "
            "Ticket Creation, and click New rule.",
            "Add the action Trigger webhook: request type POST, callback URL {url}, "
            "Requires authentication with user escalade and the webhook secret as password, "
            "encoding JSON, content (advanced) " + _FRESHDESK_BODY + ".",
            "Do the same on the Ticket Updates tab, with the condition Performed by: agent is "
            "not Escalade's agent, so Escalade's own write-backs do not call back.",
        )),
    "intercom": Registration(
        where="Developer Hub → your app → Configure → Webhooks",
        steps=(
            "In the Intercom Developer Hub open your app → Configure → Webhooks.",
            "Endpoint URL: {url} (Intercom needs an HTTPS address it can reach).",
            "Topics: " + _INTERCOM_TOPICS + "; save.",
            "Intercom signs every notification with the app's client secret (Basic "
            "information → Client secret): give it to Escalade with escalade tenant "
            "configure {slug} --webhook-secret <client secret>, or the Helpdesk section of "
            "the workspace's admin page.",
        )),
    "sandbox": Registration(
        where="nothing to register", needed=False,
        steps=("The sandbox runs inside Escalade: signed test tickets go to {url} "
               "(escalade demo sends the sample workspace's).",)),
}


def registration_steps(helpdesk: str, *, url: str, slug: str) -> tuple[str, ...]:
    """The steps to register ``url`` in ``helpdesk``, filled in for the workspace."""
    # replace(), not format(): the steps quote JSON bodies full of braces.
    found = REGISTRATION.get(helpdesk)
    if found is None:
        return ()
    return tuple(step.replace("{url}", url).replace("{slug}", slug) for step in found.steps)


# --- adding and connecting ------------------------------------------------------------------


class CheckFailed(EscaladeError):
    """The vendor refused the connection test, so nothing was stored."""

    def __init__(self, result: CheckResult) -> None:
        self.result = result
        super().__init__(result.message)


def _tenant(runtime: Any, slug: str) -> store.TenantRow:
    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, slug)
        if row is None:
            raise ValidationError("tenant", f"no workspace {slug!r} (see escalade tenant list)")
        s.expunge(row)
        return row


def check_stored(runtime: Any, slug: str, connection: str) -> CheckResult:
    """Test a stored connection and record the result (``escalade tenant check``)."""
    tenant = _tenant(runtime, slug)
    result = run_check(runtime, tenant, connection)
    record_stored(runtime, tenant, result)
    return result


def add_tenant(runtime: Any, plan: NewTenant, *, check: bool) -> CheckResult | None:
    """Store a checked workspace; with ``check`` its helpdesk is tested first.

    A failed test stores nothing (``EscaladeError`` with the vendor's words); a passed one is
    recorded with the workspace, in the same transaction.
    """
    with store.session_scope(runtime.sessions) as s:
        if store.get_tenant(s, plan.slug) is not None:
            raise ValidationError("slug", f"a workspace {plan.slug!r} already exists")
    result = None
    if check:
        draft = store.TenantRow(id=0, slug=plan.slug, name=plan.name, helpdesk=plan.helpdesk,
                                base_url=plan.base_url, settings=dict(plan.settings),
                                secrets=runtime.cipher.encrypt_json(dict(plan.secrets)))
        result = run_check(runtime, draft, "helpdesk")
        if not result.ok:
            raise CheckFailed(result)
    with store.session_scope(runtime.sessions) as s:
        row = store.add_tenant(s, slug=plan.slug, name=plan.name, helpdesk=plan.helpdesk,
                               base_url=plan.base_url, secrets=plan.secrets,
                               settings=plan.settings, cipher=runtime.cipher, now=runtime.now())
        if result is not None:
            record_stored(runtime, row, result, s=s)
    return result


def connect(
    runtime: Any, slug: str, connector: str, *, settings: Mapping[str, Any],
    new_secrets: Mapping[str, str], check: bool,
) -> CheckResult | None:
    """Check and store a connector; with ``check`` it must pass a test first (recorded).

    ``settings`` are the connector's complete settings; ``new_secrets`` (without prefix) are
    merged into the stored ones. A failed check stores nothing.
    """
    tenant = _tenant(runtime, slug)
    _, stored_secrets = stored_connection(runtime, tenant, connector)
    secrets = {**stored_secrets, **{k: v for k, v in new_secrets.items() if v}}
    check_connector(connector, settings, secrets)
    result = None
    if check:
        result = run_check(runtime, tenant, connector, settings=settings, secrets=secrets)
        if not result.ok:
            raise CheckFailed(result)
    _store_connector(runtime, tenant, connector, settings, new_secrets)
    if result is not None:
        live = _tenant(runtime, slug)
        record_if_stored(runtime, live, result, settings=settings, secrets=secrets)
    return result


def _store_connector(runtime: Any, tenant: store.TenantRow, connector: str,
                     settings: Mapping[str, Any], new_secrets: Mapping[str, str]) -> None:
    with store.session_scope(runtime.sessions) as s:
        live = store.get_tenant(s, tenant.slug)
        if live is None:
            raise ValidationError("tenant", f"no workspace {tenant.slug!r}")
        connected = sorted({*((live.settings or {}).get("connectors") or ()), connector})
        store_secrets(runtime, s, live, {f"{connector}.{k}": v
                                         for k, v in new_secrets.items() if v},
                      settings={connector: dict(settings), "connectors": connected})
    runtime.forget_adapters()


# --- groups ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class GroupStatus:
    """The workspace's group mapping against the matrix and the helpdesk's own groups."""

    option: str | None
    noun: str
    used: tuple[str, ...]
    mapping: Mapping[str, str] = field(default_factory=dict)
    # The helpdesk's groups from its last test (None: not listed yet).
    groups: tuple[HelpdeskGroup, ...] | None = None
    listed_at: datetime | None = None
    unmapped: tuple[str, ...] = ()
    unknown: Mapping[str, str] = field(default_factory=dict)
    suggestions: Mapping[str, str] = field(default_factory=dict)


def group_status(runtime: Any, tenant: store.TenantRow,
                 groups: tuple[HelpdeskGroup, ...] | None = None) -> GroupStatus:
    """Which matrix groups have no helpdesk id yet, and what the helpdesk offers."""
    from adapters.registry import adapter_class

    cls = adapter_class(tenant.helpdesk)
    matrix = runtime.matrix_for(tenant)
    used = groups_in_use((matrix.tier_settings(t).actions.group for t in sorted(matrix.settings,
                                                                                reverse=True)),
                         (tenant.settings or {}).get("routing"))
    listed_at = None
    if groups is None:
        with store.session_scope(runtime.sessions) as s:
            row = connection_checks(s, tenant.id).get("helpdesk")
            if row is not None and row.detail and isinstance(row.detail.get("groups"), list):
                groups = tuple(HelpdeskGroup(id=str(g.get("id")), name=str(g.get("name")))
                               for g in row.detail["groups"] if isinstance(g, Mapping))
                listed_at = row.checked_at
    option = group_option(tenant.helpdesk)
    if option is None:
        return GroupStatus(option=None, noun=cls.group_noun, used=tuple(used), groups=groups,
                           listed_at=listed_at)
    mapping = (tenant.settings or {}).get(option) or {}
    report = group_report(used, mapping if isinstance(mapping, Mapping) else {}, groups)
    return GroupStatus(option=option, noun=cls.group_noun, used=report.used,
                       mapping=report.mapped, groups=groups, listed_at=listed_at,
                       unmapped=report.unmapped, unknown=report.unknown,
                       suggestions=report.suggestions)


def connector_label(connector: str) -> str:
    """The connector's product name (HubSpot for ``crm``)."""
    return CONNECTOR_NAMES.get(connector, connector)


# --- per-install secrets ------------------------------------------------------------------


def store_secrets(runtime: Any, s: Any, row: store.TenantRow, changes: Mapping[str, str], *,
                  settings: Mapping[str, Any] | None = None, **fields: Any) -> None:
    """Merge ``changes`` into a tenant's secrets, keeping a replaced proof for its grace."""
    stored = store.tenant_secrets(row, runtime.cipher)
    merged = with_rotation(stored, changes, now=runtime.now()) if changes else None
    store.update_tenant(s, row, cipher=runtime.cipher, settings=settings, secrets=merged,
                        **fields)


@dataclass(frozen=True, kw_only=True, slots=True)
class SecretChange:
    """What ``set_secret`` did: the value when Escalade made it (shown once), the grace."""

    name: str
    label: str
    generated: str | None
    previous_until: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class SecretStatus:
    """A per-install secret as the admin sees it: set or not, when, and any grace left."""

    spec: InstallSecret
    is_set: bool
    rotated_at: datetime | None = None
    previous_until: datetime | None = None
    # False for a connector's secret while that connector is not connected.
    usable: bool = True


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def secret_statuses(runtime: Any, tenant: store.TenantRow) -> list[SecretStatus]:
    """Every per-install secret of the workspace: which are set, rotated when, grace left."""
    secrets = store.tenant_secrets(tenant, runtime.cipher)
    record = rotation_of(secrets)
    connected = set((tenant.settings or {}).get("connectors") or ())
    now = runtime.now()
    out = []
    for spec in install_secrets(tenant.helpdesk):
        kept = previous_secret(secrets, spec.name)
        out.append(SecretStatus(
            spec=spec, is_set=bool(secrets.get(spec.name)),
            rotated_at=_when((record.get(spec.name) or {}).get("rotated_at")),
            previous_until=kept[1] if kept is not None and now < kept[1] else None,
            usable=spec.connector is None or spec.connector in connected))
    return out


def set_secret(runtime: Any, slug: str, name: str, *, value: str | None = None,
               generate: bool = False) -> SecretChange:
    """Set or rotate the per-install secret ``name``: a given value, or one Escalade makes.

    ``ValidationError`` naming ``name`` (or ``value``) when the value is not usable or the
    vendor makes this secret; nothing is stored then. A replaced value stays accepted for
    ``SECRET_GRACE``.
    """
    tenant = _tenant(runtime, slug)
    spec = install_secret(tenant.helpdesk, name)
    connected = set((tenant.settings or {}).get("connectors") or ())
    if spec.connector is not None and spec.connector not in connected:
        raise ValidationError("name", f"{CONNECTOR_NAMES[spec.connector]} is not connected "
                                      f"to {slug!r}: connect it first")
    if generate == (value is not None):
        raise ValidationError("value", "give either a value or ask for one to be generated")
    if generate and not spec.generate:
        raise ValidationError("generate", f"{spec.where} Escalade cannot make it up: give "
                                          "the value")
    text = token_source.token_urlsafe(32) if generate else check_secret_value(spec, value or "")
    with store.session_scope(runtime.sessions) as s:
        live = store.get_tenant(s, slug)
        if live is None:
            raise ValidationError("tenant", f"no workspace {slug!r}")
        old = store.tenant_secrets(live, runtime.cipher).get(name) or ""
        store_secrets(runtime, s, live, {name: text})
    runtime.forget_adapters()
    replaced = bool(old) and old != text
    return SecretChange(name=name, label=spec.label, generated=text if generate else None,
                        previous_until=runtime.now() + SECRET_GRACE if replaced else None)

