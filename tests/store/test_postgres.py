"""PostgreSQL: the portable choices hold there (the full suite also runs on it when set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import DateTime, inspect, select

from integration.store import TenantRow, session_scope
from tests.store.helpers import PG_ENV, PG_SKIP, T0, Store, backend_store, new_tenant

pytestmark = pytest.mark.skipif(not os.environ.get(PG_ENV), reason=PG_SKIP)


@pytest.fixture
def pg_store(tmp_path: Path) -> Iterator[Store]:
    with backend_store("postgresql", tmp_path) as opened:
        yield opened


def test_postgresql_gets_timestamptz_bigint_ids_and_json(pg_store: Store) -> None:
    assert pg_store.dialect == "postgresql"
    columns = {c["name"]: c for c in inspect(pg_store.engine).get_columns("outbox")}
    assert str(columns["id"]["type"]) == "BIGINT"
    next_attempt_at = columns["next_attempt_at"]["type"]
    assert isinstance(next_attempt_at, DateTime) and next_attempt_at.timezone is True
    assert str(columns["actions"]["type"]) == "JSON"


def test_postgresql_returns_aware_utc_whatever_the_session_zone(pg_store: Store) -> None:
    new_tenant(pg_store)
    with session_scope(pg_store.factory) as s:
        s.connection().exec_driver_sql("SET TIME ZONE 'America/New_York'")
        created = s.scalars(select(TenantRow.created_at)).one()
    assert created == T0
    assert created.tzinfo is UTC or created.utcoffset() == datetime.now(UTC).utcoffset()
