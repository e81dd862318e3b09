"""``/admin/tenants/<slug>``: connect the helpdesk, Slack, HubSpot, Jira and Linear.

Each section is one form with "Save" and "Test connection". Both read the form against what
is stored (a blank secret keeps the stored one), so a connection can be tested before it is
saved. Saving validates, stores through ``store.update_tenant`` (secrets encrypted, merged)
and drops the runtime's cached adapters and connectors.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from flask import abort, flash, redirect, request, url_for

from adapters.connectors.base import ConnectorConfig
from adapters.connectors.registry import build_connector
from adapters.helpdesk.base import HelpdeskConfig
from integration import store
from integration.errors import EscaladeError, ValidationError
from integration.tenants import validate_connection
from sidebar_ui.admin.core import bp, page, runtime
from sidebar_ui.admin.sections import (
    CONNECTORS,
    Merged,
    Section,
    check_section,
    form_values,
    helpdesk_section,
    merge,
)
from sidebar_ui.admin.vendors import check_helpdesk, check_jira, check_linear

__all__ = ["tenant_page", "tenant_section"]

log = logging.getLogger(__name__)

# Connectors the outbox delivers to; Jira and Linear are stored but not delivered to yet.
DELIVERING = frozenset({"slack", "crm"})


def _load(slug: str) -> store.TenantRow:
    with store.session_scope(runtime().sessions) as s:
        row = store.get_tenant(s, slug)
        if row is None:
            abort(404, description=f"No tenant {slug!r}.")
        s.expunge(row)
        return row


def _section(tenant: store.TenantRow, key: str) -> Section:
    if key == "helpdesk":
        return helpdesk_section(tenant.helpdesk)
    for section in CONNECTORS:
        if section.key == key:
            return section
    abort(404, description=f"No connection {key!r}.")


def _stored(tenant: store.TenantRow, section: Section) -> tuple[dict[str, Any], dict[str, str]]:
    """The section's stored settings and its secrets (prefix removed)."""
    secrets = store.tenant_secrets(tenant, runtime().cipher)
    if section.key == "helpdesk":
        return ({"base_url": tenant.base_url or ""},
                {k: v for k, v in secrets.items() if "." not in k})
    prefix = f"{section.key}."
    return (dict((tenant.settings or {}).get(section.key) or {}),
            {k[len(prefix):]: v for k, v in secrets.items() if k.startswith(prefix)})


def _view(tenant: store.TenantRow, *, active: str | None = None, form: dict[str, str] | None = None,
          result: dict[str, Any] | None = None, error: ValidationError | None = None,
          code: int = 200) -> Any:
    sections = []
    for section in (helpdesk_section(tenant.helpdesk), *CONNECTORS):
        settings, secrets = _stored(tenant, section)
        values = form_values(section, settings)
        if section.key == active and form is not None:
            values.update({f.name: form.get(f.name, "") for f in section.fields if not f.secret})
        connected = (section.key == "helpdesk"
                     or section.key in ((tenant.settings or {}).get("connectors") or ())
                     or (section.key not in DELIVERING and bool(settings)))
        sections.append({
            "section": section,
            "values": values,
            "stored": {f.name for f in section.fields if f.secret and secrets.get(f.name)},
            "connected": connected,
            "result": result if section.key == active else None,
            "error": error if section.key == active else None,
        })
    return page("admin/tenant.html", code, tenant=tenant, sections=sections, active=active)


@bp.get("/tenants/<slug>")
def tenant_page(slug: str) -> Any:
    """The tenant's connections."""
    return _view(_load(slug))


@bp.post("/tenants/<slug>/<key>")
def tenant_section(slug: str, key: str) -> Any:
    """Save, test or disconnect one section (``op`` = save | test | disconnect)."""
    tenant = _load(slug)
    section = _section(tenant, key)
    form = {k: str(v) for k, v in request.form.items()}
    op = form.get("op", "save")
    if op == "disconnect" and key != "helpdesk":
        return _disconnect(tenant, section)
    settings, secrets = _stored(tenant, section)
    try:
        merged = merge(section, form, settings=settings, secrets=secrets)
        check_section(section, merged)
        if key == "helpdesk":
            validate_connection(slug=tenant.slug, helpdesk=tenant.helpdesk,
                                base_url=merged.settings.get("base_url") or None,
                                secrets=merged.secrets)
    except ValidationError as err:
        return _view(tenant, active=key, form=form, error=err, code=422)
    if op == "test":
        changed = bool(merged.new_secrets) or merged.settings != settings
        return _view(tenant, active=key, form=form,
                     result=_test(tenant, section, merged, changed=changed))
    _save(tenant, section, merged)
    flash(f"{section.title}: saved.", "ok")
    return redirect(url_for("admin.tenant_page", slug=slug, _anchor=key))


def _save(tenant: store.TenantRow, section: Section, merged: Merged) -> None:
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        live = store.get_tenant(s, tenant.slug)
        if live is None:
            abort(404)
        if section.key == "helpdesk":
            store.update_tenant(s, live, cipher=rt.cipher,
                                base_url=str(merged.settings.get("base_url") or ""),
                                secrets=merged.new_secrets)
        else:
            secrets = {f"{section.key}.{k}": v for k, v in merged.new_secrets.items()}
            settings: dict[str, Any] = {section.key: merged.settings}
            if section.key in DELIVERING:
                connectors = set((live.settings or {}).get("connectors") or ())
                settings["connectors"] = sorted(connectors | {section.key})
            store.update_tenant(s, live, cipher=rt.cipher, secrets=secrets, settings=settings)
    rt.forget_adapters()


def _disconnect(tenant: store.TenantRow, section: Section) -> Any:
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        live = store.get_tenant(s, tenant.slug)
        if live is None:
            abort(404)
        connectors = set((live.settings or {}).get("connectors") or ()) - {section.key}
        # Secrets are blanked rather than kept: a disconnected service keeps no credentials.
        blank = {f"{section.key}.{f.name}": "" for f in section.fields if f.secret}
        store.update_tenant(s, live, cipher=rt.cipher, secrets=blank,
                            settings={section.key: {}, "connectors": sorted(connectors)})
    rt.forget_adapters()
    flash(f"{section.title}: disconnected.", "ok")
    return redirect(url_for("admin.tenant_page", slug=tenant.slug, _anchor=section.key))


def _http() -> requests.Session:
    http = requests.Session()
    http.headers["User-Agent"] = "Escalade/0.1 (connection test)"
    return http


def _test(tenant: store.TenantRow, section: Section, merged: Merged, *,
          changed: bool) -> dict[str, Any]:
    """Call the vendor once; ``{"ok": bool, "message": str}`` for the page."""
    rt = runtime()
    try:
        with _http() as http:
            if section.key == "helpdesk":
                config = HelpdeskConfig(
                    tenant=tenant.slug, helpdesk=tenant.helpdesk,
                    base_url=str(merged.settings.get("base_url") or "") or None,
                    credentials={k: v for k, v in merged.secrets.items()
                                 if k != "webhook_secret"},
                    webhook_secret=merged.secrets.get("webhook_secret"),
                    options=dict(tenant.settings or {}))
                message = check_helpdesk(config, session=http)
            elif section.key == "jira":
                message = check_jira(merged.settings, merged.secrets, session=http)
            elif section.key == "linear":
                message = check_linear(merged.settings, merged.secrets, session=http)
            else:
                from adapters.connectors.hubspot import HubSpotConnector

                connector = build_connector(
                    ConnectorConfig(tenant=tenant.slug, connector=section.key,
                                    credentials=merged.secrets, settings=merged.settings,
                                    base_url=merged.settings.get("base_url")),
                    sessions=rt.sessions)
                try:
                    message = connector.test_connection()
                finally:
                    if isinstance(connector, HubSpotConnector):
                        connector.close()
    except EscaladeError as err:
        return {"ok": False, "message": str(err)}
    except Exception as err:
        # An SDK failure we did not map must not turn the admin page into a 500.
        log.exception("tenant %s: %s connection test failed", tenant.slug, section.key)
        return {"ok": False, "message": f"unexpected {type(err).__name__}: {err}"}
    unsaved = " — tested with the values in the form, not saved yet" if changed else ""
    return {"ok": True, "message": message + unsaved}
