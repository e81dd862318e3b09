"""The scheduler runs the audits admins queue, by itself, without a log line per job run."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from integration import store
from integration.store.audits import audit_runs, request_audit
from scheduler import build_scheduler
from tests.admin.test_admin import _add_tenant
from tests.admin.test_admin_audit import _history


def test_a_running_scheduler_runs_a_queued_audit(runtime: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    _add_tenant(runtime, "acme")
    _history(runtime, "acme", 6)
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "acme")
        assert tenant is not None
        tenant_id = tenant.id
        request_audit(s, tenant_id=tenant_id, days=30, requested_by=None, now=runtime.now())
    caplog.set_level(logging.INFO)
    scheduler = build_scheduler(runtime, sweep_seconds=60)
    scheduler.start()
    try:
        for _ in range(200):
            with store.session_scope(runtime.sessions) as s:
                (run,) = audit_runs(s, tenant_id=tenant_id)
                status, report = run.status, run.report
            if status == "done":
                break
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert status == "done" and report is not None and report["tickets"] == 6
    assert not [r for r in caplog.records
                if r.name == "apscheduler.executors.default" and r.levelno < logging.WARNING]
