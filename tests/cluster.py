"""The scale-out test kit: a private redis-server, scale-out settings, real Celery workers.

Shared by ``tests/scaleout`` (its dedicated Celery flows) and the app suite's third backend
(``scaleout``, see ``tests/conftest.py``). The broker is a redis-server this session starts on
a free port (or ESCALADE_TEST_REDIS_URL when set); the database is a throwaway schema on
ESCALADE_TEST_DATABASE_URL. Workers run in threads of this process
(``celery.contrib.testing.worker.start_worker``, several tasks at once) with the test's own
runtime, so a test reads what they wrote.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.store.helpers import PG_ENV, backend_store

REDIS_ENV = "ESCALADE_TEST_REDIS_URL"
REDIS_SKIP = "install redis-server (apt-get install redis-server) to run the scale-out tests"
# How long a test waits for the workers before it fails (they take well under a second).
WAIT_SECONDS = 60.0


def redis_binary() -> str | None:
    """The redis-server this session can start, if any."""
    if shutil.which("redis-server"):
        return shutil.which("redis-server")
    return "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None


def scaleout_available() -> bool:
    """True when PostgreSQL is configured and a broker can be had (given, or a redis-server)."""
    return bool(os.environ.get(PG_ENV)) and bool(os.environ.get(REDIS_ENV) or redis_binary())


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _own_database(url: str) -> str:
    """Each parallel test process (pytest-xdist's gw0, gw1, ...) its own Redis database of a
    shared server (which needs as many databases as processes: ``--databases``)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    return f"{url.rsplit('/', 1)[0]}/{int(worker[2:]) + 1}"


@contextmanager
def redis_server() -> Iterator[str]:
    """A redis broker for this test session: ESCALADE_TEST_REDIS_URL, or a private server."""
    given = os.environ.get(REDIS_ENV)
    if given:
        yield _own_database(given)
        return
    binary = redis_binary()
    if binary is None:
        pytest.skip(REDIS_SKIP)
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _redis_answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"  # this process's own server: database 0 is ours
    finally:
        server.terminate()
        server.wait(10)


@contextmanager
def scaleout_settings(redis_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Scale-out settings on a fresh PostgreSQL schema and the test broker (queues emptied)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    with backend_store("postgresql", tmp_path) as opened:
        opened.engine.dispose()
        yield {
            "VAR_DIR": tmp_path / "var",
            "DATABASE_URL": opened.url,
            "SECRET_KEY": Fernet.generate_key().decode(),
            "WORKERS": 0,
            "LOG_LEVEL": "WARNING",
            "MODE": "scaleout",
            "BROKER_URL": redis_url,
            "RELAY_SECONDS": 30.0,
            "KB_SYNC_MINUTES": 0,
        }


@contextmanager
def celery_workers(runtime: Any, *, concurrency: int = 4, config: dict[str, Any] | None = None,
                   queues: Sequence[str] | None = None) -> Iterator[Any]:
    """A Celery worker running ``concurrency`` tasks at once (threads) on the runtime's database
    and broker (or the broker of ``config``), taking ``queues`` (default: all); yields its
    Celery app.

    One worker per test process: Celery keeps a worker's stop flags in module globals, so two
    in one process can hang each other's shutdown. Its threads take tasks at the same time as
    separate workers would, each on its own database connection.
    """
    from celery.contrib.testing.worker import start_worker

    from integration.scaleout.mode import QUEUES
    from integration.scaleout.tasks import make_celery

    celery = make_celery(config or runtime.config, runtime=lambda: runtime)
    # The worker waits this long for a task per poll, and as long again to stop (default 1 s).
    celery.conf.broker_transport_options = {**celery.conf.broker_transport_options,
                                            "polling_interval": 0.1}
    try:
        with start_worker(celery, pool="threads", concurrency=concurrency,
                          perform_ping_check=False, loglevel="WARNING",
                          queues=list(queues or QUEUES), shutdown_timeout=30.0):
            yield celery
    finally:
        celery.close()


def broker_idle(broker_url: str) -> bool:
    """True when no task waits in any queue and none is taken but unfinished (unacked)."""
    import redis

    from integration.scaleout.mode import QUEUES

    client = redis.Redis.from_url(broker_url)
    try:
        # Late acknowledgment: a task a worker has taken stays in "unacked" until it ran.
        # Looked at twice: a task is between the queue and "unacked" for an instant.
        for look in range(2):
            if any(client.llen(queue) for queue in QUEUES) or client.hlen("unacked"):
                return False
            if not look:
                time.sleep(0.1)
        return True
    finally:
        client.close()


def wait_for(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` after a minute."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"the workers did not get there: {what}")
