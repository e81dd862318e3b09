"""The Celery app of scale-out mode: its tasks and the beat schedule.

- ``escalade.process_events(event_ids)``: claims each event by id (the lease and conditional
  UPDATE the embedded workers use) and processes it; a second task for the same event finds
  it done or taken and does nothing, so an event is decided once. A decision queues a
  delivery pass. ``escalade.process_event(event_id)`` does the same for one id.
- ``escalade.deliver_outbox``: delivery passes over the due outbox rows until a pass finds
  less than a full batch (the outbox's own retry policy and backoff; a row that cannot land
  ends ``failed``), then the dashboard counts the tickets decided since the last fold (at
  most every 2 s per process).
- ``escalade.relay``: queues again every event stored ``RELAY_SECONDS`` ago and still not
  processed (its task was lost, or the broker was down when the web process stored it).
- ``escalade.job.<id>``: the scheduler's jobs (``scheduler.periodic_jobs``); beat queues each
  once per interval, and a PostgreSQL advisory lock keeps a slow run and the next one from
  overlapping on two workers.

Each worker process builds its own ``Runtime`` on first use (after the fork, so no database
connection crosses processes).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from integration import store
from integration.runtime import Runtime
from integration.scaleout.mode import (
    DELIVER_TASK,
    PROCESS_BATCH_TASK,
    PROCESS_TASK,
    check_scaleout,
    new_celery,
)
from integration.store.cluster import claim_event, job_lock, relay_events
from integration.worker import (
    FoldPacer,
    WorkReport,
    deliver_outbox,
    event_lease,
    fold_dashboard,
    process_claimed,
)
from scheduler import PeriodicJob, periodic_jobs

__all__ = ["RELAY_TASK", "JobRun", "ProcessRuntime", "beat_schedule", "job_task", "make_celery",
           "run_job"]

log = logging.getLogger(__name__)

RELAY_TASK = "escalade.relay"
# Rows whose retry came due are picked up by a pass at least this often.
DELIVER_SECONDS = 5.0
# One delivery task stops after this many passes and leaves the rest to the next one.
MAX_DELIVERY_PASSES = 20
# Write-backs one delivery pass claims.
DELIVERY_BATCH = 50

RuntimeSource = Callable[[], Runtime]


class ProcessRuntime:
    """This process's runtime, built on first use from ``config``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        self._runtime: Runtime | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Runtime:
        with self._lock:
            if self._runtime is None:
                self._runtime = Runtime(config=self.config)
            return self._runtime


def job_task(job_id: str) -> str:
    """The task name of scheduled job ``job_id``."""
    return f"escalade.job.{job_id}"


def process_one(runtime: Runtime, event_id: int) -> WorkReport | None:
    """Process event ``event_id`` if this worker wins it; None when done or taken already."""
    now = runtime.now()
    if not claim_event(runtime.sessions, event_id, now=now, lease=event_lease(runtime)):
        return None
    # A decision wakes the runtime, which queues a delivery pass for its write-backs.
    return process_claimed(runtime, event_id, now)


def deliver_all(runtime: Runtime, *,
                fold: Callable[[Runtime], int] = fold_dashboard) -> WorkReport:
    """Delivery passes until one takes less than a full batch (or ``MAX_DELIVERY_PASSES``),
    then ``fold`` the dashboard notes (the worker's tasks pass a ``FoldPacer``)."""
    total = WorkReport()
    for _ in range(MAX_DELIVERY_PASSES):
        report = deliver_outbox(runtime, limit=DELIVERY_BATCH)
        total = total + report
        # A pass that took less than a full batch took everything due when it looked; rows
        # queued since came with their own delivery task.
        if report.delivered + report.retried + report.failed < DELIVERY_BATCH:
            break
    fold(runtime)
    return total


def relay(runtime: Runtime) -> int:
    """Queue again the events stored ``RELAY_SECONDS`` ago and not yet processed."""
    grace = timedelta(seconds=float(runtime.config.get("RELAY_SECONDS") or 30.0))
    with store.session_scope(runtime.sessions) as s:
        ids = relay_events(s, now=runtime.now(), grace=grace)
    if runtime.tasks is not None:
        for event_id in ids:
            runtime.tasks.process_event(event_id)
        runtime.tasks.deliver()
    if ids:
        log.info("relay: %d stored events queued again", len(ids))
    return len(ids)


@dataclass(frozen=True, kw_only=True, slots=True)
class JobRun:
    """One turn of a scheduled job on a worker: whether it ran, and what the job returned."""

    ran: bool
    result: object = None


def run_job(runtime: Runtime, job: PeriodicJob) -> JobRun:
    """Run ``job`` unless another worker is running it."""
    with job_lock(runtime.engine, job.id) as mine:
        if not mine:
            log.info("%s: still running elsewhere, this run skipped", job.name)
            return JobRun(ran=False)
        # A job that queued write-backs wakes the runtime, which queues a delivery pass.
        return JobRun(ran=True, result=job.run(runtime, runtime.now()))


def beat_schedule(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Beat's entries: every scheduled job, the relay and a delivery pass, each with its
    interval; a run not started within its interval expires (the next one covers it)."""
    entries = {
        job_task(job.id): {"task": job_task(job.id), "schedule": job.seconds,
                           "options": {"expires": job.seconds}}
        for job in periodic_jobs(config)
    }
    relay_seconds = float(config.get("RELAY_SECONDS") or 30.0)
    entries[RELAY_TASK] = {"task": RELAY_TASK, "schedule": relay_seconds,
                           "options": {"expires": relay_seconds}}
    entries[DELIVER_TASK] = {"task": DELIVER_TASK, "schedule": DELIVER_SECONDS,
                             "options": {"expires": DELIVER_SECONDS}}
    return entries


def make_celery(config: Mapping[str, Any], *, runtime: RuntimeSource | None = None,
                dialect: str = "postgresql") -> Any:
    """The Celery app for workers and beat, its tasks bound to ``runtime`` (default: one
    ``Runtime`` per process, built from ``config``)."""
    check_scaleout(config, dialect=dialect)
    celery = new_celery(config)
    source = runtime or ProcessRuntime(config)

    def process_event(event_id: int) -> str:
        return _outcome(process_one(source(), event_id))

    def process_events(event_ids: list[int]) -> list[str]:
        return [_outcome(process_one(source(), int(event_id))) for event_id in event_ids]

    # One per worker process (each forked child has its own copy of the clock it keeps).
    pacer = FoldPacer()

    def deliver() -> dict[str, int]:
        return _counts(deliver_all(source(), fold=pacer))

    def relay_stored() -> int:
        return relay(source())

    celery.task(name=PROCESS_TASK, shared=False)(process_event)
    celery.task(name=PROCESS_BATCH_TASK, shared=False)(process_events)
    celery.task(name=DELIVER_TASK, shared=False)(deliver)
    celery.task(name=RELAY_TASK, shared=False)(relay_stored)
    for job in periodic_jobs(config):
        celery.task(name=job_task(job.id), shared=False)(_job_runner(source, job))
    celery.conf.beat_schedule = beat_schedule(config)
    return celery


def _job_runner(source: RuntimeSource, job: PeriodicJob) -> Callable[[], JobRun]:
    def scheduled_job() -> JobRun:
        return run_job(source(), job)

    return scheduled_job


def _outcome(report: WorkReport | None) -> str:
    if report is None:
        return "skipped"
    if report.decided:
        return "decided"
    if report.unchanged:
        return "unchanged"
    # An event of a type no longer handled is recorded as ignored, and counts as no failure.
    return "failed" if report.event_failures else "ignored"


def _counts(report: WorkReport) -> dict[str, int]:
    return {"delivered": report.delivered, "retried": report.retried, "failed": report.failed}
