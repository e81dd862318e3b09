"""The schema: migrations build exactly the models, on a SQLite file tuned for workers."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from integration.errors import ConfigurationError, ValidationError
from integration.store import (
    Base,
    TenantRow,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    session_scope,
    upgrade,
)
from integration.store.db import MIGRATIONS_DIR
from tests.store.helpers import Store, new_tenant, sqlite_url


def test_upgrade_creates_every_table_at_head(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    if store.dialect == "postgresql":
        assert inspect(store.engine).get_columns("outbox")[0]["type"].python_type is int
    assert {"tenants", "inbound_events", "tickets", "decisions", "outbox"} <= tables
    assert current_revision(store.engine) == head_revision() is not None


def test_upgrade_twice_is_harmless(store: Store) -> None:
    new_tenant(store)
    upgrade(store.url)
    with session_scope(store.factory) as s:
        assert s.scalars(select(TenantRow.slug)).all() == ["acme"]


def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert list((MIGRATIONS_DIR / "versions").glob("0001_*.py"))


def test_downgrade_to_base_removes_the_tables(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    upgrade(url)
    downgrade(url, "base")
    engine = make_engine(url)
    try:
        assert "tickets" not in inspect(engine).get_table_names()
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_sqlite_connections_get_wal_foreign_keys_and_busy_timeout(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert busy_timeout is not None and busy_timeout >= 5000


def test_make_engine_creates_the_sqlite_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'x.db'}"
    upgrade(url)
    assert (tmp_path / "deep" / "er" / "x.db").is_file()


def test_foreign_keys_are_enforced(store: Store) -> None:
    from sqlalchemy.exc import IntegrityError

    from integration.store import TicketRow

    with pytest.raises(IntegrityError), session_scope(store.factory) as s:
        s.add(
            TicketRow(
                tenant_id=999, helpdesk="zendesk", external_id="1", data={}, status="open",
                created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
            )
        )


def test_times_come_back_aware_in_utc(store: Store) -> None:
    berlin = timezone(timedelta(hours=1))
    with session_scope(store.factory) as s:
        from integration.store import add_tenant

        add_tenant(
            s, slug="tz", name="Tz", helpdesk="sandbox", base_url=None, secrets={},
            settings={}, cipher=store.cipher, now=datetime(2026, 3, 1, 10, 30, tzinfo=berlin),
        )
    with store.reopened() as again, session_scope(again.factory) as s:
        created = s.scalars(select(TenantRow.created_at)).one()
    assert created == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert created.utcoffset() == timedelta(0)


def test_naive_times_are_refused(store: Store) -> None:
    from sqlalchemy.exc import StatementError

    from integration.store import add_tenant

    with pytest.raises(StatementError) as info, session_scope(store.factory) as s:
        add_tenant(
            s, slug="naive", name="N", helpdesk="sandbox", base_url=None, secrets={},
            settings={}, cipher=store.cipher, now=datetime(2026, 3, 1, 10, 30),
        )
    assert isinstance(info.value.orig, ValidationError)


def test_bad_database_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="database URL"):
        make_engine("not a url")


def test_missing_driver_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no driver"):
        make_engine("postgresql+pg8000://u:p@127.0.0.1/db")


def test_plain_sqlite3_sees_the_same_file(sqlite_store: Store, tmp_path: Path) -> None:
    new_tenant(sqlite_store)
    raw = sqlite3.connect(tmp_path / "var" / "escalade.db")
    try:
        assert raw.execute("SELECT slug FROM tenants").fetchall() == [("acme",)]
    finally:
        raw.close()


@pytest.mark.parametrize(
    "module", ["integration.store", "integration.outbox", "integration.crypto"]
)
def test_every_exported_name_exists(module: str) -> None:
    import importlib

    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(set(imported.__all__))
    for name in imported.__all__:
        assert getattr(imported, name) is not None, name
