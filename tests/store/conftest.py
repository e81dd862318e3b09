"""Fixtures for the store tests: a migrated database per test, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.helpers import BACKENDS, Store, backend_store


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh migrated database: a SQLite (WAL) file, and PostgreSQL when configured."""
    with backend_store(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A fresh migrated SQLite file, for what only SQLite has (pragmas, the raw file)."""
    with backend_store("sqlite", tmp_path) as opened:
        yield opened
