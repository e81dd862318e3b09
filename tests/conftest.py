"""Shared fixtures: an app on a fresh SQLite file, a sandbox tenant, signed webhook posts.

Every test of the app (``app_config`` and what builds on it) runs on each backend: SQLite,
PostgreSQL when ESCALADE_TEST_DATABASE_URL is set, and, for the modules marked ``scaleout``
(the end-to-end, pipeline, outbox and scheduler suites), a third time in scale-out mode:
PostgreSQL, a Redis broker and a real Celery worker (``tests/work.py`` waits for it), only
where PostgreSQL is configured and a redis-server is at hand. A test marked ``embedded``
checks the embedded worker or scheduler itself and stays off the scale-out backend.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from integration import native
from tests.cluster import redis_server, scaleout_available, scaleout_settings
from tests.store.helpers import BACKENDS, backend_store

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SCALEOUT = "scaleout"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scaleout: the module also runs in scale-out mode "
                                       "(PostgreSQL, Redis, a Celery worker) when available")
    config.addinivalue_line("markers", "embedded: checks the embedded worker or scheduler "
                                       "itself, so never runs in scale-out mode")
    config.addinivalue_line("markers", "pure_python: patches a compiled module's internals, which "
                                       "compiled modules do not allow; runs without them")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The scale-out backend is a param of every app test; only the marked ones keep it.
    items[:] = [item for item in items if not _off_scaleout(item)]
    if native.status() == "compiled":
        skip = pytest.mark.skip(reason="patches a compiled module's internals, which the compiled "
                                       "modules do not allow: `make test` runs it again with "
                                       "ESCALADE_NATIVE=0")
        for item in items:
            if item.get_closest_marker("pure_python"):
                item.add_marker(skip)


def _off_scaleout(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is None or callspec.params.get("app_config") != SCALEOUT:
        return False
    return not item.get_closest_marker(SCALEOUT) or bool(item.get_closest_marker("embedded"))


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The scale-out tests' broker: ESCALADE_TEST_REDIS_URL, or a private redis-server."""
    with redis_server() as url:
        yield url


@pytest.fixture(params=(*BACKENDS, SCALEOUT) if scaleout_available() else BACKENDS)
def app_config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Overrides that keep every test on its own database, key and no background threads.

    The app suite runs on SQLite and, when ESCALADE_TEST_DATABASE_URL is set (CI), again on
    PostgreSQL in a throwaway schema; the ``scaleout`` modules also in scale-out mode.
    """
    if request.param == SCALEOUT:
        with scaleout_settings(request.getfixturevalue("redis_url"), tmp_path) as config:
            yield config
        return
    with backend_store(request.param, tmp_path) as opened:
        url = opened.url
        opened.engine.dispose()
        yield {
            "VAR_DIR": tmp_path / "var",
            "DATABASE_URL": url,
            "SECRET_KEY": Fernet.generate_key().decode(),
            "WORKERS": 0,
            "LOG_LEVEL": "WARNING",
        }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    """A migrated app (``app_config`` copied a migrated database)."""
    from integration.web import create_app

    application = create_app(app_config)
    yield application
    runtime = application.extensions["escalade"]
    if runtime.tasks is not None:
        runtime.tasks.close()
    runtime.engine.dispose()


@pytest.fixture
def runtime(app: Any) -> Any:
    """The app's runtime (database, matrix, detector, adapters)."""
    return app.extensions["escalade"]


@pytest.fixture
def client(app: Any) -> Any:
    """A Flask test client."""
    return app.test_client()


SANDBOX_SECRET = "sandbox-test-secret"


@pytest.fixture
def sandbox_tenant(runtime: Any) -> str:
    """A tenant on the sandbox helpdesk; returns its slug."""
    from integration import store

    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="demo", name="Demo", helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": SANDBOX_SECRET}, settings={},
                         cipher=runtime.cipher)
    return "demo"


def sandbox_body(
    ticket: dict[str, Any], *, delivery_id: str, event: str = "ticket.created"
) -> bytes:
    """A sandbox webhook body for a normalized ticket dict."""
    return json.dumps({"delivery_id": delivery_id, "event": event, "ticket": ticket}).encode()


def post_sandbox(client: Any, body: bytes, *, secret: str = SANDBOX_SECRET,
                 tenant: str = "demo", **headers: str) -> Any:
    """POST a signed sandbox webhook."""
    from adapters.helpdesk.sandbox import SIGNATURE_HEADER, sign

    all_headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: sign(body, secret)}
    all_headers.update(headers)
    return client.post(f"/webhooks/sandbox/{tenant}", data=body, headers=all_headers)


def make_ticket(**overrides: Any) -> dict[str, Any]:
    """A normalized ticket dict with sensible defaults."""
    ticket: dict[str, Any] = {
        "tenant": "demo", "helpdesk": "sandbox", "id": "1", "subject": "Question",
        "status": "open", "priority": "normal", "channel": "email",
        "created_at": "2026-11-02T09:14:00Z", "updated_at": "2026-11-02T09:14:00Z",
        "requester": {"id": "u1", "email": "dana@bigco.example", "name": "Dana"},
        "messages": [{"id": "m1", "author": "customer", "public": True,
                      "body": "How do I export a report to CSV?",
                      "created_at": "2026-11-02T09:14:00Z"}],
        "tags": [], "assignee": None, "group": None, "custom": {},
    }
    ticket.update(overrides)
    return ticket
