"""Connection tests: call a vendor once with a workspace's settings, and what its badge says.

Every test of exactly the stored settings is recorded (``store.checks``) with a keyed
fingerprint of those settings, so a badge is green only while the settings it passed with are
still the stored ones; changed settings read "changed" until tested again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from adapters.helpdesk.base import HelpdeskConfig, HelpdeskGroup
from integration import store
from integration.errors import EscaladeError
from integration.store.checks import ConnectionCheckRow, connection_checks, record_check
from integration.workspaces.install_secrets import PROOF_SECRETS

__all__ = [
    "CONNECTIONS",
    "CheckResult",
    "ConnectionStatus",
    "connection_statuses",
    "record_if_stored",
    "record_stored",
    "run_check",
    "stored_connection",
]

log = logging.getLogger(__name__)

CONNECTIONS: tuple[str, ...] = ("helpdesk", "slack", "crm", "jira", "linear")
USER_AGENT = "Escalade/0.1 (connection test)"


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckResult:
    """One connection test: did the vendor accept, its words, and the groups it listed."""

    connection: str
    ok: bool
    message: str
    groups: tuple[HelpdeskGroup, ...] | None = None

    def detail(self) -> dict[str, Any] | None:
        """What is kept with the result (the groups, for choosing the mapping)."""
        if self.groups is None:
            return None
        return {"groups": [{"id": g.id, "name": g.name} for g in self.groups]}


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectionStatus:
    """What a connection's badge says.

    ``state``: ``ok`` (the last test of these settings passed), ``failed`` (it failed:
    ``message`` is the vendor's error), ``untested`` (never tested) or ``changed`` (the
    settings changed since the last test), or ``off`` (not connected).
    """

    connection: str
    state: str
    message: str = ""
    checked_at: datetime | None = None


def stored_connection(
    runtime: Any, tenant: store.TenantRow, connection: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """A connection's stored settings and secrets (secrets without their prefix).

    For the helpdesk the settings are ``{"base_url": ...}`` plus the workspace options.
    """
    secrets = store.tenant_secrets(tenant, runtime.cipher)
    if connection == "helpdesk":
        return ({**(tenant.settings or {}), "base_url": tenant.base_url or ""},
                {k: v for k, v in secrets.items() if "." not in k})
    prefix = f"{connection}."
    return (dict((tenant.settings or {}).get(connection) or {}),
            {k[len(prefix):]: v for k, v in secrets.items() if k.startswith(prefix)})


def _fingerprint(runtime: Any, connection: str, settings: Mapping[str, Any],
                 secrets: Mapping[str, str]) -> str:
    # Keyed: a hash of credentials must not be a way to guess them. Secrets the helpdesk
    # proves itself with are left out: rotating one does not change what a test calls.
    if connection == "helpdesk":
        what: dict[str, Any] = {"base_url": settings.get("base_url") or "",
                                "region": settings.get("region"),
                                "secrets": {k: v for k, v in secrets.items()
                                            if k not in PROOF_SECRETS}}
    else:
        what = {"settings": dict(settings),
                "secrets": {k: v for k, v in secrets.items() if k != "webhook_secret"}}
    payload = json.dumps(what, sort_keys=True, default=str).encode()
    return hmac.new(runtime.cipher.sign_key("connection-check"), payload,
                    hashlib.sha256).hexdigest()


def _http() -> requests.Session:
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    return http


def run_check(
    runtime: Any, tenant: store.TenantRow, connection: str, *,
    settings: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None,
) -> CheckResult:
    """Call the vendor once with the given settings (default: the stored ones); no store."""
    from adapters.connectors.base import ConnectorConfig
    from adapters.registry import build_adapter, build_connector

    stored_settings, stored_secrets = stored_connection(runtime, tenant, connection)
    settings = stored_settings if settings is None else settings
    secrets = stored_secrets if secrets is None else secrets
    try:
        if connection == "helpdesk":
            config = HelpdeskConfig(
                tenant=tenant.slug, helpdesk=tenant.helpdesk,
                base_url=str(settings.get("base_url") or "") or None,
                credentials={k: v for k, v in secrets.items() if k != "webhook_secret"},
                webhook_secret=secrets.get("webhook_secret"),
                options={k: v for k, v in settings.items() if k != "base_url"})
            # The adapter validates the install and takes over the session (zenpy sets its
            # auth on it); its test goes through that same session.
            with _http() as http:
                found = build_adapter(config, session=http).test_connection()
            return CheckResult(connection=connection, ok=True, message=found.message,
                               groups=found.groups)
        connector = build_connector(
            ConnectorConfig(tenant=tenant.slug, connector=connection, credentials=dict(secrets),
                            settings=dict(settings), base_url=settings.get("base_url")))
        try:
            message = connector.test_connection().message
        finally:
            connector.close()
    except EscaladeError as err:
        return CheckResult(connection=connection, ok=False, message=str(err))
    except Exception as err:
        # An SDK failure nobody mapped must still read as a failed test, not a crash.
        log.exception("tenant %s: %s connection test failed", tenant.slug, connection)
        return CheckResult(connection=connection, ok=False,
                           message=f"unexpected {type(err).__name__}: {err}")
    return CheckResult(connection=connection, ok=True, message=message)


def _record(runtime: Any, tenant: store.TenantRow, result: CheckResult, fingerprint: str,
            s: Any = None) -> None:
    def write(session: Any) -> None:
        record_check(session, tenant_id=tenant.id, connection=result.connection, ok=result.ok,
                     message=result.message, fingerprint=fingerprint, now=runtime.now(),
                     detail=result.detail())
    if s is not None:
        write(s)
        return
    with store.session_scope(runtime.sessions) as session:
        write(session)


def record_stored(
    runtime: Any, tenant: store.TenantRow, result: CheckResult, *, s: Any = None
) -> None:
    """Record a test of the connection's stored settings (in ``s``'s transaction, if given)."""
    settings, secrets = stored_connection(runtime, tenant, result.connection)
    _record(runtime, tenant, result, _fingerprint(runtime, result.connection, settings, secrets),
            s=s)


def record_if_stored(runtime: Any, tenant: store.TenantRow, result: CheckResult, *,
                     settings: Mapping[str, Any], secrets: Mapping[str, str]) -> bool:
    """Record a test of form values when they are exactly what is stored; True if recorded."""
    stored_settings, stored_secrets = stored_connection(runtime, tenant, result.connection)
    tested = _fingerprint(runtime, result.connection, settings, secrets)
    if tested != _fingerprint(runtime, result.connection, stored_settings, stored_secrets):
        return False
    _record(runtime, tenant, result, tested)
    return True


def connection_statuses(runtime: Any, tenant: store.TenantRow) -> dict[str, ConnectionStatus]:
    """Every connection's badge: tested and passed, failed, untested, changed, or off."""
    with store.session_scope(runtime.sessions) as s:
        checks = connection_checks(s, tenant.id)
        for row in checks.values():
            s.expunge(row)
    connected = set((tenant.settings or {}).get("connectors") or ())
    out: dict[str, ConnectionStatus] = {}
    for connection in CONNECTIONS:
        if connection != "helpdesk" and connection not in connected:
            out[connection] = ConnectionStatus(connection=connection, state="off")
            continue
        settings, secrets = stored_connection(runtime, tenant, connection)
        out[connection] = _status(connection, checks.get(connection),
                                  _fingerprint(runtime, connection, settings, secrets))
    return out


def _status(connection: str, row: ConnectionCheckRow | None, fingerprint: str) -> ConnectionStatus:
    if row is None:
        return ConnectionStatus(connection=connection, state="untested")
    if row.fingerprint != fingerprint:
        return ConnectionStatus(connection=connection, state="changed", message=row.message,
                                checked_at=row.checked_at)
    return ConnectionStatus(connection=connection, state="ok" if row.ok else "failed",
                            message=row.message, checked_at=row.checked_at)
