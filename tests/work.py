"""The tests' "process everything now" steps, in the mode the test's runtime runs in.

Embedded mode (the app's own worker loops): ``drain`` and ``run_once`` are the worker's, and
``run_job`` calls the scheduled job at the given time. Scale-out mode (``runtime.tasks`` set):
the webhook already queued its event, so a Celery worker of the app's own tasks (threads of
this process, sharing the test's runtime) takes what the broker holds while the test waits;
what the database still has due with nothing queued for it (an event stored without a
webhook, a write-back whose retry came due) is queued as beat's relay and delivery pass would
queue it. The wait polls the broker and the database, bounded by ``WAIT_SECONDS``. The
report is added up from what each task returned, so assertions read the same in both modes.
A scheduled job goes through its beat task (``escalade.job.<id>``: the cluster-wide lock),
on a worker that takes only the jobs queue, so the write-backs it queued wait for ``drain``
as they do in embedded mode.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from typing import Any

import pytest
from sqlalchemy import and_, func, or_, select

from integration import store
from integration import worker as embedded
from integration.runtime import Runtime
from integration.worker import WorkReport
from scheduler import periodic_jobs
from tests.cluster import WAIT_SECONDS, broker_idle, celery_workers

__all__ = ["drain", "run_job", "run_once"]

# What an event's task returns, as the embedded worker would have counted it ("skipped":
# another task had it; "ignored": counted as nothing, like the embedded worker).
_EVENT_OUTCOMES = {"decided": WorkReport(decided=1), "unchanged": WorkReport(unchanged=1),
                   "failed": WorkReport(event_failures=1)}


def drain(runtime: Runtime, *, now: datetime | None = None) -> WorkReport:
    """Process every event and deliver every write-back due now (at ``now`` when given)."""
    if runtime.tasks is None:
        return embedded.drain(runtime, now=now)
    return _until_idle(runtime, now)


def run_once(runtime: Runtime, *, now: datetime | None = None) -> WorkReport:
    """One pass of events then deliveries; in scale-out mode, until the worker is idle."""
    if runtime.tasks is None:
        return embedded.run_once(runtime, now=now)
    return _until_idle(runtime, now)


def run_job(runtime: Runtime, job_id: str, now: datetime) -> Any:
    """Run scheduled job ``job_id`` at ``now``; what the job returned (e.g. its report)."""
    (job,) = [job for job in periodic_jobs(runtime.config) if job.id == job_id]
    if runtime.tasks is None:
        return job.run(runtime, now)
    from integration.scaleout.mode import JOBS_QUEUE
    from integration.scaleout.tasks import JobRun, job_task

    with _clock_at(runtime, now), _results() as results, \
            celery_workers(runtime, queues=[JOBS_QUEUE]) as celery:
        celery.send_task(job_task(job_id))
        _wait(lambda: any(name == job_task(job_id) for name, _ in results),
              f"the {job_id} task run")
    (run,) = [value for name, value in results if name == job_task(job_id)]
    assert isinstance(run, JobRun) and run.ran, f"{job_id}: the task did not run the job"
    return run.result


def _until_idle(runtime: Runtime, now: datetime | None) -> WorkReport:
    from integration.scaleout.mode import DELIVER_TASK, PROCESS_BATCH_TASK, PROCESS_TASK

    tasks = runtime.tasks
    assert tasks is not None
    broker = str(runtime.config["BROKER_URL"])
    with _clock_at(runtime, now), _results() as results, celery_workers(runtime):
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            # What the runtime's publishing thread holds is not in the broker yet.
            _wait(lambda: tasks.flush(0.5) and broker_idle(broker), "every queued task done",
                  deadline)
            events, outbox = _due(runtime)
            if not events and not outbox:
                break
            for event_id in events:  # as the relay queues an event nobody queued
                tasks.process_event(event_id)
            if outbox:  # as beat's delivery pass every few seconds
                tasks.deliver()
    report = WorkReport()
    for name, value in results:
        if name == PROCESS_TASK:
            report = report + _EVENT_OUTCOMES.get(str(value), WorkReport())
        elif name == PROCESS_BATCH_TASK:
            for outcome in value:
                report = report + _EVENT_OUTCOMES.get(str(outcome), WorkReport())
        elif name == DELIVER_TASK:
            report = report + WorkReport(**value)
    return report


def _due(runtime: Runtime) -> tuple[list[int], int]:
    """Events and write-backs a worker would claim now: waiting and due, or left by a worker
    whose lease ran out (the ids of the events, the number of write-backs)."""
    now = runtime.now()
    with store.session_scope(runtime.sessions) as s:
        events = list(s.scalars(select(store.InboundEventRow.id).where(_claimable(
            store.InboundEventRow, store.EventStatus.PENDING, store.EventStatus.PROCESSING,
            now))))
        outbox = s.scalar(select(func.count()).select_from(store.OutboxRow).where(_claimable(
            store.OutboxRow, store.OutboxStatus.PENDING, store.OutboxStatus.INFLIGHT, now)))
        return events, int(outbox or 0)


def _claimable(model: Any, waiting: Enum, busy: Enum, now: datetime) -> Any:
    return or_(and_(model.status == waiting.value, model.next_attempt_at <= now),
               and_(model.status == busy.value, model.lease_until <= now))


@contextmanager
def _clock_at(runtime: Runtime, now: datetime | None) -> Iterator[None]:
    """The runtime's clock (the workers share the runtime) reads ``now`` for a while."""
    if now is None:
        yield
        return
    own = vars(runtime).get("now")  # a clock the test gave this runtime, if any
    runtime.now = lambda: now  # type: ignore[method-assign]
    try:
        yield
    finally:
        if own is None:
            del runtime.now
        else:
            runtime.now = own  # type: ignore[method-assign]


@contextmanager
def _results() -> Iterator[list[tuple[str, Any]]]:
    """``(task name, what it returned)`` of every task the workers finish meanwhile."""
    from celery.signals import task_postrun

    found: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def record(task: Any = None, retval: Any = None, **_: Any) -> None:
        with lock:
            found.append((str(task.name), retval))

    task_postrun.connect(record, weak=False)
    try:
        yield found
    finally:
        task_postrun.disconnect(record)


def _wait(check: Callable[[], object], what: str, deadline: float | None = None) -> None:
    deadline = deadline or time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"the Celery worker did not get there in {WAIT_SECONDS:.0f} s: {what}")
        time.sleep(0.05)
