"""``/admin/tenants/<slug>``: a workspace's webhooks, helpdesk, groups, settings and connectors.

Each connection is one form with "Save" and "Test connection", read against what is stored
(a blank secret keeps the stored one) and checked with the CLI's own checks
(``integration.workspaces.validation``). "Test connection" calls the service once with the
form's values and records the result when they are the stored ones; "Save" stores, then tests
and records, so a badge is green only when the last test of exactly these settings passed.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for

from integration import store
from integration.calendars import format_local
from integration.errors import ValidationError
from integration.workspaces.connection_tests import (
    CheckResult,
    connection_statuses,
    record_if_stored,
    run_check,
)
from integration.workspaces.install_secrets import SECRET_GRACE
from integration.workspaces.service import (
    REGISTRATION,
    SECRET_FROM_HELPDESK,
    check_stored,
    group_status,
    public_url,
    registration_steps,
    secret_statuses,
    store_secrets,
    tracker_webhook_url,
    webhook_url,
)
from integration.workspaces.validation import HELPDESKS, validate_connection
from sidebar_ui.admin.core import badge, bp, page, runtime
from sidebar_ui.admin.knowledge_view import knowledge_card
from sidebar_ui.admin.sections import (
    CONNECTORS,
    Merged,
    Section,
    check_section,
    form_values,
    helpdesk_section,
    merge,
)

__all__ = ["load_tenant", "tenant_page", "tenant_section", "view_with_error", "workspace_page"]

def load_tenant(slug: str) -> store.TenantRow:
    """The workspace ``slug``, or 404."""
    with store.session_scope(runtime().sessions) as s:
        row = store.get_tenant(s, slug)
        if row is None:
            abort(404, description=f"No workspace {slug!r}.")
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
          code: int = 200, **extra: Any) -> Any:
    statuses = connection_statuses(runtime(), tenant)
    sections = []
    for section in (helpdesk_section(tenant.helpdesk), *CONNECTORS):
        settings, secrets = _stored(tenant, section)
        values = form_values(section, settings)
        if section.key == active and form is not None:
            values.update({f.name: form.get(f.name, "") for f in section.fields if not f.secret})
        sections.append({
            "section": section,
            "values": values,
            "stored": {f.name for f in section.fields if f.secret and secrets.get(f.name)},
            "badge": badge(runtime(), tenant, statuses[section.key]),
            "connected": statuses[section.key].state != "off",
            "result": result if section.key == active else None,
            "error": error if section.key == active else None,
        })
    base = public_url(runtime().config, request_root=request.url_root)
    url = webhook_url(base, tenant.helpdesk, tenant.slug)
    has_secret = bool(store.tenant_secrets(tenant, runtime().cipher).get("webhook_secret"))
    return page(
        "admin/tenant.html", code, tenant=tenant, sections=sections, active=active,
        secrets=_secret_rows(tenant), grace_hours=int(SECRET_GRACE.total_seconds() // 3600),
        helpdesk_name=HELPDESKS.get(tenant.helpdesk, tenant.helpdesk),
        webhook=url, registration=REGISTRATION.get(tenant.helpdesk),
        steps=registration_steps(tenant.helpdesk, url=url, slug=tenant.slug),
        secret_missing=not has_secret and tenant.helpdesk in SECRET_FROM_HELPDESK,
        tracker_urls={t: tracker_webhook_url(base, t, tenant.slug) for t in ("jira", "linear")},
        public_configured=bool(runtime().config.get("PUBLIC_URL")),
        groups=group_status(runtime(), tenant), settings=tenant.settings or {},
        calendars=sorted(runtime().matrix.calendars),
        knowledge=knowledge_card(runtime(), tenant), **extra)


def _secret_rows(tenant: store.TenantRow) -> list[dict[str, Any]]:
    """The Secrets panel's rows, times in the workspace's zone."""
    zone = runtime().matrix_for(tenant).display_zone
    return [{"spec": st.spec, "is_set": st.is_set, "usable": st.usable,
             "rotated_at": format_local(st.rotated_at, zone) if st.rotated_at else None,
             "previous_until": (format_local(st.previous_until, zone)
                                if st.previous_until else None)}
            for st in secret_statuses(runtime(), tenant)]


@bp.get("/tenants/<slug>")
def tenant_page(slug: str) -> Any:
    """The workspace: webhooks to register, its connections and their last tests."""
    return _view(load_tenant(slug))


@bp.post("/tenants/<slug>/<key>")
def tenant_section(slug: str, key: str) -> Any:
    """Save, test or disconnect one connection (``op`` = save | test | disconnect)."""
    tenant = load_tenant(slug)
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
        return _view(tenant, active=key, form=form, result=_test(tenant, section, merged))
    _save(tenant, section, merged)
    tested = check_stored(runtime(), slug, key)
    if tested.ok:
        flash(f"{section.title}: saved; connection works: {tested.message}", "ok")
    else:
        flash(f"{section.title}: saved, but the connection test failed: {tested.message}",
              "error")
    return redirect(url_for("admin.tenant_page", slug=slug, _anchor=key))


def _check_values(tenant: store.TenantRow, section: Section,
                  merged: Merged) -> tuple[dict[str, Any], dict[str, str]]:
    if section.key == "helpdesk":
        return ({**(tenant.settings or {}), "base_url": merged.settings.get("base_url") or ""},
                merged.secrets)
    return merged.settings, merged.secrets


def _test(tenant: store.TenantRow, section: Section, merged: Merged) -> dict[str, Any]:
    """Call the service once with the form's values; recorded when they are the stored ones."""
    settings, secrets = _check_values(tenant, section, merged)
    result: CheckResult = run_check(runtime(), tenant, section.key, settings=settings,
                                    secrets=secrets)
    recorded = record_if_stored(runtime(), tenant, result, settings=settings, secrets=secrets)
    note = "" if recorded else " — tested with the values in the form, not saved yet"
    groups = None
    if result.groups is not None:
        groups = ", ".join(f"{g.name} ({g.id})" for g in result.groups) or "none"
    return {"ok": result.ok, "message": result.message + (note if result.ok else ""),
            "recorded": recorded, "groups": groups}


def _save(tenant: store.TenantRow, section: Section, merged: Merged) -> None:
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        live = store.get_tenant(s, tenant.slug)
        if live is None:
            abort(404)
        # store_secrets: a replaced webhook secret keeps working for its grace period.
        if section.key == "helpdesk":
            store_secrets(rt, s, live, merged.new_secrets,
                          base_url=str(merged.settings.get("base_url") or ""))
        else:
            secrets = {f"{section.key}.{k}": v for k, v in merged.new_secrets.items()}
            connectors = set((live.settings or {}).get("connectors") or ())
            store_secrets(rt, s, live, secrets,
                          settings={section.key: merged.settings,
                                    "connectors": sorted(connectors | {section.key})})
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
        store_secrets(rt, s, live, blank,
                      settings={section.key: {}, "connectors": sorted(connectors)})
    rt.forget_adapters()
    flash(f"{section.title}: disconnected.", "ok")
    return redirect(url_for("admin.tenant_page", slug=tenant.slug, _anchor=section.key))


def workspace_page(tenant: store.TenantRow, **extra: Any) -> Any:
    """The workspace page with more to show (a secret generated just now, once)."""
    return _view(tenant, **extra)


def view_with_error(tenant: store.TenantRow, *, active: str, error: ValidationError,
                    form: dict[str, str]) -> Any:
    """The workspace page with one form's error (for the groups and settings forms)."""
    return _view(tenant, active=active, error=error, code=422, form_error=error,
                 posted=form)
