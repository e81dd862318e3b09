"""Write-backs do not wait behind a backlog of events, and their lag is reported."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from integration import outbox, pipeline, store, worker
from integration.models import Action, ActionKind
from tests.conftest import make_ticket, post_sandbox, sandbox_body

BACKLOG = 5


def _queue_acknowledgment(runtime: Any, *, due_ago: timedelta = timedelta(0)) -> int:
    tenant_id = _tenant_id(runtime)
    with store.session_scope(runtime.sessions) as s:
        row = outbox.enqueue(
            s, tenant_id=tenant_id, target="helpdesk", ticket_external_id="1",
            actions=[Action(kind=ActionKind.PUBLIC_REPLY, target="helpdesk",
                            payload={"body": "We are on it."})],
            idempotency_key="ack-1", now=runtime.now() - due_ago)
        assert row is not None
        return row.id


def _tenant_id(runtime: Any) -> int:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        return tenant.id


def _status(runtime: Any, row_id: int) -> str:
    with store.session_scope(runtime.sessions) as s:
        row = s.get(store.OutboxRow, row_id)
        assert row is not None, f"outbox row {row_id} is gone"
        return str(row.status)


def _unfinished_events(runtime: Any) -> int:
    waiting = (store.EventStatus.PENDING.value, store.EventStatus.PROCESSING.value)
    with store.session_scope(runtime.sessions) as s:
        return s.scalar(select(func.count()).select_from(store.InboundEventRow).where(
            store.InboundEventRow.status.in_(waiting))) or 0


def _with_workers(runtime: Any) -> None:
    pool = worker.Workers(runtime, count=1, poll_seconds=0.05)
    pool.start()
    try:
        deadline = time.monotonic() + 60
        while _unfinished_events(runtime) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        pool.stop()


def _with_work_command(runtime: Any) -> None:
    worker.work_until_idle(runtime)


@pytest.mark.parametrize("run", [_with_workers, _with_work_command],
                         ids=["escalade serve", "escalade work"])
def test_an_acknowledgment_is_delivered_while_events_wait(
    client: Any, runtime: Any, sandbox_tenant: str, monkeypatch: pytest.MonkeyPatch,
    run: Callable[[Any], None],
) -> None:
    for n in range(BACKLOG):
        body = sandbox_body(make_ticket(id=str(n + 1)), delivery_id=f"d{n}")
        assert post_sandbox(client, body).status_code == 202
    row_id = _queue_acknowledgment(runtime)
    seen: list[tuple[str, int]] = []
    real = pipeline.process_event  # what the worker runs for each event

    def slow(rt: Any, event_id: int, *, now: Any) -> Any:
        # The first event takes as long as the delivery needs: the backlog is not read yet.
        if not seen:
            deadline = time.monotonic() + 10
            while _status(rt, row_id) != "delivered" and time.monotonic() < deadline:
                time.sleep(0.02)
            seen.append((_status(rt, row_id), _unfinished_events(rt)))
        return real(rt, event_id, now=now)

    monkeypatch.setattr(worker, "process_event", slow)
    run(runtime)

    assert seen, "no event was processed"
    status, pending = seen[0]
    assert status == "delivered"
    assert pending == BACKLOG  # not one event of the backlog was finished yet
    assert _unfinished_events(runtime) == 0


def test_the_work_command_leaves_nothing_behind(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    for n in range(BACKLOG):
        post_sandbox(client, sandbox_body(make_ticket(id=str(n + 1)), delivery_id=f"d{n}"))
    report = worker.work_until_idle(runtime)
    assert report.decided == BACKLOG
    with store.session_scope(runtime.sessions) as s:
        statuses = set(s.scalars(select(store.OutboxRow.status)))
    assert statuses == {"delivered"}
    assert _unfinished_events(runtime) == 0


def test_the_delivery_lag_is_logged_when_it_grows_and_when_it_clears(
    runtime: Any, sandbox_tenant: str, caplog: pytest.LogCaptureFixture
) -> None:
    pool = worker.Workers(runtime, count=1, poll_seconds=0.05, lag_warn_seconds=60)
    _queue_acknowledgment(runtime, due_ago=timedelta(seconds=90))
    with caplog.at_level(logging.INFO, logger="integration.worker"):
        lag = pool.check_lag()
        pool.check_lag()  # the same wait: said once
        worker.drain(runtime)
        assert pool.check_lag().due == 0
    assert lag.due == 1 and lag.seconds >= 90
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("outbox: 1 write-backs due, the oldest waiting 9")
    assert lines[1].startswith("outbox: caught up")


def test_readyz_reports_the_delivery_backlog(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    _queue_acknowledgment(runtime, due_ago=timedelta(seconds=45))
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready"
    assert body["checks"]["outbox"]["due"] == 1
    assert body["checks"]["outbox"]["oldest_wait_seconds"] >= 45
    assert body["checks"]["database"]["status"] == "ok"


def test_workers_stop_cleanly(runtime: Any) -> None:
    pool = worker.Workers(runtime, count=2, poll_seconds=0.05)
    pool.start()
    # The pool's own threads (another test's runtime may still run its publishing thread).
    names = sorted(t.name for t in threading.enumerate()
                   if t.name.startswith(("escalade-worker-", "escalade-outbox")))
    pool.stop()
    assert names == ["escalade-outbox", "escalade-worker-0", "escalade-worker-1"]
