"""``/admin/audit``: audit a workspace's imported history, and read the reports.

An admin picks a workspace and a number of days; the request is queued and the scheduler runs
it in the background (a large history takes a minute). While a run is queued or running the
page reloads itself every few seconds (no script needed) and shows how many tickets it has
read. A finished report opens as its own self-contained page (``/admin/audit/<id>``), and its
data downloads as JSON (``/admin/audit/<id>.json``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for

from integration import store
from integration.calendars import format_local
from integration.store.audits import audit_runs, get_audit, request_audit
from integration.store.history import count_history
from sidebar_ui.admin.core import bp, current_admin, page, runtime, tenant_by_slug

__all__ = ["audit_json_file", "audit_page", "audit_report", "audit_request"]

DEFAULT_DAYS = 60
MAX_DAYS = 730
# The report page has no script and only its own inline styles; nothing else may load.
REPORT_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                 "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@bp.get("/audit")
def audit_page() -> Any:
    """Pick a workspace, queue an audit, follow its progress, open its reports."""
    rt = runtime()
    slug = request.args.get("tenant") or None
    with store.session_scope(rt.sessions) as s:
        tenants = [t.slug for t in store.list_tenants(s)]
        slug = slug if slug in tenants else (tenants[0] if len(tenants) == 1 else slug)
        tenant = store.get_tenant(s, slug) if slug else None
        runs, stored = [], 0
        if tenant is not None:
            zone = rt.matrix_for(tenant).display_zone
            stored = count_history(s, tenant_id=tenant.id,
                                   since=rt.now() - timedelta(days=DEFAULT_DAYS))
            runs = [_run_view(row, zone) for row in audit_runs(s, tenant_id=tenant.id)]
    busy = any(r["status"] in ("queued", "running") for r in runs)
    return page("admin/audit.html", tenants=tenants, tenant=slug or "", known=tenant is not None,
                runs=runs, busy=busy, stored=stored, days=DEFAULT_DAYS, max_days=MAX_DAYS)


def _run_view(row: Any, zone: Any) -> dict[str, Any]:
    from integration.audit.page import organizations_line

    report = row.report or {}
    return {
        "id": row.id, "status": row.status, "days": row.days, "done": row.done,
        "total": row.total, "requested_by": row.requested_by, "error": row.error,
        "created": format_local(row.created_at, zone),
        "finished": format_local(row.finished_at, zone) if row.finished_at else None,
        "tickets": report.get("tickets"),
        "escalations": (report.get("escalations") or {}).get("total"),
        "breaches": (report.get("sla") or {}).get("breaches"),
        "organizations": (organizations_line(report["organizations"])
                          if report.get("organizations") else None),
    }


@bp.post("/audit")
def audit_request() -> Any:
    """Queue an audit of the chosen workspace's last N days."""
    slug = request.form.get("tenant", "")
    tenant = tenant_by_slug(slug)
    if tenant is None:
        flash(f"Workspace: no workspace named “{slug}”.", "error")
        return redirect(url_for("admin.audit_page")), 303
    raw = request.form.get("days", "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        flash(f"Days: a whole number from 1 to {MAX_DAYS}, not “{raw}”.", "error")
        return redirect(url_for("admin.audit_page", tenant=slug)), 303
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        _, queued = request_audit(s, tenant_id=tenant.id, days=int(raw),
                                  requested_by=current_admin(), now=rt.now())
    flash(f"Audit of {slug} queued: this page updates while it runs." if queued
          else f"An audit of {slug} is already on its way: this page updates while it runs.",
          "ok")
    return redirect(url_for("admin.audit_page", tenant=slug)), 303


def _report(slug: str, run_id: int) -> dict[str, Any]:
    tenant = tenant_by_slug(slug)
    if tenant is None:
        abort(404)
    with store.session_scope(runtime().sessions) as s:
        row = get_audit(s, run_id, tenant_id=tenant.id)
        if row is None or row.report is None:
            abort(404)
        return dict(row.report)


@bp.get("/audit/<tenant>/<int:run_id>")
def audit_report(tenant: str, run_id: int) -> Any:
    """The finished report as its own page (charts with their tables, no scripts)."""
    from integration.audit.page import render_html

    html = render_html(_report(tenant, run_id), title=f"Escalation history audit: {tenant}")
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = REPORT_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.get("/audit/<tenant>/<int:run_id>.json")
def audit_json_file(tenant: str, run_id: int) -> Any:
    """The report's data, as a download."""
    body = json.dumps(_report(tenant, run_id), indent=2, ensure_ascii=False) + "\n"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="audit-{tenant}-{run_id}.json"'})
