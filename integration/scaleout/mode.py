"""Which mode runs, whether its settings hold, and how the web process queues work.

``task_queue(config, dialect=...)`` is None in embedded mode; in scale-out mode it checks the
settings (PostgreSQL, a broker URL) and returns a ``TaskQueue`` that publishes tasks by name,
so the web process never imports the worker's code. A request only hands the stored event's
id to the queue's publishing thread and answers: the thread sends the ids gathered over a few
milliseconds as one task, so an acknowledgment never waits for the broker and a burst costs
one publish per batch. Publishing never raises: the event is already stored, and the relay
queues it again once the broker is back (or after a crash took ids not yet sent).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from integration.errors import ConfigurationError
from integration.inbound import loggable

__all__ = [
    "DELIVER_TASK",
    "EMBEDDED",
    "EVENTS_QUEUE",
    "JOBS_QUEUE",
    "OUTBOX_QUEUE",
    "PROCESS_BATCH_TASK",
    "PROCESS_TASK",
    "QUEUES",
    "SCALEOUT",
    "TaskQueue",
    "celery_settings",
    "is_scaleout",
    "new_celery",
    "task_queue",
]

log = logging.getLogger(__name__)

EMBEDDED = "embedded"
SCALEOUT = "scaleout"
# Events and deliveries have their own queues, like the embedded worker's two loops: a
# backlog of events never holds back a customer's acknowledgment.
EVENTS_QUEUE = "escalade.events"
OUTBOX_QUEUE = "escalade.outbox"
JOBS_QUEUE = "escalade.jobs"
QUEUES = (EVENTS_QUEUE, OUTBOX_QUEUE, JOBS_QUEUE)
PROCESS_TASK = "escalade.process_event"  # one id (as queued before batches; still taken)
PROCESS_BATCH_TASK = "escalade.process_events"
DELIVER_TASK = "escalade.deliver_outbox"
# The publishing thread waits at most this long for the broker before it gives up a batch.
PUBLISH_TIMEOUT_SECONDS = 1.0
# Ids stored within this long of each other travel in one task (at 300 events/s, about six).
PUBLISH_LINGER_SECONDS = 0.02
# At most this many ids per task, so a burst is still shared among the worker processes.
MAX_BATCH = 16
# The publishing thread ends after this long without work (the next request starts one).
IDLE_EXIT_SECONDS = 30.0
# How long a process that exits waits for the ids it has not sent yet.
EXIT_FLUSH_SECONDS = 3.0


def is_scaleout(config: Mapping[str, Any]) -> bool:
    """True in scale-out mode; a ``ConfigurationError`` naming ESCALADE_MODE for a typo."""
    mode = str(config.get("MODE") or EMBEDDED).strip().lower()
    if mode not in (EMBEDDED, SCALEOUT):
        raise ConfigurationError(f"ESCALADE_MODE: expected {EMBEDDED} or {SCALEOUT}, "
                                 f"got {mode!r}")
    return mode == SCALEOUT


def check_scaleout(config: Mapping[str, Any], *, dialect: str) -> None:
    """Refuse scale-out mode on SQLite or without a broker, saying which setting to fix."""
    if dialect != "postgresql":
        raise ConfigurationError(
            "ESCALADE_MODE=scaleout needs PostgreSQL: set ESCALADE_DATABASE_URL to a "
            "postgresql+psycopg://... URL (SQLite serves one process only)")
    broker = str(config.get("BROKER_URL") or "")
    if not broker:
        raise ConfigurationError("ESCALADE_MODE=scaleout needs ESCALADE_BROKER_URL, "
                                 "e.g. redis://127.0.0.1:6379/0")
    if not broker.startswith(("redis://", "rediss://")):
        raise ConfigurationError(f"ESCALADE_BROKER_URL: expected a redis:// URL, got "
                                 f"{broker.split('://')[0]!r}")


def celery_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """Celery's settings for this app: queues, late acknowledgment, short publish waits."""
    return {
        "broker_url": str(config["BROKER_URL"]),
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"socket_connect_timeout": PUBLISH_TIMEOUT_SECONDS,
                                     "socket_timeout": 5.0},
        # One quick retry, then the relay's turn: a web request must not hang on the broker.
        "task_publish_retry_policy": {"max_retries": 1, "interval_start": 0.1,
                                      "interval_step": 0.1, "interval_max": 0.2},
        "task_default_queue": EVENTS_QUEUE,
        "task_routes": {PROCESS_TASK: {"queue": EVENTS_QUEUE},
                        PROCESS_BATCH_TASK: {"queue": EVENTS_QUEUE},
                        DELIVER_TASK: {"queue": OUTBOX_QUEUE},
                        "escalade.job.*": {"queue": JOBS_QUEUE},
                        "escalade.relay": {"queue": JOBS_QUEUE}},
        # A task is acknowledged once it ran: a worker killed mid-task leaves it to another.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
    }


def new_celery(config: Mapping[str, Any], *, main: str = "escalade") -> Any:
    """A Celery app with this app's settings; a clear error when Celery is not installed."""
    try:
        from celery import Celery
    except ImportError as err:
        raise ConfigurationError("ESCALADE_MODE=scaleout needs Celery: "
                                 "pip install 'escalade[scaleout]'") from err
    celery = Celery(main, set_as_current=False)
    celery.conf.update(celery_settings(config))
    return celery


class TaskQueue:
    """The producer side: queue events' processing and delivery passes, by task name.

    ``process_event`` and ``deliver`` return at once; a thread of this process publishes what
    they asked for (``flush`` waits for it). The thread starts on first use, so a forked
    process (a gunicorn or Celery worker) runs its own.
    """

    def __init__(self, celery: Any, *, linger: float = PUBLISH_LINGER_SECONDS) -> None:
        self.celery = celery
        self.linger = linger
        self._changed = threading.Condition()
        self._events: list[int] = []
        self._deliver = False
        self._sending = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pid = 0
        atexit.register(_flush_at_exit, weakref.ref(self))

    def process_event(self, event_id: int) -> None:
        """Queue event ``event_id`` (the relay queues it again if this never reaches a worker)."""
        self._want(event_id)

    def deliver(self) -> None:
        """Queue one outbox delivery pass (requests made meanwhile share it)."""
        self._want(None)

    def pending(self) -> bool:
        """True while something asked for is not published (or given up) yet."""
        with self._changed:
            return bool(self._events or self._deliver or self._sending)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything asked for so far is published (or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            if self._events or self._deliver:
                self._start()
            while self._events or self._deliver or self._sending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def _want(self, event_id: int | None) -> None:
        with self._changed:
            if event_id is None:
                self._deliver = True
            else:
                self._events.append(event_id)
            self._start()
            self._changed.notify_all()

    def _start(self) -> None:
        """Start this process's publishing thread unless it runs (the caller holds the lock)."""
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._closed = False
            self._thread = threading.Thread(target=self._publish_loop, daemon=True,
                                            name="escalade-publisher")
            self._thread.start()

    def _publish_loop(self) -> None:
        while True:
            with self._changed:
                while not (self._events or self._deliver or self._closed):
                    # A quiet process keeps no idle thread: the next request starts one.
                    if not self._changed.wait(IDLE_EXIT_SECONDS) and not (
                            self._events or self._deliver):
                        self._thread = None
                        return
                if self._closed and not (self._events or self._deliver):
                    return
            # Ids stored meanwhile join this batch: one publish for a burst.
            time.sleep(self.linger)
            with self._changed:
                events, self._events = self._events, []
                deliver, self._deliver = self._deliver, False
                self._sending = True
            try:
                for start in range(0, len(events), MAX_BATCH):
                    self._send(PROCESS_BATCH_TASK, events[start:start + MAX_BATCH])
                if deliver:
                    self._send(DELIVER_TASK)
            finally:
                with self._changed:
                    self._sending = False
                    self._changed.notify_all()

    def _send(self, name: str, *args: object) -> bool:
        try:
            self.celery.send_task(name, args=list(args))
        except Exception as err:  # any broker failure: the database has the work
            log.warning("broker unavailable, %s %s left to the relay: %s: %s", name,
                        args or "", type(err).__name__, loggable(err))
            return False
        return True

    def ping(self) -> str | None:
        """None when the broker answers, else the error's name (no host or password shown)."""
        try:
            with self.celery.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=PUBLISH_TIMEOUT_SECONDS)
        except Exception as err:
            return type(err).__name__
        return None

    def close(self, timeout: float = EXIT_FLUSH_SECONDS) -> None:
        """Publish what is still asked for (waiting at most ``timeout``), then close the
        broker connections this process holds (a broker that is gone too)."""
        self.flush(timeout)
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        try:
            self.celery.close()
        except Exception as err:  # closing what already broke has nothing left to do
            log.debug("broker connections closed with %s", type(err).__name__)


def _flush_at_exit(queue: weakref.ref[TaskQueue]) -> None:
    """A process that exits normally sends the ids it still holds first."""
    found = queue()
    if found is not None and found.pending():
        found.flush(EXIT_FLUSH_SECONDS)


def task_queue(config: Mapping[str, Any], *, dialect: str) -> TaskQueue | None:
    """The producer for scale-out mode (settings checked), None in embedded mode."""
    if not is_scaleout(config):
        return None
    check_scaleout(config, dialect=dialect)
    return TaskQueue(new_celery(config))
