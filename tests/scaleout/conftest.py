"""Scale-out fixtures: a private redis-server, a PostgreSQL schema, real Celery workers.

The broker is a redis-server this session starts on a free port (or ESCALADE_TEST_REDIS_URL
when set); the database is a throwaway schema on ESCALADE_TEST_DATABASE_URL. Without either the
tests skip, saying what to install or set. Workers run in threads of this process
(``celery.contrib.testing.worker.start_worker``, several tasks at once) with the app's own
runtime, so a test reads what they wrote. Time moves by the test's clock (``Clock``), never
by sleeping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from integration import store
from tests.conftest import SANDBOX_SECRET
from tests.store.helpers import PG_ENV, PG_SKIP, T0, backend_store

REDIS_ENV = "ESCALADE_TEST_REDIS_URL"
REDIS_SKIP = "install redis-server (apt-get install redis-server) to run the scale-out tests"
# How long a test waits for the workers before it fails (they take well under a second).
WAIT_SECONDS = 60.0


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
    """Each parallel test process (pytest-xdist's gw0, gw1, ...) its own Redis database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    return f"{url.rsplit('/', 1)[0]}/{int(worker[2:]) + 1}"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A redis broker for this test session: ESCALADE_TEST_REDIS_URL, or a private server."""
    given = os.environ.get(REDIS_ENV)
    if given:
        yield _own_database(given)
        return
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server"
                                              if Path("/usr/bin/redis-server").exists() else None)
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
        yield _own_database(f"redis://127.0.0.1:{port}/0")
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="session")
def pg_base() -> str:
    """The PostgreSQL server the scale-out tests use (they never run on SQLite)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"scale-out mode runs on PostgreSQL: {PG_SKIP}")
    return base


class Clock:
    """The app's time, moved by the test."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        """Move the time on."""
        self.at += timedelta(**delta)


@pytest.fixture
def scaleout_config(pg_base: str, redis_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
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


@pytest.fixture
def clock() -> Clock:
    """The time every scale-out app in the test reads."""
    return Clock(T0 + timedelta(days=2))


@pytest.fixture
def make_app(scaleout_config: dict[str, Any], clock: Clock) -> Iterator[Callable[..., Any]]:
    """Build a scale-out web app (settings overridable); every one is closed at the end."""
    from integration.web import create_app

    built: list[Any] = []

    def build(**overrides: Any) -> Any:
        app = create_app({**scaleout_config, **overrides})
        runtime = app.extensions["escalade"]
        runtime.now = clock
        built.append(runtime)
        return app

    yield build
    for runtime in built:
        if runtime.tasks is not None:
            runtime.tasks.close()
        runtime.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    """The scale-out web app."""
    return make_app()


@pytest.fixture
def runtime(app: Any) -> Any:
    """The web app's runtime (the workers share it)."""
    return app.extensions["escalade"]


@pytest.fixture
def client(app: Any) -> Any:
    """A test client of the scale-out web app."""
    return app.test_client()


def add_sandbox(runtime: Any, *, slug: str = "demo", **settings: Any) -> str:
    """A sandbox workspace (``settings`` such as fail_with); returns its slug."""
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug=slug, name=slug.title(), helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": SANDBOX_SECRET}, settings=settings,
                         cipher=runtime.cipher)
    return slug


@contextmanager
def celery_workers(runtime: Any, *, concurrency: int = 4,
                   config: dict[str, Any] | None = None) -> Iterator[Any]:
    """A Celery worker running ``concurrency`` tasks at once (threads) on the runtime's database
    and broker (or the broker of ``config``); yields its Celery app.

    One worker per test process: Celery keeps a worker's stop flags in module globals, so two
    in one process can hang each other's shutdown. Its threads take tasks at the same time as
    separate workers would, each on its own database connection.
    """
    from celery.contrib.testing.worker import start_worker

    from integration.scaleout.mode import QUEUES
    from integration.scaleout.tasks import make_celery

    celery = make_celery(config or runtime.config, runtime=lambda: runtime)
    try:
        with start_worker(celery, pool="threads", concurrency=concurrency,
                          perform_ping_check=False, loglevel="WARNING", queues=list(QUEUES),
                          shutdown_timeout=30.0):
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
