"""Audit runs: one open request per workspace, claimed once, progress, report, a dead runner."""

from __future__ import annotations

from datetime import timedelta

from integration.store import session_scope
from integration.store.audits import (
    LEASE,
    AuditStatus,
    audit_progress,
    audit_runs,
    claim_audit,
    fail_audit,
    finish_audit,
    get_audit,
    request_audit,
)
from tests.store.helpers import T0, Store, new_tenant


def test_a_request_is_claimed_once_and_finishes_with_its_report(store: Store) -> None:
    acme = new_tenant(store)
    with session_scope(store.factory) as s:
        first_row, queued = request_audit(s, tenant_id=acme, days=60, requested_by="ana@acme.test",
                                          now=T0)
        again, queued_again = request_audit(s, tenant_id=acme, days=30,
                                            requested_by="bo@acme.test", now=T0)
        first = first_row.id
    assert (again.id, queued, queued_again) == (first, True, False)
    with session_scope(store.factory) as s:
        run = claim_audit(s, now=T0 + timedelta(seconds=1))
        assert run is not None and run.id == first and run.status == AuditStatus.RUNNING
    with session_scope(store.factory) as s:
        assert claim_audit(s, now=T0 + timedelta(seconds=2)) is None
        audit_progress(s, first, done=500, total=1200, now=T0 + timedelta(seconds=3))
    with session_scope(store.factory) as s:
        row = get_audit(s, first, tenant_id=acme)
        assert row is not None and (row.done, row.total) == (500, 1200)
        finish_audit(s, first, report={"tickets": 1200}, now=T0 + timedelta(seconds=9))
    with session_scope(store.factory) as s:
        (row,) = audit_runs(s, tenant_id=acme)
        assert (row.status, row.report, row.done) == ("done", {"tickets": 1200}, 1200)
        # Done, so a new request opens a new run.
        assert request_audit(s, tenant_id=acme, days=60, requested_by=None, now=T0)[0].id != first


def test_a_run_whose_runner_died_is_claimed_again_after_its_lease(store: Store) -> None:
    acme = new_tenant(store)
    with session_scope(store.factory) as s:
        run_id = request_audit(s, tenant_id=acme, days=60, requested_by=None, now=T0)[0].id
        assert claim_audit(s, now=T0) is not None
    with session_scope(store.factory) as s:
        assert claim_audit(s, now=T0 + LEASE - timedelta(seconds=1)) is None
        again = claim_audit(s, now=T0 + LEASE + timedelta(seconds=1))
        assert again is not None and again.id == run_id


def test_a_failure_is_recorded_and_other_tenants_runs_are_not_visible(store: Store) -> None:
    acme, other = new_tenant(store), new_tenant(store, slug="other")
    with session_scope(store.factory) as s:
        run_id = request_audit(s, tenant_id=acme, days=60, requested_by=None, now=T0)[0].id
        fail_audit(s, run_id, error="x" * 5000, now=T0)
    with session_scope(store.factory) as s:
        assert get_audit(s, run_id, tenant_id=other) is None
        row = get_audit(s, run_id, tenant_id=acme)
        assert row is not None and row.status == "failed" and len(row.error or "") == 2000
        assert audit_runs(s, tenant_id=other) == []
