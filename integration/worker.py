"""In-process background work: stored events become decisions, the outbox gets delivered.

The same ``run_once`` serves the embedded threads, the CLI and the tests; on the scale-out
setup a task engine calls it instead.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from integration import outbox, store
from integration.errors import (
    ConfigurationError,
    FatalError,
    RetriableError,
    UnsupportedEvent,
    ValidationError,
)
from integration.pipeline import Outcome, process_event
from integration.runtime import Runtime

__all__ = ["WorkReport", "Workers", "drain", "run_once"]

log = logging.getLogger(__name__)

EVENT_LEASE = timedelta(minutes=2)


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkReport:
    """How much one pass did."""

    decided: int = 0
    unchanged: int = 0
    event_failures: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0

    def __add__(self, other: WorkReport) -> WorkReport:
        return WorkReport(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                             for f in fields(self)})

    @property
    def busy(self) -> bool:
        """True when the pass did anything at all."""
        return any(getattr(self, f.name) for f in fields(self))


def _process_events(runtime: Runtime, now: datetime, limit: int) -> tuple[int, int, int]:
    decided = unchanged = failures = 0
    for event_id in store.claim_pending_events(
        runtime.sessions, now=now, limit=limit, lease=EVENT_LEASE
    ):
        try:
            result = process_event(runtime, event_id, now=now)
        except UnsupportedEvent as err:
            _finish(runtime, event_id, store.EventStatus.IGNORED, str(err), now)
            continue
        except RetriableError as err:
            delay = timedelta(seconds=err.retry_after or 30)
            with store.session_scope(runtime.sessions) as s:
                store.retry_event(s, event_id, error=str(err), now=now, delay=delay)
            failures += 1
            continue
        except (FatalError, ValidationError, ConfigurationError) as err:
            _finish(runtime, event_id, store.EventStatus.FAILED, str(err), now)
            failures += 1
            continue
        except Exception as err:  # keep the worker alive; the event stays visible as failed
            log.exception("event %s failed", event_id)
            message = f"{type(err).__name__}: {err}"
            _finish(runtime, event_id, store.EventStatus.FAILED, message, now)
            failures += 1
            continue
        if result.outcome is Outcome.DECIDED:
            decided += 1
        else:
            unchanged += 1
    return decided, unchanged, failures


def _finish(
    runtime: Runtime, event_id: int, status: store.EventStatus, error: str, now: datetime
) -> None:
    with store.session_scope(runtime.sessions) as s:
        store.finish_event(s, event_id, status=status, now=now, error=error)


def run_once(runtime: Runtime, *, now: datetime | None = None, limit: int = 50) -> WorkReport:
    """Process pending events, then deliver what is due in the outbox."""
    now = now or runtime.now()
    decided, unchanged, failures = _process_events(runtime, now, limit)
    report = outbox.deliver_due(runtime.sessions, runtime.deliver, now=now, limit=limit)
    return WorkReport(
        decided=decided,
        unchanged=unchanged,
        event_failures=failures,
        delivered=report.delivered,
        retried=report.retried,
        failed=report.failed,
    )


def drain(runtime: Runtime, *, now: datetime | None = None, max_passes: int = 1000) -> WorkReport:
    """Run passes until nothing is left to do now (CLI and tests)."""
    totals = WorkReport()
    for _ in range(max_passes):
        report = run_once(runtime, now=now)
        if not report.busy:
            break
        totals = totals + report
    return totals


class Workers:
    """Background threads that call ``run_once`` whenever there is work."""

    def __init__(self, runtime: Runtime, *, count: int, poll_seconds: float) -> None:
        self.runtime = runtime
        self.count = count
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the threads (idempotent)."""
        if self._threads:
            return
        for n in range(self.count):
            thread = threading.Thread(target=self._loop, name=f"escalade-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to finish their pass and stop."""
        self._stop.set()
        self.runtime.wake()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                report = run_once(self.runtime)
            except Exception:
                log.exception("worker pass failed")
                report = WorkReport()
            if not report.busy:
                self.runtime.wait_for_work(self.poll_seconds)
