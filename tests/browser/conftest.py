"""Browser fixtures: one demo server per session, a fresh chromium profile per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.live import DemoServer, browser_missing, chromium_context, demo_server


@pytest.fixture(scope="session")
def live_server() -> Iterator[DemoServer]:
    """The app on 127.0.0.1 with the demo workspace seeded and an admin."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    with demo_server() as server:
        yield server


@pytest.fixture
def browser_page(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh chromium profile; ``@pytest.mark.viewport(w, h)`` sizes it."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    marker = request.node.get_closest_marker("viewport")
    width, height = marker.args if marker else (1280, 900)
    with chromium_context(width=width, height=height) as context:
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``viewport`` marker."""
    config.addinivalue_line("markers", "viewport(width, height): browser viewport size")
