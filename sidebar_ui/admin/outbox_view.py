"""``/admin/outbox``: what needs attention first, every delivery by state, and retrying.

The page opens on "Needs attention" (failed deliveries, and deliveries that failed at least
once and wait for their next attempt); counts per state lead to each state or to all.
"Retry" puts a failed row back to ``pending`` with a fresh attempt budget and
``next_attempt_at`` = now (``integration.store.outbox.retry_failed``), then wakes the workers.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from flask import flash, redirect, request, url_for

from integration import store
from integration.calendars import format_local
from integration.store.admin import failed_delivery_ids
from integration.store.deliveries import (
    ATTENTION,
    STATES,
    delivery_counts,
    delivery_state,
    list_deliveries,
)
from integration.store.outbox import retry_failed
from sidebar_ui.admin.core import bp, page, runtime

__all__ = ["VIEWS", "outbox_page", "outbox_retry", "outbox_retry_all"]

LIMIT = 200
# view -> (label, the states it shows; empty shows all)
VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "attention": ("Needs attention", tuple(s for s in STATES if s in ATTENTION)),
    "failed": ("Failed", ("failed",)),
    "retrying": ("Retrying", ("retrying",)),
    "queued": ("Queued", ("queued",)),
    "sending": ("Sending", ("sending",)),
    "delivered": ("Delivered", ("delivered",)),
    "all": ("All", ()),
}
# What each state means, for the row's pill (and its tooltip).
STATE_HELP = {
    "failed": "Gave up or refused by the service; retry when the cause is fixed.",
    "retrying": "Failed at least once; tried again automatically.",
    "queued": "Waiting for its first attempt.",
    "sending": "Being delivered now.",
    "delivered": "Landed.",
}


def _kinds(actions: Any) -> str:
    kinds = [str(a.get("kind")) for a in actions or () if isinstance(a, dict)]
    return ", ".join(dict.fromkeys(kinds))


@bp.get("/outbox")
def outbox_page() -> Any:
    """The deliveries of one view (and workspace), newest first, with counts per state."""
    view = request.args.get("status", "attention")
    if view not in VIEWS:
        view = "attention"
    tenant = request.args.get("tenant", "") or None
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        counts = delivery_counts(s, tenant_slug=tenant)
        found = list_deliveries(s, states=VIEWS[view][1], tenant_slug=tenant, limit=LIMIT + 1)
        workspaces = store.list_tenants(s)
        # Times read in each workspace's own zone, like every due time it shows elsewhere.
        zones = {t.slug: rt.matrix_for(t).display_zone for t in workspaces}
        rows = [{
            "id": row.id, "tenant": slug, "target": row.target,
            "ticket": row.ticket_external_id, "status": row.status,
            "state": delivery_state(row.status, row.attempts),
            "attempts": row.attempts, "error": row.last_error,
            "next_attempt_at": row.next_attempt_at, "delivered_at": row.delivered_at,
            "created_at": row.created_at, "kinds": _kinds(row.actions),
            "delivered_local": _local(row.delivered_at, zones.get(slug)),
            "next_local": _local(row.next_attempt_at, zones.get(slug)),
        } for row, slug in found[:LIMIT]]
        tenants = [t.slug for t in workspaces]
    return page("admin/outbox.html", rows=rows, view=view, views=VIEWS, counts=counts,
                tenant=tenant or "", tenants=tenants, truncated=len(found) > LIMIT,
                state_help=STATE_HELP)


def _local(value: datetime | None, zone: tzinfo | None) -> str | None:
    return None if value is None else format_local(value, zone or UTC)


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
    now = rt.now()
    with store.session_scope(rt.sessions) as s:
        ids = failed_delivery_ids(s, tenant_slug=tenant)
        count = sum(1 for outbox_id in ids if retry_failed(s, outbox_id, now=now))
    if count:
        rt.wake()
    flash(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again.", "ok")
    return _back()
