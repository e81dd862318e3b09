"""Running Escalade: ``escalade db upgrade``, ``escalade serve`` and ``escalade work``."""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from integration.cli.common import runtime_of
from integration.cli.dashboard import count_missing
from integration.errors import ConfigurationError

# How long a stop waits for a worker's pass in hand; what is still leased after it is taken
# up again by the next worker once its lease ends, so nothing is lost either way.
SHUTDOWN_SECONDS = 30.0
ACK_SWITCH_SECONDS = 0.0002

__all__ = ["db", "serve", "work"]


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from integration import store
    from integration.config import load_config

    config = load_config()
    Path(config["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    try:
        store.upgrade(config["DATABASE_URL"])
    except (ArgumentError, NoSuchModuleError) as err:
        raise ConfigurationError(f"ESCALADE_DATABASE_URL: {err}") from err
    click.echo(f"database is up to date ({_masked_url(config['DATABASE_URL'])})")
    # Decisions made before the dashboard existed are counted once, here.
    count_missing(click.get_current_context())


def _masked_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers/--no-workers", default=True, help="Run background workers in-process.")
@click.option("--scheduler/--no-scheduler", "with_scheduler", default=True,
              help="Run the SLA scheduler in-process (or alone: python -m scheduler).")
def serve(host: str, port: int, workers: bool, with_scheduler: bool) -> None:
    """Serve the app with in-process workers and scheduler (the embedded default)."""
    from waitress.server import create_server

    from integration.web import create_app
    from integration.worker import Workers
    from scheduler import scheduler_init_app

    app = create_app()
    runtime = app.extensions["escalade"]
    # Worker threads deciding tickets are CPU-bound; with Python's default 5 ms switch
    # interval a webhook thread waits that long for the interpreter after each database
    # call. At 50 webhooks/s with a backlog (bench/ingest.py): 1 ms gave p50 / p99
    # 16.7 / 57 ms, 0.2 ms 12.4 / 45 ms, for about 5% more CPU per event.
    sys.setswitchinterval(ACK_SWITCH_SECONDS)
    if runtime.tasks is not None:
        # Scale-out mode: `escalade worker` and `escalade beat` do the background work.
        workers = with_scheduler = False
    try:
        server = create_server(app, host=host, port=port, threads=8)
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise click.ClickException(f"--host {host} --port {port}: cannot listen there: "
                                   f"{reason}") from err
    served = _served_url(host, port)
    for line in _start_lines(runtime, served):
        click.echo(line)
    sys.stdout.flush()  # shown at once even when the output goes to a log file
    pool = None
    if workers and int(app.config["WORKERS"]) > 0:
        pool = Workers(
            runtime,
            count=int(app.config["WORKERS"]),
            poll_seconds=float(app.config["POLL_SECONDS"]),
        )
        pool.start()
    scheduler = scheduler_init_app(app) if with_scheduler else None
    if scheduler is not None:
        scheduler.start()
    # A service manager or a container stops us with SIGTERM: stop taking requests, let the
    # requests, the events and the deliveries in hand finish, then exit 0.
    previous = signal.signal(signal.SIGTERM, _stop_serving)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        click.echo("stopping: finishing the work in hand")
        sys.stdout.flush()
        server.close()
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        if pool is not None:
            pool.stop(timeout=SHUTDOWN_SECONDS)
        click.echo("stopped")


def _stop_serving(signum: int, frame: object) -> None:
    """SIGTERM: end the serving loop the way Ctrl-C does (waitress finishes its requests)."""
    raise SystemExit(0)


def _served_url(host: str, port: int) -> str:
    # Listening on every interface: this machine is reachable locally on the loopback.
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _start_lines(runtime: Any, served: str) -> list[str]:
    """What ``serve`` says when it starts: where it listens and each webhook URL."""
    from integration import store
    from integration.workspaces.service import public_url, remember_served_url, webhook_url

    remember_served_url(runtime.config, served)
    base = public_url(runtime.config)
    lines = [f"Escalade on {served}/ (matrix {runtime.matrix.version})",
             f"admin: {served}/admin/"]
    with store.session_scope(runtime.sessions) as s:
        tenants = [(t.slug, t.helpdesk) for t in store.list_tenants(s)]
    for slug, helpdesk in tenants[:20]:
        lines.append(f"webhook URL for {slug}: {webhook_url(base, helpdesk, slug)}")
    if len(tenants) > 20:
        lines.append(f"... and {len(tenants) - 20} more workspaces (escalade tenant list)")
    if not runtime.config.get("PUBLIC_URL"):
        lines.append("helpdesks on the internet cannot reach this address: set "
                     "ESCALADE_PUBLIC_URL to one they can (your domain, or a tunnel) before "
                     "registering webhooks")
    return lines


@click.command()
def work() -> None:
    """Process pending events and deliver due outbox rows (on its own thread), then exit."""
    from integration.worker import work_until_idle

    report = work_until_idle(runtime_of(click.get_current_context()))
    click.echo(json.dumps(asdict(report)))
