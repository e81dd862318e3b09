"""PostgreSQL: the portable choices hold there (the full suite also runs on it when set)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def test_a_pooled_connection_killed_while_idle_is_replaced_before_use(
        pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from integration.store import db

    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 0.05)
    engine = db.make_engine(pg_store.url)
    try:
        assert engine.pool.size() == db.POOL_SIZE  # type: ignore[attr-defined]
        with engine.connect() as c:
            first = c.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        # The server ends the connection while it sits in the pool (a restart, a timeout).
        with pg_store.engine.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({first})")
            admin.commit()
        time.sleep(0.1)
        with engine.connect() as c:  # checked on checkout: no error reaches the caller
            second = c.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        assert second != first
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged_again(
        pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from integration.store import db

    monkeypatch.setattr(db, "PING_IDLE_SECONDS", 60.0)
    engine = db.make_engine(pg_store.url)
    pings: list[object] = []
    real = engine.dialect.do_ping

    def counted(connection: Any) -> bool:
        pings.append(connection)
        return bool(real(connection))

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    try:
        for _ in range(5):
            with engine.connect() as c:
                c.exec_driver_sql("SELECT 1")
        assert pings == []  # a webhook's checkout costs no extra round trip under load
    finally:
        engine.dispose()
