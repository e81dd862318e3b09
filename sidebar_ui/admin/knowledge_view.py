"""The workspace page's line about its help-centre knowledge: counts, last sync, last error."""

from __future__ import annotations

from typing import Any

from integration import store
from integration.calendars import format_local
from integration.store.knowledge import knowledge_summary

__all__ = ["knowledge_card"]


def knowledge_card(rt: Any, tenant: store.TenantRow) -> dict[str, Any]:
    """What the card shows, times in the workspace's zone."""
    with store.session_scope(rt.sessions) as s:
        summary = knowledge_summary(s, tenant.id, tenant.helpdesk)
    zone = rt.matrix_for(tenant).display_zone
    return {
        "articles": summary.articles,
        "macros": summary.macros,
        "synced_at": format_local(summary.synced_at, zone) if summary.synced_at else None,
        "error": summary.error,
        "failed_at": format_local(summary.failed_at, zone) if summary.failed_at else None,
        "every": float(rt.config.get("KB_SYNC_MINUTES") or 0),
    }
