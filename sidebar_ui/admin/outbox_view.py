"""``/admin/outbox``: deliveries that failed or are being retried, and the retry buttons.

"Retry" puts a failed row back to ``pending`` with a fresh attempt budget and
``next_attempt_at`` = now (``integration.outbox.retry_failed``), then wakes the workers.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from sqlalchemy import and_, select
from sqlalchemy.sql.elements import ColumnElement

from integration import store
from integration.outbox import retry_failed
from integration.store.tables import OutboxRow, OutboxStatus, TenantRow
from sidebar_ui.admin.core import bp, page, runtime

__all__ = ["FILTERS", "outbox_page", "outbox_retry", "outbox_retry_all"]

LIMIT = 200
FILTERS: dict[str, str] = {
    "attention": "Failed and retrying",
    "failed": "Failed",
    "retrying": "Retrying",
    "pending": "Pending",
    "delivered": "Delivered",
    "all": "All",
}


def _condition(status: str) -> ColumnElement[bool] | None:
    failed = OutboxRow.status == OutboxStatus.FAILED.value
    retrying = and_(OutboxRow.status.in_([OutboxStatus.PENDING.value,
                                          OutboxStatus.INFLIGHT.value]),
                    OutboxRow.attempts > 0)
    return {
        "attention": failed | retrying,
        "failed": failed,
        "retrying": retrying,
        "pending": OutboxRow.status == OutboxStatus.PENDING.value,
        "delivered": OutboxRow.status == OutboxStatus.DELIVERED.value,
    }.get(status)


def _kinds(actions: Any) -> str:
    kinds = [str(a.get("kind")) for a in actions or () if isinstance(a, dict)]
    return ", ".join(dict.fromkeys(kinds))


@bp.get("/outbox")
def outbox_page() -> Any:
    """The outbox rows matching the status (and tenant) filter, newest first."""
    status = request.args.get("status", "attention")
    if status not in FILTERS:
        status = "attention"
    tenant = request.args.get("tenant", "")
    query = select(OutboxRow, TenantRow.slug).join(TenantRow, TenantRow.id == OutboxRow.tenant_id)
    condition = _condition(status)
    if condition is not None:
        query = query.where(condition)
    if tenant:
        query = query.where(TenantRow.slug == tenant)
    query = query.order_by(OutboxRow.created_at.desc(), OutboxRow.id.desc()).limit(LIMIT + 1)
    with store.session_scope(runtime().sessions) as s:
        found = s.execute(query).all()
        rows = [{
            "id": row.id, "tenant": slug, "target": row.target,
            "ticket": row.ticket_external_id, "status": row.status,
            "retrying": row.status != OutboxStatus.FAILED.value and row.attempts > 0,
            "attempts": row.attempts, "error": row.last_error,
            "next_attempt_at": row.next_attempt_at, "created_at": row.created_at,
            "kinds": _kinds(row.actions),
        } for row, slug in found[:LIMIT]]
        tenants = [t.slug for t in store.list_tenants(s)]
        failed_total = sum(1 for r in rows if r["status"] == OutboxStatus.FAILED.value)
    return page("admin/outbox.html", rows=rows, status=status, filters=FILTERS, tenant=tenant,
                tenants=tenants, truncated=len(found) > LIMIT, failed_total=failed_total)


def _back() -> Any:
    return redirect(url_for("admin.outbox_page", status=request.form.get("status", "attention"),
                            tenant=request.form.get("tenant") or None))


@bp.post("/outbox/<int:outbox_id>/retry")
def outbox_retry(outbox_id: int) -> Any:
    """Queue one failed row again."""
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        done = retry_failed(s, outbox_id, now=rt.now())
    if done:
        rt.wake()
        flash(f"Delivery {outbox_id} queued again.", "ok")
    else:
        flash(f"Delivery {outbox_id} is not failed (any more): nothing to retry.", "error")
    return _back()


@bp.post("/outbox/retry-failed")
def outbox_retry_all() -> Any:
    """Queue every failed row again (of one tenant when the list is filtered by tenant)."""
    rt = runtime()
    tenant = request.form.get("tenant") or None
    query = select(OutboxRow.id).where(OutboxRow.status == OutboxStatus.FAILED.value)
    if tenant:
        query = query.join(TenantRow, TenantRow.id == OutboxRow.tenant_id).where(
            TenantRow.slug == tenant)
    now = rt.now()
    with store.session_scope(rt.sessions) as s:
        ids = list(s.scalars(query))
        count = sum(1 for outbox_id in ids if retry_failed(s, outbox_id, now=now))
    if count:
        rt.wake()
    flash(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again.", "ok")
    return _back()
