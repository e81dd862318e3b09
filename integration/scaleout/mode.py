"""Which mode runs, whether its settings hold, and how the web process queues work.

``task_queue(config, dialect=...)`` is None in embedded mode; in scale-out mode it checks the
settings (PostgreSQL, a broker URL) and returns a ``TaskQueue`` that publishes tasks by name,
so the web process never imports the worker's code. Publishing never waits long and never
raises: the event is already stored, and the relay queues it again once the broker is back.
"""

from __future__ import annotations

import logging
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
PROCESS_TASK = "escalade.process_event"
DELIVER_TASK = "escalade.deliver_outbox"
# A web request waits at most this long for the broker before it answers anyway.
PUBLISH_TIMEOUT_SECONDS = 1.0


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
    """The producer side: queue an event's processing or a delivery pass, by task name."""

    def __init__(self, celery: Any) -> None:
        self.celery = celery

    def process_event(self, event_id: int) -> bool:
        """Queue event ``event_id``; False (logged) when the broker did not take it."""
        return self._send(PROCESS_TASK, event_id)

    def deliver(self) -> bool:
        """Queue one outbox delivery pass; False (logged) when the broker did not take it."""
        return self._send(DELIVER_TASK)

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

    def close(self) -> None:
        """Close the broker connections this process holds (a broker that is gone too)."""
        try:
            self.celery.close()
        except Exception as err:  # closing what already broke has nothing left to do
            log.debug("broker connections closed with %s", type(err).__name__)


def task_queue(config: Mapping[str, Any], *, dialect: str) -> TaskQueue | None:
    """The producer for scale-out mode (settings checked), None in embedded mode."""
    if not is_scaleout(config):
        return None
    check_scaleout(config, dialect=dialect)
    return TaskQueue(new_celery(config))
