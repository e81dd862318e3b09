"""Engines, sessions and migrations: the one place that knows which database we run on.

SQLite (the embedded default) gets WAL, foreign keys and a busy timeout on every connection,
and this process's writers queue for its write lock at one gate (``write_gate``);
PostgreSQL (``ESCALADE_DATABASE_URL``) gets a pool that holds every request thread and a ping
for connections that sat idle (``PING_IDLE_SECONDS``). The schema is owned by the
Alembic migrations next to this module, run programmatically by :func:`upgrade` so it works
from an installed package with no ``alembic.ini``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from integration.errors import ConfigurationError, ValidationError
from integration.store import write_gate

__all__ = [
    "MIGRATIONS_DIR",
    "Base",
    "UTCDateTime",
    "current_revision",
    "downgrade",
    "head_revision",
    "is_unavailable",
    "make_engine",
    "make_session_factory",
    "ping",
    "session_scope",
    "upgrade",
]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Seconds a call waits for another SQLite writer ("database is locked") or for a PostgreSQL
# connection before the store counts as unavailable (ESCALADE_DB_TIMEOUT_SECONDS). Short,
# because a webhook must be answered (503, retry later) well within a helpdesk's timeout.
DEFAULT_TIMEOUT_SECONDS = 5.0

# A pooled server connection is checked with a round trip only after it sat unused this long:
# under load connections come straight back and a ping per request would double the round
# trips of a webhook; after a quiet spell (or a server restart) the check finds a dead one.
PING_IDLE_SECONDS = 1.0
# Pooled server connections kept open: the web server's request threads (8) plus the
# background loops, so a busy minute does not close and reopen connections (a new one costs
# a TCP handshake and authentication).
POOL_SIZE = 12

# Stable constraint names, so migrations can alter them on PostgreSQL and in batch mode.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every Escalade table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; naive values are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; SQLite keeps no offset, so it gets the naive UTC wall time."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValidationError("datetime", f"naive datetime {value!r}; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the backend handed back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_pragmas(busy_timeout_ms: int, gate: write_gate.WriteGate | None) -> Any:
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        _set_pragmas(dbapi_connection, busy_timeout_ms)
        if gate is not None and isinstance(dbapi_connection, write_gate.GatedConnection):
            dbapi_connection.gate = gate

    return on_connect


def _gate_writes(engine: Engine) -> None:
    """Queue this process's writers at the file's gate (``write_gate``)."""

    def before(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        write_gate.before_execute(cursor.connection, statement)

    def after(_conn: Any, cursor: Any, *_args: Any) -> None:
        write_gate.after_execute(cursor.connection)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)


def _set_pragmas(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL makes NORMAL durable across application crashes; only power loss can cost
        # the last transactions, never consistency.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_engine(url: str, *, timeout: float | None = None, **kwargs: Any) -> Engine:
    """Build an engine for ``url``; SQLite files get their folder and the pragmas.

    ``timeout`` (seconds, default 5) bounds how long a call waits for a SQLite lock or a
    PostgreSQL connection before failing with an error :func:`is_unavailable` recognises.
    """
    seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(float(timeout), 0.0)
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise ConfigurationError(f"database URL is not valid: {err}") from err
    is_sqlite = parsed.get_backend_name() == "sqlite"
    gate: write_gate.WriteGate | None = None
    if is_sqlite:
        database = parsed.database or ""
        connect_args = dict(kwargs.get("connect_args") or {})
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            if "factory" not in connect_args:
                gate = write_gate.gate_for(str(path), seconds)
                connect_args["factory"] = write_gate.GatedConnection
        connect_args.setdefault("timeout", seconds)
        kwargs["connect_args"] = connect_args
    else:
        if "poolclass" not in kwargs:  # a caller's own pool (e.g. NullPool) has no size
            kwargs.setdefault("pool_size", POOL_SIZE)
        if parsed.get_backend_name() == "postgresql":
            connect_args = dict(kwargs.get("connect_args") or {})
            # libpq takes whole seconds; 0 would mean "wait forever".
            connect_args.setdefault("connect_timeout", max(1, round(seconds)))
            kwargs["connect_args"] = connect_args
    try:
        engine = create_engine(parsed, **kwargs)
    except ModuleNotFoundError as err:
        raise ConfigurationError(
            f"no driver for {parsed.drivername!r}: install escalade[postgres] for PostgreSQL"
        ) from err
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas(int(seconds * 1000), gate))
        if gate is not None:
            _gate_writes(engine)
    elif not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, PING_IDLE_SECONDS)
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection on checkout when it sat unused for ``idle_seconds``.

    A dead one is replaced before the caller sees it (SQLAlchemy retries the checkout on
    ``DisconnectionError``). One that died within the last second fails its first statement
    instead, which callers already treat as the database being away (and the pool then drops
    every connection it holds).
    """

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or monotonic() - returned < idle_seconds:
            return
        try:
            # The dialect's own ping (outside a transaction, as ``pool_pre_ping`` does it).
            engine.dialect.do_ping(dbapi_connection)
        except Exception as err:  # any failure: this connection is of no use
            raise DisconnectionError(f"pooled connection is dead: {type(err).__name__}") from err


def is_unavailable(err: BaseException) -> bool:
    """True when ``err`` means the database cannot be reached or written right now.

    Connection refused or lost, a PostgreSQL server shutting down, a SQLite lock held past
    the busy timeout, a pool with no connection to give: retry later, nothing is wrong with
    the request. Constraint violations and bad SQL are not outages.
    """
    if isinstance(err, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    return isinstance(err, DBAPIError) and bool(err.connection_invalidated)


def ping(engine: Engine) -> None:
    """Raise unless the database takes a write now (connects; on SQLite, gets the lock)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # Reads go on while another process holds the write lock; a webhook needs to
            # write, so ask for the lock (and give it back at once).
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            connection.exec_driver_sql("ROLLBACK")
        else:
            connection.exec_driver_sql("SELECT 1")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def upgrade(url: str | Engine, revision: str = "head") -> None:
    """Bring the schema at ``url`` to ``revision`` (``alembic upgrade head``)."""
    _migrate(url, "upgrade", revision)


def downgrade(url: str | Engine, revision: str) -> None:
    """Take the schema at ``url`` back to ``revision`` (``base`` drops every table)."""
    _migrate(url, "downgrade", revision)


def _migrate(url: str | Engine, direction: str, revision: str) -> None:
    from alembic import command

    engine = make_engine(url) if isinstance(url, str) else url
    try:
        with engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            getattr(command, direction)(config, revision)
    finally:
        if isinstance(url, str):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None before the first upgrade."""
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest migration shipped with this package."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config
