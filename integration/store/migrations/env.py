"""Alembic environment, driven programmatically by ``integration.store.upgrade``.

``upgrade`` hands over an open connection in ``config.attributes["connection"]``; the
``alembic`` command line works too, given ``-x url=...`` or ``ESCALADE_DATABASE_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from integration.store import tables  # noqa: F401  (registers the tables on Base.metadata)
from integration.store.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against the handed-over connection, or one made from the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "ESCALADE_DATABASE_URL"
    )
    if not url:
        raise SystemExit("give the database as -x url=... or ESCALADE_DATABASE_URL")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
