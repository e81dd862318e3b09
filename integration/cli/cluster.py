"""Scale-out mode's processes: ``escalade worker`` (Celery worker) and ``escalade beat``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from integration.errors import ConfigurationError

__all__ = ["beat", "worker"]


def _scaleout_config() -> dict[str, Any]:
    """The settings, checked for scale-out mode without connecting anywhere."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from integration.config import load_config
    from integration.scaleout.mode import SCALEOUT, check_scaleout, is_scaleout

    config = load_config()
    if not is_scaleout(config):
        raise ConfigurationError(f"ESCALADE_MODE: this command runs in scale-out mode; set "
                                 f"ESCALADE_MODE={SCALEOUT} (and ESCALADE_BROKER_URL)")
    try:
        dialect = make_url(str(config["DATABASE_URL"])).get_backend_name()
    except ArgumentError as err:
        raise ConfigurationError(f"ESCALADE_DATABASE_URL: {err}") from err
    check_scaleout(config, dialect=dialect)
    return config


@click.command()
@click.option("--concurrency", "-c", type=click.IntRange(1, 256), default=2, show_default=True,
              help="Tasks run at once (worker processes).")
@click.option("--queues", "-Q", default=None,
              help="Comma-separated queues to consume (default: all of "
                   "escalade.events, escalade.outbox, escalade.jobs).")
@click.option("--pool", type=click.Choice(["prefork", "threads", "solo"]), default="prefork",
              show_default=True, help="How tasks run at once.")
@click.option("--nice", type=click.IntRange(0, 19), default=0, show_default=True,
              help="Lower this worker's CPU priority (as nice does) on a machine it shares "
                   "with the web process, so a backlog of decisions never slows the "
                   "acknowledgments.")
@click.option("--loglevel", default="INFO", show_default=True)
def worker(concurrency: int, queues: str | None, pool: str, nice: int, loglevel: str) -> None:
    """Scale-out mode: a Celery worker that processes events and delivers the outbox."""
    from celery import signals

    from integration.scaleout.mode import QUEUES
    from integration.scaleout.tasks import ProcessRuntime, make_celery

    config = _scaleout_config()
    chosen = [q.strip() for q in (queues or ",".join(QUEUES)).split(",") if q.strip()]
    unknown = [q for q in chosen if q not in QUEUES]
    if unknown:
        raise click.BadParameter(f"unknown queue {unknown[0]!r}; the queues are "
                                 f"{', '.join(QUEUES)}", param_hint="--queues")
    if nice:
        os.nice(nice)  # inherited by the worker processes Celery forks
    runtime = ProcessRuntime(config)
    # Each worker process loads the reader once, before its first task.
    signals.worker_process_init.connect(lambda **_: runtime().detector, weak=False)
    celery = make_celery(config, runtime=runtime)
    celery.worker_main(["worker", f"--concurrency={concurrency}", f"--pool={pool}",
                        f"--queues={','.join(chosen)}", f"--loglevel={loglevel}"])


@click.command()
@click.option("--schedule-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where beat remembers its last runs (default: VAR_DIR/celerybeat-schedule).")
@click.option("--loglevel", default="INFO", show_default=True)
def beat(schedule_file: Path | None, loglevel: str) -> None:
    """Scale-out mode: Celery beat, queuing the scheduled jobs once per interval (run ONE)."""
    from integration.scaleout.tasks import make_celery

    config = _scaleout_config()
    path = schedule_file or Path(config["VAR_DIR"]) / "celerybeat-schedule"
    path.parent.mkdir(parents=True, exist_ok=True)
    celery = make_celery(config)
    celery.start(["beat", f"--schedule={path}", f"--loglevel={loglevel}"])
