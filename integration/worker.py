"""In-process background work: stored events become decisions, the outbox gets delivered.

Two loops that never wait for each other: ``process_events`` turns stored events into
decisions and outbox rows, ``deliver_outbox`` writes due rows back; so a customer's
acknowledgment goes out while a backlog of events is still being read. ``Workers`` runs each
on its own threads (``escalade serve``), ``work_until_idle`` runs both until nothing is left
(``escalade work``), ``run_once`` / ``drain`` do one after the other (tests, the demo); on the
scale-out setup a task engine calls the same functions.

While the database is unavailable the loops back off (one log line when it goes, one when it
comes back) and resume; an event whose processing the outage interrupted is never marked
failed, its lease runs out and it is taken again. The delivery loop logs when the oldest due
write-back has waited longer than ``OUTBOX_LAG_WARN_SECONDS``. The delivery loop also folds
the dashboard notes the decisions left (``fold_dashboard``), a batch at a time, so the
deciding threads never hold the database's write lock for the dashboard's sake; at most every
``FOLD_EVERY_SECONDS`` (``FoldPacer``), since a fold costs about as much for 3 notes as for
50 and a reader of the dashboard folds what is left before it reads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from integration import outbox, store
from integration.availability import StoreGate
from integration.delivery import deliverer
from integration.errors import (
    ConfigurationError,
    FatalError,
    RetriableError,
    UnsupportedEvent,
    ValidationError,
)
from integration.inbound import loggable
from integration.pipeline import Outcome, process_event
from integration.runtime import Runtime
from integration.store.db import is_unavailable, ping
from integration.store.health import OutboxLag, outbox_lag

__all__ = [
    "WorkReport",
    "Workers",
    "deliver_outbox",
    "drain",
    "event_lease",
    "FoldPacer",
    "fold_dashboard",
    "process_claimed",
    "process_events",
    "run_once",
    "work_until_idle",
]

log = logging.getLogger(__name__)

EVENT_LEASE = timedelta(minutes=2)
# Longest pause between attempts to reach an unavailable database.
MAX_BACKOFF_SECONDS = 30.0
# How often the delivery loop measures its backlog.
LAG_CHECK_SECONDS = 5.0
# How often a long-running loop folds the dashboard notes (``FoldPacer``).
FOLD_EVERY_SECONDS = 2.0


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


def event_lease(runtime: Runtime) -> timedelta:
    """How long a claimed event stays its worker's (ESCALADE_EVENT_LEASE_SECONDS)."""
    seconds = runtime.config.get("EVENT_LEASE_SECONDS")
    return EVENT_LEASE if seconds is None else timedelta(seconds=float(seconds))


def _process_events(runtime: Runtime, fixed_now: datetime | None, limit: int) -> WorkReport:
    report = WorkReport()
    for event_id in store.claim_pending_events(
        runtime.sessions, now=fixed_now or runtime.now(), limit=limit,
        lease=event_lease(runtime),
    ):
        # Each event is decided at its own time, not the batch's: a decision's timestamp
        # and its SLA clock start when it was taken, however long the batch ahead took.
        report = report + process_claimed(runtime, event_id, fixed_now or runtime.now())
    return report


def process_claimed(runtime: Runtime, event_id: int, now: datetime) -> WorkReport:
    """Process one event this worker has claimed; its outcome is recorded on the event."""
    try:
        result = process_event(runtime, event_id, now=now)
    except UnsupportedEvent as err:
        _finish(runtime, event_id, store.EventStatus.IGNORED, str(err), now)
        return WorkReport()
    except RetriableError as err:
        delay = timedelta(seconds=err.retry_after or 30)
        with store.session_scope(runtime.sessions) as s:
            store.retry_event(s, event_id, error=str(err), now=now, delay=delay)
        return WorkReport(event_failures=1)
    except (FatalError, ValidationError, ConfigurationError) as err:
        _finish(runtime, event_id, store.EventStatus.FAILED, str(err), now)
        return WorkReport(event_failures=1)
    except Exception as err:  # keep the worker alive; the event stays visible as failed
        if is_unavailable(err):
            # Not the event's fault: it stays claimed until its lease ends, then is
            # taken again. Marking it failed would lose it.
            raise
        log.exception("event %s failed", event_id)
        message = f"{type(err).__name__}: {err}"
        _finish(runtime, event_id, store.EventStatus.FAILED, message, now)
        return WorkReport(event_failures=1)
    if result.outcome is Outcome.DECIDED:
        return WorkReport(decided=1)
    return WorkReport(unchanged=1)


def _finish(
    runtime: Runtime, event_id: int, status: store.EventStatus, error: str, now: datetime
) -> None:
    with store.session_scope(runtime.sessions) as s:
        store.finish_event(s, event_id, status=status, now=now, error=error)


def process_events(
    runtime: Runtime, *, now: datetime | None = None, limit: int = 50
) -> WorkReport:
    """Turn up to ``limit`` pending events into decisions and outbox rows."""
    return _process_events(runtime, now, limit)


def deliver_outbox(
    runtime: Runtime, *, now: datetime | None = None, limit: int = 50
) -> WorkReport:
    """Deliver up to ``limit`` due outbox rows."""
    lease = timedelta(seconds=float(runtime.config.get("OUTBOX_LEASE_SECONDS", 60.0)))
    report = outbox.deliver_due(runtime.sessions, deliverer(runtime), now=now or runtime.now(),
                                limit=limit, lease=lease)
    return WorkReport(delivered=report.delivered, retried=report.retried, failed=report.failed)


def run_once(runtime: Runtime, *, now: datetime | None = None, limit: int = 50) -> WorkReport:
    """Process pending events, deliver what is due in the outbox, count it on the dashboard."""
    now = now or runtime.now()
    report = (process_events(runtime, now=now, limit=limit)
              + deliver_outbox(runtime, now=now, limit=limit))
    fold_dashboard(runtime)
    return report


def fold_dashboard(runtime: Runtime) -> int:
    """Count the tickets decided since the last fold on the dashboard; how many notes."""
    return store.dashboard.fold_all(runtime.sessions)


class FoldPacer:
    """A long-running loop's dashboard fold, at most once every ``seconds``.

    Each fold rewrites the rollups it touches, holding the write lock for tens of
    milliseconds whatever the number of notes; folding after every delivery pass made the
    acknowledgments wait behind it. Nothing is shown late: readers fold first.
    """

    def __init__(self, seconds: float = FOLD_EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def __call__(self, runtime: Runtime) -> int:
        """Fold when the last fold is ``seconds`` old; how many notes (0 when not yet)."""
        with self._lock:
            now = self._clock()
            if now < self._next:
                return 0
            self._next = now + self.seconds
        return fold_dashboard(runtime)


def drain(runtime: Runtime, *, now: datetime | None = None, max_passes: int = 1000) -> WorkReport:
    """Run passes until nothing is left to do now (CLI and tests)."""
    totals = WorkReport()
    for _ in range(max_passes):
        report = run_once(runtime, now=now)
        if not report.busy:
            break
        totals = totals + report
    return totals


def work_until_idle(runtime: Runtime, *, max_passes: int = 1000) -> WorkReport:
    """Events and deliveries on two threads until both are idle (``escalade work``)."""
    events_done = threading.Event()
    totals: dict[str, WorkReport] = {}

    def events() -> None:
        try:
            totals["events"] = _until_idle(lambda: process_events(runtime), max_passes)
        finally:
            events_done.set()

    def deliveries() -> None:
        total = WorkReport()
        for _ in range(max_passes):
            # Read before the pass: rows the last event wrote are delivered by one more pass.
            finished = events_done.is_set()
            report = deliver_outbox(runtime)
            fold_dashboard(runtime)
            total = total + report
            if not report.busy:
                if finished:
                    break
                events_done.wait(0.05)
        totals["outbox"] = total

    threads = [threading.Thread(target=events, name="escalade-work-events"),
               threading.Thread(target=deliveries, name="escalade-work-outbox")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(totals) != 2:
        raise RuntimeError("a work loop stopped early; see the log")
    return totals["events"] + totals["outbox"]


def _until_idle(step: Callable[[], WorkReport], max_passes: int) -> WorkReport:
    total = WorkReport()
    for _ in range(max_passes):
        report = step()
        if not report.busy:
            break
        total = total + report
    return total


class Workers:
    """Background threads: ``count`` that process events, one that delivers the outbox."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        count: int,
        poll_seconds: float,
        lag_warn_seconds: float | None = None,
    ) -> None:
        self.runtime = runtime
        self.count = count
        self.poll_seconds = poll_seconds
        warn = lag_warn_seconds if lag_warn_seconds is not None else \
            runtime.config.get("OUTBOX_LAG_WARN_SECONDS", 60.0)
        self.lag_warn_seconds = float(warn)
        self.gate = StoreGate(who="workers", meanwhile="waiting", probe_every=0.0)
        self.lag = OutboxLag(due=0, oldest_wait=timedelta(0))
        self._warned_at: float | None = None
        self._next_lag_check = 0.0
        self._stop = threading.Event()
        self._delivery_due = threading.Event()
        self._threads: list[threading.Thread] = []
        self._fold = FoldPacer()

    def start(self) -> None:
        """Start the threads (idempotent)."""
        if self._threads:
            return
        loops: list[tuple[str, Callable[[], WorkReport], Callable[[float], object]]] = [
            (f"escalade-worker-{n}", self._events, self.runtime.wait_for_work)
            for n in range(self.count)]
        loops.append(("escalade-outbox", self._deliveries, self._wait_for_deliveries))
        for name, step, idle in loops:
            thread = threading.Thread(target=self._loop, args=(step, idle), name=name,
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to finish their pass and stop."""
        self._stop.set()
        self.runtime.wake()
        self._delivery_due.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _events(self) -> WorkReport:
        report = process_events(self.runtime)
        if report.decided:
            self._delivery_due.set()  # its outbox rows go out now, not at the next poll
        return report

    def _wait_for_deliveries(self, timeout: float) -> None:
        # Its own signal: the runtime's wake-up is for the event threads (a new webhook).
        self._delivery_due.wait(timeout)
        self._delivery_due.clear()

    def _deliveries(self) -> WorkReport:
        report = deliver_outbox(self.runtime)
        # Here, not on the deciding threads: a batch of decisions is counted in one go.
        self._fold(self.runtime)
        if time.monotonic() >= self._next_lag_check:
            self._next_lag_check = time.monotonic() + LAG_CHECK_SECONDS
            self.check_lag()
        return report

    def _loop(self, step: Callable[[], WorkReport], idle: Callable[[float], object]) -> None:
        backoff = self.poll_seconds
        while not self._stop.is_set():
            if self.gate.down and not self._reachable():
                backoff = min(max(backoff * 2, 0.5), MAX_BACKOFF_SECONDS)
                self._stop.wait(backoff)
                continue
            try:
                report = step()
            except Exception as err:
                if is_unavailable(err):
                    self.gate.went_down(err)
                    continue
                log.error("worker pass failed: %s: %s", type(err).__name__, loggable(err),
                          exc_info=True)
                report = WorkReport()
            backoff = self.poll_seconds
            if self.gate.down:
                self.gate.came_back()
            if not report.busy:
                idle(self.poll_seconds)

    def _reachable(self) -> bool:
        if not self.gate.probe_due():
            return False
        try:
            ping(self.runtime.engine)
        except Exception as err:
            if not is_unavailable(err):
                raise
            return False
        self.gate.came_back()
        return True

    def check_lag(self) -> OutboxLag:
        """Measure the delivery backlog; log when it passes the threshold or has doubled."""
        with store.session_scope(self.runtime.sessions) as s:
            self.lag = outbox_lag(s, now=self.runtime.now())
        waited = self.lag.seconds
        if waited > self.lag_warn_seconds:
            # Once when it passes the threshold, again each time the wait has doubled.
            if self._warned_at is None or waited >= 2 * self._warned_at:
                self._warned_at = waited
                log.warning("outbox: %s write-backs due, the oldest waiting %.0f s",
                            self.lag.due, waited)
        elif self._warned_at is not None:
            self._warned_at = None
            log.info("outbox: caught up (%s due, oldest waiting %.0f s)", self.lag.due, waited)
        return self.lag
