"""The outbox page tells the truth: each delivery's stored state, what needs attention first."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from integration import outbox, store
from integration.models import Action, ActionKind
from tests.admin.test_admin import (  # noqa: F401  (fixtures)
    _add_tenant,
    _post,
    admin,
    signed_in,
)


def _row(runtime: Any, key: str, *, status: str, attempts: int, error: str | None = None,
         tenant: str = "acme") -> int:
    now = datetime.now(UTC)
    with store.session_scope(runtime.sessions) as s:
        found = store.get_tenant(s, tenant)
        assert found is not None
        row = outbox.enqueue(s, tenant_id=found.id, target="helpdesk", ticket_external_id=key,
                             actions=[Action(kind=ActionKind.ADD_TAGS, target="helpdesk",
                                             payload={"tags": ["tier-2"]})],
                             idempotency_key=key, now=now - timedelta(minutes=5))
        assert row is not None
        row.status, row.attempts, row.last_error = status, attempts, error
        if status == "delivered":
            row.delivered_at = now
        return row.id


def _states(html: str) -> dict[int, str]:
    return {int(i): state for i, state in
            re.findall(r'id="outbox-(\d+)" data-state="([a-z]+)"', html)}


def test_each_row_shows_its_stored_state(signed_in: Any, runtime: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")
    delivered = _row(runtime, "d1", status="delivered", attempts=1)
    after_retry = _row(runtime, "d2", status="delivered", attempts=3)
    queued = _row(runtime, "q1", status="pending", attempts=0)
    retrying = _row(runtime, "r1", status="pending", attempts=2, error="Zendesk answered 503")
    failed = _row(runtime, "f1", status="failed", attempts=8, error="Zendesk answered 422")
    html = signed_in.get("/admin/outbox?status=all").text
    assert _states(html) == {delivered: "delivered", after_retry: "delivered", queued: "queued",
                             retrying: "retrying", failed: "failed"}
    # A delivered row is green and carries no stale error, whatever its attempt count.
    row = re.search(rf'id="outbox-{after_retry}".*?</tr>', html, re.S)
    assert row and 'class="pill good"' in row.group(0) and "retrying" not in row.group(0)


def test_the_default_view_is_what_needs_attention_with_counts(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")
    _add_tenant(runtime, "bigco")
    for n in range(3):
        _row(runtime, f"d{n}", status="delivered", attempts=1)
    _row(runtime, "q1", status="pending", attempts=0)
    retrying = _row(runtime, "r1", status="pending", attempts=1, error="timeout")
    failed = _row(runtime, "f1", status="failed", attempts=8, error="refused")
    other = _row(runtime, "f2", status="failed", attempts=8, error="refused", tenant="bigco")
    html = signed_in.get("/admin/outbox").text
    assert set(_states(html)) == {retrying, failed, other}
    tabs = dict(re.findall(r'id="view-([a-z]+)"[^>]*>[^<]*<span class="count">(\d+)</span>',
                           html))
    assert tabs == {"attention": "3", "failed": "2", "retrying": "1", "queued": "1",
                    "sending": "0", "delivered": "3", "all": "7"}
    assert 'id="view-attention"' in html and 'aria-current="page"' in html
    # One state, one workspace.
    assert set(_states(signed_in.get("/admin/outbox?status=failed&tenant=acme").text)) == {
        failed}
    assert len(_states(signed_in.get("/admin/outbox?status=delivered").text)) == 3
    filtered = signed_in.get("/admin/outbox?tenant=bigco").text
    assert 'id="view-failed"' in filtered and '<span class="count">1</span>' in filtered


def test_nothing_to_do_says_so(signed_in: Any, runtime: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")
    _row(runtime, "d1", status="delivered", attempts=1)
    html = signed_in.get("/admin/outbox").text
    assert "Nothing needs attention" in html and "1 delivered" in html


def test_retry_of_a_failed_row_moves_it_to_queued(signed_in: Any,  # noqa: F811
                                                  runtime: Any) -> None:
    _add_tenant(runtime, "acme")
    failed = _row(runtime, "f1", status="failed", attempts=8, error="refused")
    response = _post(signed_in, f"/admin/outbox/{failed}/retry", {"status": "attention"},
                     page="/admin/outbox")
    assert response.status_code == 302
    assert _states(signed_in.get("/admin/outbox?status=all").text)[failed] == "queued"
    assert failed not in _states(signed_in.get("/admin/outbox").text)


def test_times_read_in_each_workspace_zone(signed_in: Any, runtime: Any) -> None:  # noqa: F811
    from zoneinfo import ZoneInfo

    from integration.calendars import format_local

    _add_tenant(runtime, "acme")
    delivered = _row(runtime, "d1", status="delivered", attempts=1)
    retrying = _row(runtime, "r1", status="pending", attempts=2, error="timeout")
    html = signed_in.get("/admin/outbox?status=all").text
    with store.session_scope(runtime.sessions) as s:
        rows = {r.id: r for r in s.query(store.OutboxRow)}
        zone = runtime.matrix_for(store.get_tenant(s, "acme")).display_zone
        assert zone == ZoneInfo("Europe/Berlin")  # the default matrix's business calendar
        for row_id, when in ((delivered, rows[delivered].delivered_at),
                             (retrying, rows[retrying].next_attempt_at)):
            cell = re.search(rf'id="outbox-{row_id}".*?</tr>', html, re.S)
            assert when is not None
            assert cell and format_local(when, zone) in cell.group(0)
            assert " UTC</time>" not in cell.group(0)
