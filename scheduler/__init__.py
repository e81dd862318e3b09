"""The APScheduler loop: SLA sweeps every few seconds, in-process or alone.

``scheduler_init_app(app)`` builds a ``BackgroundScheduler`` for the app's runtime (``make
run`` starts it with the server); ``python -m scheduler`` runs it as its own process. In
scale-out mode Celery beat runs the same jobs instead (``periodic_jobs``), once per interval
for the whole cluster. Jobs are
plain functions of the runtime and a clock, so tests call them directly with a frozen time.
Each process keeps its own in-memory job store: exactly-once comes from the database (the
sweep's conditional updates), never from a shared APScheduler job store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from integration.account_watch import watch_accounts
from integration.audit_runs import run_next_audit
from integration.availability import StoreGate
from integration.digest import send_digests
from integration.knowledge_sync import sync_all
from integration.store.db import is_unavailable
from scheduler.jobs import SweepReport, sla_sweep

if TYPE_CHECKING:
    from flask import Flask

    from integration.runtime import Runtime

__all__ = ["KNOWLEDGE_JOB", "PeriodicJob", "SweepReport", "build_scheduler", "periodic_jobs",
           "run_sla_sweep", "scheduler_init_app", "sla_sweep"]

log = logging.getLogger(__name__)
SWEEP_JOB = "sla_sweep"
AUDIT_JOB = "history_audits"
AUDIT_SECONDS = 5.0
RISK_JOB = "account_risk"
# Scores move with tickets over days; every 10 minutes tells an owner soon enough.
RISK_SECONDS = 600.0
KNOWLEDGE_JOB = "knowledge_sync"
KNOWLEDGE_MINUTES = 30.0
DIGEST_JOB = "weekly_digest"
# The digest is due from an hour of a day; looking every 10 minutes posts it by then + 10.
DIGEST_SECONDS = 600.0


def run_sla_sweep(runtime: Runtime, clock: Callable[[], datetime]) -> SweepReport:
    """One SLA sweep at ``clock()``; the job the scheduler runs, timed for ``/metrics``."""
    started = time.perf_counter()
    report = sla_sweep(runtime, clock())
    runtime.metrics.sweep(time.perf_counter() - started)
    return report


@dataclass(frozen=True, kw_only=True, slots=True)
class PeriodicJob:
    """A scheduled job as Celery beat runs it: its id, name, interval and function."""

    id: str
    name: str
    seconds: float
    run: Callable[[Runtime, datetime], object]


def _sweep_at(runtime: Runtime, now: datetime) -> SweepReport:
    return run_sla_sweep(runtime, lambda: now)


def _audits(runtime: Runtime, now: datetime) -> int | None:
    ran = None
    while (run_id := run_next_audit(runtime)) is not None:
        ran = run_id
    return ran


def periodic_jobs(config: Mapping[str, Any]) -> list[PeriodicJob]:
    """The jobs ``build_scheduler`` runs, with their intervals, for Celery beat."""
    jobs = [
        PeriodicJob(id=SWEEP_JOB, name="SLA sweep", run=_sweep_at,
                    seconds=float(config.get("SLA_SWEEP_SECONDS") or 15.0)),
        PeriodicJob(id=AUDIT_JOB, name="History audits", seconds=AUDIT_SECONDS, run=_audits),
        PeriodicJob(id=RISK_JOB, name="At-risk accounts", seconds=RISK_SECONDS,
                    run=watch_accounts),
        PeriodicJob(id=DIGEST_JOB, name="Weekly digest", seconds=DIGEST_SECONDS,
                    run=send_digests),
    ]
    minutes = float(config.get("KB_SYNC_MINUTES", KNOWLEDGE_MINUTES) or 0)
    if minutes > 0:
        jobs.append(PeriodicJob(id=KNOWLEDGE_JOB, name="Knowledge sync", seconds=minutes * 60,
                                run=sync_all))
    return jobs


def build_scheduler(
    runtime: Runtime,
    *,
    sweep_seconds: float,
    clock: Callable[[], datetime] | None = None,
    app: Flask | None = None,
) -> BackgroundScheduler:
    """A scheduler (not started): SLA sweeps every ``sweep_seconds``, queued audits, account
    scores and weekly digests every 10 minutes, the knowledge sync every ``KB_SYNC_MINUTES``;
    with ``app``, each job runs inside its application context (logging, config)."""
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    # Two lines per run of every job every few seconds drown what the jobs themselves say;
    # a job that fails is still logged (at error level).
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    gate = StoreGate(who="SLA scheduler", meanwhile="sweeps are skipped", probe_every=0.0)

    def guarded() -> SweepReport:
        # An outage is one line when it starts and one when it ends, not a traceback a sweep.
        try:
            report = run_sla_sweep(runtime, clock or runtime.now)
        except Exception as err:
            if not is_unavailable(err):
                raise
            gate.went_down(err)
            return SweepReport()
        gate.came_back()
        return report

    scheduler.add_job(
        partial(_in_context, app, guarded),
        IntervalTrigger(seconds=sweep_seconds),
        id=SWEEP_JOB,
        name="SLA sweep",
        # A sweep that overran is not run twice in a row to catch up; the next one covers it.
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(sweep_seconds)),
        next_run_time=runtime.now(),
    )
    scheduler.add_job(
        partial(_in_context, app, partial(_run_audits, runtime, gate)),
        IntervalTrigger(seconds=AUDIT_SECONDS),
        id=AUDIT_JOB,
        name="History audits",
        # One audit at a time per process; another process may claim the next queued one.
        max_instances=1,
        coalesce=True,
        next_run_time=runtime.now(),
    )
    for job, seconds, job_id, name in (
            (watch_accounts, RISK_SECONDS, RISK_JOB, "At-risk accounts"),
            (send_digests, DIGEST_SECONDS, DIGEST_JOB, "Weekly digest")):
        scheduler.add_job(
            partial(_in_context, app, partial(_guarded, job, runtime, gate, clock)),
            IntervalTrigger(seconds=seconds), id=job_id, name=name,
            max_instances=1, coalesce=True, next_run_time=runtime.now(),
        )
    _add_knowledge_job(scheduler, runtime, gate, clock, app)
    return scheduler


def _guarded(job: Callable[[Runtime, datetime], object], runtime: Runtime, gate: StoreGate,
             clock: Callable[[], datetime] | None) -> object:
    """Run ``job`` at the clock's time; while the database is away, say so once and skip."""
    try:
        return job(runtime, (clock or runtime.now)())
    except Exception as err:
        if not is_unavailable(err):
            raise
        gate.went_down(err)
        return None


def _add_knowledge_job(scheduler: BackgroundScheduler, runtime: Runtime, gate: StoreGate,
                       clock: Callable[[], datetime] | None, app: Flask | None) -> None:
    """Sync knowledge every ``KB_SYNC_MINUTES`` (0: never)."""
    minutes = float(runtime.config.get("KB_SYNC_MINUTES", KNOWLEDGE_MINUTES) or 0)
    if minutes <= 0:
        return
    # The first sync waits one interval: starting the app never calls every helpdesk at once.
    scheduler.add_job(partial(_in_context, app, partial(_guarded, sync_all, runtime, gate, clock)),
                      IntervalTrigger(minutes=minutes), id=KNOWLEDGE_JOB,
                      name="Knowledge sync", max_instances=1, coalesce=True)


def _in_context(app: Flask | None, job: Callable[[], object]) -> object:
    if app is None:
        return job()
    with app.app_context():
        return job()


def _run_audits(runtime: Runtime, gate: StoreGate) -> int | None:
    """Run the audits admins queued, oldest first, until none waits."""
    ran = None
    try:
        while (run_id := run_next_audit(runtime)) is not None:
            ran = run_id
    except Exception as err:
        if not is_unavailable(err):
            raise
        gate.went_down(err)
    return ran


def scheduler_init_app(app: Flask) -> BackgroundScheduler:
    """Attach a scheduler to ``app`` (``app.extensions["scheduler"]``); the caller starts it."""
    runtime = app.extensions["escalade"]
    scheduler = build_scheduler(
        runtime, sweep_seconds=float(app.config["SLA_SWEEP_SECONDS"]), app=app
    )
    app.extensions["scheduler"] = scheduler
    return scheduler
