"""The database away is a 503 with Retry-After, two log lines per outage, and nothing lost.

On SQLite another connection holds the write lock past the busy timeout; on PostgreSQL (when
ESCALADE_TEST_DATABASE_URL is set) a relay between the app and the server is cut, which is
what the app sees when the server stops.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event, func, make_url, select

from integration import store
from integration.web import create_app
from integration.worker import Workers
from tests.conftest import SANDBOX_SECRET, make_ticket, post_sandbox, sandbox_body
from tests.fuzz.targets import SLACK_SECRET, sign_slack
from tests.outage import PostgresProxy, sqlite_locked
from tests.store.helpers import PG_ENV, PG_SKIP, backend_store

Outage = Callable[[], AbstractContextManager[None]]


@pytest.fixture(params=["sqlite", "postgresql"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Outage]]:
    """An app with a sandbox tenant, and a way to take its database away for a while."""
    if request.param == "postgresql" and not os.environ.get(PG_ENV):
        pytest.skip(PG_SKIP)
    with backend_store(request.param, tmp_path) as opened:
        opened.engine.dispose()
        url = opened.url
        proxy: PostgresProxy | None = None
        if request.param == "postgresql":
            parsed = make_url(url)
            proxy = PostgresProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
            proxy.restore()
            url = proxy.url(url)
        app = create_app({"VAR_DIR": tmp_path / "var", "DATABASE_URL": url, "WORKERS": 0,
                          "SECRET_KEY": Fernet.generate_key().decode(), "LOG_LEVEL": "INFO",
                          "DB_TIMEOUT_SECONDS": 0.3, "SLACK_SIGNING_SECRET": SLACK_SECRET})
        runtime = app.extensions["escalade"]
        with store.session_scope(runtime.sessions) as s:
            store.add_tenant(s, slug="demo", name="Demo", helpdesk="sandbox", base_url=None,
                             secrets={"webhook_secret": SANDBOX_SECRET}, settings={},
                             cipher=runtime.cipher)

        @contextmanager
        def away() -> Iterator[None]:
            if proxy is None:
                with sqlite_locked(url):
                    yield
                return
            proxy.cut()
            try:
                yield
            finally:
                proxy.restore()

        try:
            yield app, away
        finally:
            runtime.engine.dispose()
            if proxy is not None:
                proxy.cut()


def _events(runtime: Any) -> set[str]:
    with store.session_scope(runtime.sessions) as s:
        return set(s.scalars(select(store.InboundEventRow.delivery_id)))


def _post(client: Any, n: int) -> Any:
    return post_sandbox(client, sandbox_body(make_ticket(id=str(n)), delivery_id=f"d{n}"))


def test_webhooks_get_503_while_the_database_is_away_and_202_after(
    outage: tuple[Any, Outage], caplog: pytest.LogCaptureFixture
) -> None:
    app, away = outage
    runtime, client = app.extensions["escalade"], app.test_client()
    gate = app.extensions["escalade.store_gate"]
    assert _post(client, 1).status_code == 202
    caplog.clear()
    with caplog.at_level(logging.INFO), away():
        answers = [_post(client, n) for n in range(2, 12)]
        health = client.get("/healthz")
        ready = client.get("/readyz")
        browser = client.get("/", headers={"Accept": "text/html"})
    assert [a.status_code for a in answers] == [503] * 10
    assert all(a.headers["Retry-After"] == "10" for a in answers)
    assert "database is unavailable" in answers[0].get_json()["error"]
    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["database"]["status"] == "unavailable"
    assert browser.status_code == 503 and "Temporarily unavailable" in browser.text
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "web: database unavailable"]
    assert all(r.exc_info is None for r in caplog.records)

    gate.probe_every = 0.0  # the next request checks at once instead of in 2 s
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert _post(client, 12).status_code == 202
    assert [r.getMessage().split(" after")[0] for r in caplog.records] == [
        "web: database is back"]
    # Acknowledged means stored; everything answered 503 is the helpdesk's to send again.
    assert _events(runtime) == {"d1", "d12"}


def test_a_slack_click_while_the_database_is_away_is_a_503(
    outage: tuple[Any, Outage]
) -> None:
    app, away = outage
    value = json.dumps({"dedupe_key": "demo:sandbox:1:tier_3", "ticket_key": "demo:sandbox:1"})
    payload = {"type": "block_actions", "team": {"id": "T0"}, "user": {"id": "U0"},
               "response_url": "https://hooks.slack.com/actions/T0/1/x",
               "actions": [{"action_id": "escalade_acknowledge", "value": value}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    with away():
        answer = app.test_client().post("/slack/events", data=body, headers=sign_slack(body),
                                        content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "10"


def test_healthz_touches_no_database(outage: tuple[Any, Outage]) -> None:
    app, _ = outage
    runtime = app.extensions["escalade"]
    checkouts: list[object] = []

    def count(*args: object) -> None:
        checkouts.append(args)

    event.listen(runtime.engine, "checkout", count)
    try:
        assert app.test_client().get("/healthz").status_code == 200
        assert checkouts == []
        assert app.test_client().get("/readyz").status_code == 200
        assert checkouts  # the readiness check does ask the database
    finally:
        event.remove(runtime.engine, "checkout", count)


def test_readyz_says_when_migrations_are_behind(outage: tuple[Any, Outage]) -> None:
    app, _ = outage
    runtime = app.extensions["escalade"]
    store.downgrade(runtime.engine, "0007")
    body = app.test_client().get("/readyz").get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "migrations pending"
    assert body["checks"]["database"]["migration"] == "0007"


def test_workers_wait_out_the_outage_and_lose_nothing(
    outage: tuple[Any, Outage], caplog: pytest.LogCaptureFixture
) -> None:
    app, away = outage
    runtime, client = app.extensions["escalade"], app.test_client()
    for n in range(1, 4):
        assert _post(client, n).status_code == 202
    pool = Workers(runtime, count=1, poll_seconds=0.05)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="integration"), away():
        pool.start()
        deadline = time.monotonic() + 20
        while not pool.gate.down and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.gate.down
        time.sleep(0.5)  # a few rounds of backing off, still one log line
    try:
        deadline = time.monotonic() + 60
        while _finished(runtime) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        pool.stop()
    with store.session_scope(runtime.sessions) as s:
        statuses = sorted(s.scalars(select(store.InboundEventRow.status)))
        decided = s.scalar(select(func.count()).select_from(store.DecisionRow))
    assert statuses == ["done"] * 3
    assert decided == 3
    outage_lines = [r.getMessage() for r in caplog.records
                    if r.name == "integration.availability"]
    assert len(outage_lines) == 2, outage_lines
    assert outage_lines[0].startswith("workers: database unavailable")
    assert outage_lines[1].startswith("workers: database is back")
    assert not [r for r in caplog.records if r.exc_info]


def _finished(runtime: Any) -> int:
    with store.session_scope(runtime.sessions) as s:
        return s.scalar(select(func.count()).select_from(store.InboundEventRow).where(
            store.InboundEventRow.status == "done")) or 0


def test_the_sla_scheduler_logs_an_outage_once_not_a_traceback_per_sweep(
    outage: tuple[Any, Outage], caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import timedelta

    from integration.worker import drain
    from scheduler import SWEEP_JOB, build_scheduler

    app, away = outage
    runtime = app.extensions["escalade"]
    assert _post(app.test_client(), 1).status_code == 202
    drain(runtime)
    # A month on, the ticket's clock is due: each sweep has a write to make.
    later = runtime.now() + timedelta(days=30)
    scheduler = build_scheduler(runtime, sweep_seconds=60, app=app, clock=lambda: later)
    sweep = scheduler.get_job(SWEEP_JOB).func
    caplog.clear()
    with caplog.at_level(logging.INFO), away():
        for _ in range(3):
            assert sweep().due == 0  # skipped, not raised
    assert sweep().due >= 1  # back: the next sweep does its work and says so once
    lines = [r.getMessage() for r in caplog.records if r.name == "integration.availability"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("SLA scheduler: database unavailable")
    assert lines[1].startswith("SLA scheduler: database is back")
    assert not [r for r in caplog.records if r.exc_info]
