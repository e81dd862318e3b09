"""Scale-out mode's settings, commands, schedule, readiness and cluster-wide job lock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from integration import store
from integration.cli.root import main
from integration.errors import ConfigurationError
from integration.runtime import Runtime
from integration.scaleout.mode import DELIVER_TASK, PROCESS_BATCH_TASK, PROCESS_TASK, task_queue
from integration.scaleout.tasks import RELAY_TASK, job_task, make_celery, run_job
from integration.store.cluster import job_lock, relay_events
from scheduler import SWEEP_JOB, PeriodicJob, periodic_jobs
from tests.cluster import free_port
from tests.conftest import make_ticket, post_sandbox, sandbox_body
from tests.scaleout.conftest import add_sandbox

POSTGRES = "postgresql+psycopg://escalade@db.example/escalade"


def _config(**overrides: Any) -> dict[str, Any]:
    return {"MODE": "scaleout", "BROKER_URL": "redis://127.0.0.1:6379/0", **overrides}


def test_embedded_mode_queues_nothing() -> None:
    assert task_queue({}, dialect="sqlite") is None
    assert task_queue({"MODE": "embedded"}, dialect="postgresql") is None


@pytest.mark.parametrize(("config", "dialect", "says"), [
    (_config(), "sqlite", "ESCALADE_MODE=scaleout needs PostgreSQL"),
    (_config(BROKER_URL=None), "postgresql", "needs ESCALADE_BROKER_URL"),
    (_config(BROKER_URL="amqp://rabbit"), "postgresql", "ESCALADE_BROKER_URL: expected a redis"),
    (_config(MODE="cluster"), "postgresql", "ESCALADE_MODE: expected embedded or scaleout"),
])
def test_scaleout_refuses_settings_it_cannot_run_on(config: dict[str, Any], dialect: str,
                                                    says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        task_queue(config, dialect=dialect)


def test_the_app_refuses_to_start_scaleout_on_sqlite(tmp_path: Path) -> None:
    config = {**_config(), "DATABASE_URL": f"sqlite:///{tmp_path / 'escalade.db'}",
              "VAR_DIR": tmp_path, "SECRET_KEY": Fernet.generate_key().decode()}
    with pytest.raises(ConfigurationError, match="needs PostgreSQL"):
        Runtime(config=config)


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_worker_and_beat_say_in_one_line_what_to_set(command: str, tmp_path: Path) -> None:
    env = {"ESCALADE_VAR_DIR": str(tmp_path), "ESCALADE_DATABASE_URL": "",
           "ESCALADE_MODE": "", "ESCALADE_BROKER_URL": ""}
    result = CliRunner().invoke(main, [command], env=env)
    assert result.exit_code != 0
    assert "set ESCALADE_MODE=scaleout" in result.output
    env.update(ESCALADE_MODE="scaleout", ESCALADE_BROKER_URL="redis://127.0.0.1:1/0")
    result = CliRunner().invoke(main, [command], env=env)
    assert result.exit_code != 0
    assert "needs PostgreSQL" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_worker_refuses_an_unknown_queue(tmp_path: Path) -> None:
    env = {"ESCALADE_VAR_DIR": str(tmp_path), "ESCALADE_DATABASE_URL": POSTGRES,
           "ESCALADE_MODE": "scaleout", "ESCALADE_BROKER_URL": "redis://127.0.0.1:1/0"}
    result = CliRunner().invoke(main, ["worker", "--queues", "escalade.events,mail"], env=env)
    assert result.exit_code == 2
    assert "--queues" in result.output and "'mail'" in result.output


def test_beat_schedules_every_job_once_per_interval_and_workers_know_each_task() -> None:
    config = _config(SLA_SWEEP_SECONDS=7.0, KB_SYNC_MINUTES=10.0, RELAY_SECONDS=20.0)
    celery = make_celery(config)
    schedule = celery.conf.beat_schedule
    jobs = periodic_jobs(config)
    assert {job.id for job in jobs} >= {SWEEP_JOB, "knowledge_sync", "weekly_digest"}
    for job in jobs:
        entry = schedule[job_task(job.id)]
        assert entry["schedule"] == job.seconds
        # A tick no worker took within its interval is dropped: the next one covers it.
        assert entry["options"]["expires"] == job.seconds
    assert schedule[job_task(SWEEP_JOB)]["schedule"] == 7.0
    assert schedule[job_task("knowledge_sync")]["schedule"] == 600.0
    assert schedule[RELAY_TASK]["schedule"] == 20.0
    registered = set(celery.tasks)
    assert {entry["task"] for entry in schedule.values()} <= registered
    assert {PROCESS_TASK, PROCESS_BATCH_TASK, DELIVER_TASK} <= registered
    celery.close()


def test_knowledge_sync_off_is_not_scheduled() -> None:
    assert "knowledge_sync" not in {job.id for job in periodic_jobs(_config(KB_SYNC_MINUTES=0))}


def test_readyz_checks_the_broker(make_app: Any, redis_url: str) -> None:
    ready = make_app().test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json["status"] == "ready"
    assert ready.json["checks"]["broker"] == {"status": "ok"}

    # The broker down: webhooks are still stored, so the app stays in service, degraded.
    down = make_app(BROKER_URL=f"redis://127.0.0.1:{free_port()}/0").test_client()
    answer = down.get("/readyz")
    assert answer.status_code == 200
    assert answer.json["status"] == "degraded"
    assert answer.json["checks"]["broker"]["status"] == "unavailable"
    assert "127.0.0.1" not in answer.get_data(as_text=True)


def test_embedded_readyz_has_no_broker(app_config: dict[str, Any]) -> None:
    from integration.web import create_app

    store.upgrade(app_config["DATABASE_URL"])
    app = create_app(app_config)
    try:
        answer = app.test_client().get("/readyz").get_json()
        assert answer["status"] == "ready"
        assert "broker" not in answer["checks"]
    finally:
        app.extensions["escalade"].engine.dispose()


def test_a_job_another_worker_runs_is_skipped(runtime: Any) -> None:
    calls: list[object] = []
    job = PeriodicJob(id="probe", name="Probe", seconds=5.0,
                      run=lambda rt, now: calls.append(now))
    with job_lock(runtime.engine, "probe") as mine:
        assert mine
        assert run_job(runtime, job).ran is False
    assert calls == []
    assert run_job(runtime, job).ran is True
    assert len(calls) == 1


def test_the_relay_waits_its_grace_and_does_not_requeue_at_once(
        make_app: Any, clock: Any) -> None:
    app = make_app(BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    runtime = app.extensions["escalade"]
    add_sandbox(runtime)
    posted = post_sandbox(app.test_client(), sandbox_body(make_ticket(), delivery_id="d-1"))
    event_id = posted.json["event_id"]
    grace = timedelta(seconds=30)
    with store.session_scope(runtime.sessions) as s:
        assert relay_events(s, now=clock(), grace=grace) == []
    clock.advance(seconds=31)
    with store.session_scope(runtime.sessions) as s:
        assert relay_events(s, now=clock(), grace=grace) == [event_id]
    with store.session_scope(runtime.sessions) as s:
        # Queued again just now: the next relay leaves it to that task for another grace.
        assert relay_events(s, now=clock(), grace=grace) == []


def test_worker_nice_lowers_its_priority_before_celery_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from celery import Celery

    calls: list[tuple[str, object]] = []

    def nice(increment: int) -> int:
        calls.append(("nice", increment))
        return increment

    monkeypatch.setattr(os, "nice", nice)
    monkeypatch.setattr(Celery, "worker_main",
                        lambda self, argv=None: calls.append(("worker", argv)))
    env = {"ESCALADE_VAR_DIR": str(tmp_path), "ESCALADE_DATABASE_URL": POSTGRES,
           "ESCALADE_MODE": "scaleout", "ESCALADE_BROKER_URL": "redis://127.0.0.1:1/0"}
    result = CliRunner().invoke(main, ["worker", "--nice", "19"], env=env)
    assert result.exit_code == 0, result.output
    assert [kind for kind, _ in calls] == ["nice", "worker"]
    assert calls[0] == ("nice", 19)
    assert CliRunner().invoke(main, ["worker", "--nice", "25"], env=env).exit_code == 2
    calls.clear()
    assert CliRunner().invoke(main, ["worker"], env=env).exit_code == 0
    assert [kind for kind, _ in calls] == ["worker"]  # the default leaves the priority alone


def test_a_delivery_task_stops_after_a_pass_that_was_not_full(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from integration.scaleout import tasks
    from integration.worker import WorkReport

    passes: list[int] = []
    done = iter([tasks.DELIVERY_BATCH, tasks.DELIVERY_BATCH, 3, 0])

    def deliver_outbox(runtime: Any, *, limit: int) -> WorkReport:
        passes.append(limit)
        return WorkReport(delivered=next(done))

    monkeypatch.setattr(tasks, "deliver_outbox", deliver_outbox)
    folds: list[Any] = []

    def fold(runtime: Any) -> int:
        folds.append(runtime)
        return 0

    report = tasks.deliver_all(cast(Any, "runtime"), fold=fold)
    # Two full batches, then one of 3: whatever was due then is delivered, no empty pass.
    assert len(passes) == 3 and report.delivered == 2 * tasks.DELIVERY_BATCH + 3
    assert folds == ["runtime"]
