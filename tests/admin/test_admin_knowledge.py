"""The workspace page says what knowledge Escalade answers from, and how its last sync went."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from integration import store
from integration.knowledge_sync import sync_workspace
from integration.store.knowledge import record_sync_failure
from tests.admin.test_admin import _add_tenant, admin, signed_in  # noqa: F401 (fixtures)


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"#{element_id} not on the page"
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def _tenant(runtime: Any) -> Any:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "acme")
        s.expunge(tenant)
    return tenant


def test_a_workspace_never_synced_says_so(runtime: Any, signed_in: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")

    page = signed_in.get("/admin/tenants/acme").text

    assert _text(page, "knowledge-summary") == "0 articles, 0 macros; not synced yet."
    assert 'id="knowledge-error"' not in page
    assert "every 30 minutes" in page


def test_counts_the_last_sync_and_the_last_error_are_shown(runtime: Any,
                                                          signed_in: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")
    tenant = _tenant(runtime)
    synced = datetime(2026, 12, 6, 13, 5, tzinfo=UTC)
    sync_workspace(runtime, tenant, now=synced)
    with store.session_scope(runtime.sessions) as s:
        record_sync_failure(s, tenant_id=tenant.id, source="sandbox",
                            error="sandbox: options.knowledge_file: cannot read kb.jsonl",
                            now=datetime(2026, 12, 6, 14, 5, tzinfo=UTC))

    page = signed_in.get("/admin/tenants/acme").text

    # Times as everywhere else: in the workspace's display zone (the matrix's).
    zone = runtime.matrix_for(tenant).display_zone
    from integration.calendars import format_local

    assert _text(page, "knowledge-summary") == (
        f"21 articles, 5 macros; last synced {format_local(synced, zone)}.")
    assert _text(page, "knowledge-error").startswith("The last sync failed (")
    assert "cannot read kb.jsonl" in _text(page, "knowledge-error")
