"""``/admin/audit``: queue an audit, watch it run, open its report; bad input; other workspaces."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from integration import store
from integration.audit_runs import run_next_audit
from integration.models import Ticket
from integration.store.backfill import import_ticket
from tests.admin.test_admin import (  # noqa: F401  (fixtures)
    _add_tenant,
    _post,
    admin,
    signed_in,
)
from tests.conftest import make_ticket


def _history(runtime: Any, slug: str, n: int) -> None:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        assert tenant is not None
        start = datetime.now(UTC) - timedelta(days=10)
        for i in range(n):
            t = make_ticket(id=f"p{i}", body="We were charged twice, please refund us."
                            if i % 2 else "How do I export a report?")
            t["created_at"] = t["updated_at"] = (start + timedelta(hours=7 * i)).isoformat()
            t["messages"][0]["created_at"] = t["created_at"]
            t["tags"] = ["escalated"] if i % 2 else []
            import_ticket(s, tenant_id=tenant.id, ticket=Ticket.from_dict(t))


def test_an_audit_is_queued_run_in_the_background_and_its_report_opens(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")
    _history(runtime, "acme", 12)
    page = signed_in.get("/admin/audit?tenant=acme")
    assert "12 stored tickets of acme" in page.text

    queued = _post(signed_in, "/admin/audit", {"tenant": "acme", "days": "30"},
                   page="/admin/audit?tenant=acme")
    assert queued.status_code == 303
    waiting = signed_in.get("/admin/audit?tenant=acme")
    assert 'http-equiv="refresh"' in waiting.text and 'data-status="queued"' in waiting.text
    again = _post(signed_in, "/admin/audit", {"tenant": "acme", "days": "30"},
                  page="/admin/audit?tenant=acme")
    assert "already on its way" in signed_in.get(again.headers["Location"]).text

    run_id = run_next_audit(runtime)
    assert run_id is not None and run_next_audit(runtime) is None

    done = signed_in.get("/admin/audit?tenant=acme")
    assert 'data-status="done"' in done.text and 'http-equiv="refresh"' not in done.text
    data = signed_in.get(f"/admin/audit/acme/{run_id}.json")
    assert data.status_code == 200
    report = json.loads(data.text)
    assert report["tickets"] == 12 and report["escalations"]["total"] == 6


def test_a_report_is_only_shown_in_its_own_workspace(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")
    _add_tenant(runtime, "other")
    _history(runtime, "acme", 4)
    _post(signed_in, "/admin/audit", {"tenant": "acme", "days": "30"}, page="/admin/audit")
    run_id = run_next_audit(runtime)
    assert signed_in.get(f"/admin/audit/other/{run_id}.json").status_code == 404
    assert signed_in.get(f"/admin/audit/nobody/{run_id}.json").status_code == 404
    assert signed_in.get(f"/admin/audit/acme/{run_id}.json").status_code == 200


def test_bad_days_or_workspace_are_named_and_queue_nothing(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")
    bad = _post(signed_in, "/admin/audit", {"tenant": "acme", "days": "0"}, page="/admin/audit")
    assert "Days: a whole number from 1 to 730" in signed_in.get(bad.headers["Location"]).text
    missing = _post(signed_in, "/admin/audit", {"tenant": "ghost", "days": "30"},
                    page="/admin/audit")
    assert "no workspace named “ghost”" in signed_in.get(missing.headers["Location"]).text
    assert run_next_audit(runtime) is None


def test_the_audit_page_needs_an_admin(client: Any) -> None:
    assert client.get("/admin/audit").status_code in (302, 303)
    assert client.get("/admin/audit/acme/1.json").status_code in (302, 303)


def test_a_failed_audit_shows_why(
        signed_in: Any, runtime: Any, monkeypatch: Any) -> None:  # noqa: F811
    import integration.audit.run as run

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("the history did not fit")

    monkeypatch.setattr(run, "run_audit", broken)
    _add_tenant(runtime, "acme")
    _history(runtime, "acme", 2)
    _post(signed_in, "/admin/audit", {"tenant": "acme", "days": "30"}, page="/admin/audit")
    assert run_next_audit(runtime) is not None
    shown = signed_in.get("/admin/audit?tenant=acme").text
    assert 'data-status="failed"' in shown and "MemoryError: the history did not fit" in shown
