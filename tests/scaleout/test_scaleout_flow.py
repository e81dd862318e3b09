"""Scale-out mode end to end: webhook in -> Celery worker -> decision -> write-back.

Real workers on a real redis broker and PostgreSQL: the event is decided once however many
tasks name it, a write-back the vendor refuses for a while lands on a later pass, one it
refuses for good ends failed, and an event stored while the broker was down is relayed.
"""

from __future__ import annotations

from typing import Any

import requests
import responses
from sqlalchemy import func, select

from integration import store
from integration.scaleout.mode import (
    DELIVER_TASK,
    PROCESS_BATCH_TASK,
    PROCESS_TASK,
    TaskQueue,
    new_celery,
)
from integration.scaleout.tasks import RELAY_TASK, job_task
from scheduler import SWEEP_JOB
from tests import recorded
from tests.adapters.contract import load_kit
from tests.cluster import broker_idle, celery_workers, free_port, wait_for
from tests.conftest import make_ticket, post_sandbox, sandbox_body
from tests.scaleout.conftest import Clock, add_sandbox

CHURN = "We will cancel our contract and talk to our lawyer about a refund."


def _event(runtime: Any, event_id: int) -> store.InboundEventRow | None:
    with store.session_scope(runtime.sessions) as s:
        row = store.get_event(s, event_id)
        if row is not None:
            s.expunge(row)
        return row


def _done(runtime: Any, event_id: int) -> bool:
    row = _event(runtime, event_id)
    return row is not None and row.status == store.EventStatus.DONE


def _outbox(runtime: Any) -> list[tuple[str, str, int]]:
    with store.session_scope(runtime.sessions) as s:
        rows = s.scalars(select(store.OutboxRow).order_by(store.OutboxRow.id)).all()
        return [(r.target, r.status, r.attempts) for r in rows]


def _settled(runtime: Any) -> list[tuple[str, str, int]] | None:
    rows = _outbox(runtime)
    busy = (store.OutboxStatus.PENDING, store.OutboxStatus.INFLIGHT)
    return rows if rows and not any(status in busy for _, status, _ in rows) else None


def _decisions(runtime: Any) -> int:
    with store.session_scope(runtime.sessions) as s:
        return int(s.scalar(select(func.count()).select_from(store.DecisionRow)) or 0)


def test_webhook_is_decided_by_a_worker_and_written_back_once(client: Any, runtime: Any,
                                                              clock: Clock) -> None:
    kit = load_kit("zendesk")
    config = kit.make_adapter(requests.Session()).config
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug=config.tenant, name=config.tenant, helpdesk="zendesk",
                         base_url=config.base_url,
                         secrets={**config.credentials,
                                  "webhook_secret": config.webhook_secret or ""},
                         settings=dict(config.options), cipher=runtime.cipher)
    body = next(iter(kit.events.values()))
    headers = {"Content-Type": "application/json", **kit.sign(body, clock())}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        kit.register_fetch(rsps)
        kit.register_apply(rsps)
        with celery_workers(runtime):
            answer = client.post(f"/webhooks/zendesk/{config.tenant}", data=body, headers=headers)
            assert answer.status_code == 202, answer.json
            event_id = answer.json["event_id"]
            wait_for(lambda: _done(runtime, event_id), "the event decided")
            rows = wait_for(lambda: _settled(runtime), "the write-back delivered")
        writes = [c for c in rsps.calls if c.request.method in ("PUT", "POST", "DELETE")
                  and "search" not in recorded.url(c.request)]
    assert writes, "the decision must be written back to the helpdesk"
    assert {status for _, status, _ in rows} == {store.OutboxStatus.DELIVERED}
    assert _decisions(runtime) == 1
    again = client.post(f"/webhooks/zendesk/{config.tenant}", data=body, headers=headers)
    assert again.json["status"] == "duplicate"


def test_an_event_named_by_many_tasks_is_decided_once(client: Any, runtime: Any) -> None:
    add_sandbox(runtime)
    with celery_workers(runtime) as celery:
        answer = post_sandbox(client, sandbox_body(make_ticket(), delivery_id="d-1"))
        event_id = answer.json["event_id"]
        # A relay and a redelivery name the same event while the first task may still run.
        for _ in range(4):
            celery.send_task(PROCESS_TASK, args=[event_id])
        wait_for(lambda: _done(runtime, event_id), "the event decided")
        wait_for(lambda: _settled(runtime), "the write-back delivered")
    assert _decisions(runtime) == 1
    assert len(_outbox(runtime)) == len({target for target, _, _ in _outbox(runtime)})
    # The task itself, run once more: the event is done, nothing is decided again.
    assert celery.tasks[PROCESS_TASK](event_id) == "skipped"
    assert _decisions(runtime) == 1


def test_a_refused_write_back_is_retried_after_its_backoff_then_lands(
        client: Any, runtime: Any, clock: Clock) -> None:
    add_sandbox(runtime, fail_with=503, fail_times=1)
    with celery_workers(runtime) as celery:
        answer = post_sandbox(client, sandbox_body(make_ticket(), delivery_id="d-1"))
        wait_for(lambda: _done(runtime, answer.json["event_id"]), "the event decided")
        wait_for(lambda: any(attempts == 1 and status == store.OutboxStatus.PENDING
                             for _, status, attempts in _outbox(runtime)),
                 "the refused write-back put back for a retry")
        clock.advance(minutes=20)  # past the backoff; beat's next delivery pass finds it
        celery.send_task(DELIVER_TASK)
        rows = wait_for(lambda: _settled(runtime), "the retried write-back delivered")
    assert [(status, attempts) for target, status, attempts in rows if target == "helpdesk"] \
        == [(store.OutboxStatus.DELIVERED, 2)]


def test_a_write_back_refused_for_good_ends_failed(client: Any, runtime: Any) -> None:
    add_sandbox(runtime, fail_with=400)
    with celery_workers(runtime):
        answer = post_sandbox(client, sandbox_body(make_ticket(), delivery_id="d-1"))
        wait_for(lambda: _done(runtime, answer.json["event_id"]), "the event decided")
        rows = wait_for(lambda: _settled(runtime), "the write-back given up")
    assert [status for target, status, _ in rows if target == "helpdesk"] \
        == [store.OutboxStatus.FAILED]


def test_an_event_stored_while_the_broker_was_down_is_relayed(
        make_app: Any, scaleout_config: dict[str, Any], clock: Clock) -> None:
    dead = make_app(BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    runtime = dead.extensions["escalade"]
    add_sandbox(runtime)
    answer = post_sandbox(dead.test_client(), sandbox_body(make_ticket(), delivery_id="d-1"))
    # Stored and acknowledged, though its task could not be queued.
    assert answer.status_code == 202, answer.json
    event_id = answer.json["event_id"]
    assert _event(runtime, event_id).status == store.EventStatus.PENDING  # type: ignore[union-attr]

    # The broker is back.
    runtime.tasks.close()
    runtime.tasks = TaskQueue(new_celery(scaleout_config))
    with celery_workers(runtime, config=scaleout_config) as celery:
        clock.advance(seconds=float(scaleout_config["RELAY_SECONDS"]) + 1)
        celery.send_task(RELAY_TASK)
        wait_for(lambda: _done(runtime, event_id), "the relayed event decided")
        wait_for(lambda: _settled(runtime), "its write-back delivered")
    assert _decisions(runtime) == 1


def _breaches(runtime: Any) -> int:
    with store.session_scope(runtime.sessions) as s:
        query = select(func.count()).select_from(store.DecisionRow).where(
            store.DecisionRow.cause == "sla_breach")
        return int(s.scalar(query) or 0)


def test_the_sla_sweep_acts_once_however_many_runs_meet(client: Any, runtime: Any,
                                                            clock: Clock) -> None:
    add_sandbox(runtime)
    with celery_workers(runtime) as celery:
        answer = post_sandbox(client, sandbox_body(make_ticket(), delivery_id="d-1"))
        wait_for(lambda: _done(runtime, answer.json["event_id"]), "the event decided")
        wait_for(lambda: _settled(runtime), "the decision's write-back delivered")
        clock.advance(days=5)  # every SLA of the ticket is past due
        # Beat queues one sweep an interval; ticks that overran meet on the worker's threads.
        for _ in range(4):
            celery.send_task(job_task(SWEEP_JOB))
        wait_for(lambda: broker_idle(runtime.config["BROKER_URL"]), "every sweep run")
        wait_for(lambda: _settled(runtime), "the breach's write-back delivered")
    assert _breaches(runtime) == 1
    with store.session_scope(runtime.sessions) as s:
        assert s.scalars(select(store.TicketRow.sla_state)).one() in ("breached", "promoted")


def test_an_event_no_longer_supported_is_reported_ignored_not_failed(runtime: Any) -> None:
    from integration.scaleout.tasks import make_celery

    add_sandbox(runtime)
    # Stored by an earlier version that took this event type; this one reads it as unsupported.
    body = sandbox_body(make_ticket(), delivery_id="d-1", event="ticket.merged").decode()
    with store.session_scope(runtime.sessions) as s:
        row, _ = store.store_inbound_event(
            s, tenant_id=1, source="sandbox", delivery_id="d-1", event_type="ticket.merged",
            ticket_external_id="1", body=body, now=runtime.now())
        event_id = row.id
    celery = make_celery(runtime.config, runtime=lambda: runtime)
    try:
        assert celery.tasks[PROCESS_TASK](event_id) == "ignored"
    finally:
        celery.close()
    assert _event(runtime, event_id).status == store.EventStatus.IGNORED  # type: ignore[union-attr]


def test_a_batch_task_claims_each_event_once(client: Any, runtime: Any) -> None:
    from integration.scaleout.tasks import make_celery

    add_sandbox(runtime)
    first = post_sandbox(client, sandbox_body(make_ticket(), delivery_id="d-1")).json["event_id"]
    second = post_sandbox(client, sandbox_body(make_ticket(id="2"), delivery_id="d-2")
                          ).json["event_id"]
    runtime.tasks.flush()
    celery = make_celery(runtime.config, runtime=lambda: runtime)
    try:
        # The same id twice in one batch (or in a relayed batch): decided once.
        outcomes = celery.tasks[PROCESS_BATCH_TASK]([first, second, first])
    finally:
        celery.close()
    assert outcomes == ["decided", "decided", "skipped"]
    assert _decisions(runtime) == 2
