"""Scale-out fixtures: scale-out web apps on a PostgreSQL schema and the test broker.

The broker, the settings and the Celery workers come from ``tests/cluster.py`` (shared with
the app suite's ``scaleout`` backend); ``redis_url`` is the session's broker
(``tests/conftest.py``). Without PostgreSQL or a redis-server the tests skip, saying what to
install or set. Time moves by the test's clock (``Clock``), never by sleeping.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from integration import store
from tests.cluster import scaleout_settings
from tests.conftest import SANDBOX_SECRET
from tests.store.helpers import PG_ENV, PG_SKIP, T0


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
    with scaleout_settings(redis_url, tmp_path) as config:
        yield config


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
