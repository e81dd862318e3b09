"""Builders shared by the store and outbox tests: a migrated database and model objects."""

from __future__ import annotations

import atexit
import functools
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from integration.crypto import SecretCipher, generate_key
from integration.models import (
    Account,
    Author,
    Category,
    Channel,
    Decision,
    Message,
    Person,
    Priority,
    Route,
    RuleHit,
    Status,
    Ticket,
    Tier,
)
from integration.store import (
    TenantRow,
    add_tenant,
    make_engine,
    make_session_factory,
    session_scope,
    upgrade,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

PG_ENV = "ESCALADE_TEST_DATABASE_URL"
PG_SKIP = f"set {PG_ENV}=postgresql+psycopg://... to run against PostgreSQL (CI does)"
# The whole store and outbox suite runs on each backend; PostgreSQL only when configured
# (tests/store/test_postgres.py reports the skip once instead of once per test).
BACKENDS = ("sqlite", "postgresql") if os.environ.get(PG_ENV) else ("sqlite",)


@dataclass(frozen=True, kw_only=True)
class Store:
    """A migrated database with its engine, session factory and cipher."""

    url: str
    engine: Engine
    factory: sessionmaker[Session]
    cipher: SecretCipher

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def reopened(self) -> Iterator[Store]:
        """A new engine and factory on the same database, as after a process restart."""
        engine = make_engine(self.url)
        try:
            yield Store(
                url=self.url, engine=engine, factory=make_session_factory(engine),
                cipher=self.cipher,
            )
        finally:
            engine.dispose()


def sqlite_url(tmp_path: Path) -> str:
    """A file-based SQLite database inside the test's tmp dir."""
    return f"sqlite:///{tmp_path / 'var' / 'escalade.db'}"


def new_tenant(store: Store, slug: str = "acme", **overrides: Any) -> int:
    """Add a Zendesk tenant and return its id."""
    with session_scope(store.factory) as s:
        row: TenantRow = add_tenant(
            s,
            slug=slug,
            name=overrides.pop("name", slug.title()),
            helpdesk=overrides.pop("helpdesk", "zendesk"),
            base_url=overrides.pop("base_url", f"https://{slug}.zendesk.com/"),
            secrets=overrides.pop(
                "secrets", {"api_token": f"tok-{slug}-s3cr3t-value", "webhook_secret": "whsec"}
            ),
            settings=overrides.pop("settings", {"tier_field_id": 360001}),
            cipher=store.cipher,
            now=T0,
            **overrides,
        )
        return row.id


def make_ticket(
    ticket_id: str = "4711",
    *,
    tenant: str = "acme",
    email: str | None = "ops@bigco.com",
    account_id: str | None = "c9",
    status: Status = Status.OPEN,
    created_at: datetime = T0,
    body: str = "We were charged twice this month.",
) -> Ticket:
    """A small normalized ticket."""
    return Ticket(
        tenant=tenant,
        helpdesk="zendesk",
        id=ticket_id,
        subject=f"Ticket {ticket_id}",
        status=status,
        priority=Priority.NORMAL,
        channel=Channel.EMAIL,
        created_at=created_at,
        updated_at=created_at + timedelta(minutes=5),
        requester=Person(id=f"u-{email}", email=email, name="Dana"),
        account=(
            Account(id=account_id, name="BigCo", plan="enterprise", arr=180000.0, health=0.35)
            if account_id
            else None
        ),
        messages=(
            Message(id="m1", author=Author.CUSTOMER, body=body, created_at=created_at),
        ),
    )


def make_decision(ticket_id: str = "4711", *, tier: Tier = Tier.TWO) -> Decision:
    """A decision citing two rules."""
    return Decision(
        ticket_id=ticket_id,
        tier=tier,
        priority=Priority.HIGH,
        category=Category.BILLING,
        sentiment=-0.4,
        triggers=("refund",),
        rules=(
            RuleHit(rule_id="tier2.category", reason="billing issues need an agent"),
            RuleHit(rule_id="bump.at_risk", reason="enterprise account at risk"),
        ),
        matrix_version="sha256:abc123",
        sla_due_at=T0 + timedelta(hours=4),
        route=Route(group="billing", reason="category billing"),
    )


@contextmanager
def backend_store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated database of ``backend``: a copy of a SQLite file, or a throwaway schema."""
    if backend == "sqlite":
        target = tmp_path / "var" / "escalade.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_template(), target)
        opened = _opened(sqlite_url(tmp_path))
        try:
            yield opened
        finally:
            opened.engine.dispose()
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_SKIP)
    script = _pg_script(base)
    schema = _new_schema(base)
    opened = _opened(_schema_url(base, schema))
    try:
        with opened.engine.begin() as connection:
            connection.exec_driver_sql(script)
        yield opened
    finally:
        opened.engine.dispose()
        _drop_schema(base, schema)


def _opened(url: str) -> Store:
    engine = make_engine(url)
    return Store(
        url=url,
        engine=engine,
        factory=make_session_factory(engine),
        cipher=SecretCipher([generate_key()]),
    )


# Running the migrations costs about a second a test (more on PostgreSQL). Each test process
# runs them once: SQLite into a file every test copies; PostgreSQL into a schema while the
# statements they send are recorded, and every test's schema gets those statements at once.
@functools.cache
def _sqlite_template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="escalade-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "escalade.db"
    upgrade(f"sqlite:///{path}")
    return path


@functools.cache
def _pg_script(base: str) -> str:
    schema = _new_schema(base)
    engine = make_engine(_schema_url(base, schema))
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        # Parameterized statements only read (the data migrations find no rows to change).
        if not parameters and not statement.lstrip().upper().startswith("SELECT"):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
        _drop_schema(base, schema)
    return ";\n".join(sent)


def _new_schema(base: str) -> str:
    schema = f"escalade_test_{secrets.token_hex(6)}"
    _as_admin(base, f'CREATE SCHEMA "{schema}"')
    return schema


def _schema_url(base: str, schema: str) -> str:
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _drop_schema(base: str, schema: str) -> None:
    _as_admin(base, f'DROP SCHEMA "{schema}" CASCADE')


def _as_admin(base: str, statement: str) -> None:
    admin = make_engine(base)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(statement)
    finally:
        admin.dispose()
