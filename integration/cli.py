"""The ``escalade`` command."""

from __future__ import annotations

import gc
import json
import secrets
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from integration.errors import ConfigurationError, ValidationError
from integration.tenants import REQUIRED_SECRETS

__all__ = ["main"]


def _runtime(ctx: click.Context) -> Any:
    from integration.config import load_config
    from integration.runtime import Runtime

    if "runtime" not in ctx.meta:
        runtime = Runtime(config=load_config())
        ctx.meta["runtime"] = runtime
        # Close pooled connections when the command ends, not when the process is collected.
        ctx.find_root().call_on_close(runtime.engine.dispose)
    return ctx.meta["runtime"]


@click.group()
def main() -> None:
    """Escalade: escalation management for Zendesk, Freshdesk and Intercom."""


# --- database ---------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    from integration import store
    from integration.config import load_config

    config = load_config()
    Path(config["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    store.upgrade(config["DATABASE_URL"])
    click.echo(f"database is up to date ({_masked_url(config['DATABASE_URL'])})")


def _masked_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- serving ----------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers/--no-workers", default=True, help="Run background workers in-process.")
@click.option("--scheduler/--no-scheduler", "with_scheduler", default=True,
              help="Run the SLA scheduler in-process (or alone: python -m scheduler).")
def serve(host: str, port: int, workers: bool, with_scheduler: bool) -> None:
    """Serve the app with in-process workers and scheduler (the embedded default)."""
    from waitress import serve as waitress_serve

    from integration.app import create_app
    from integration.worker import Workers
    from scheduler import scheduler_init_app

    app = create_app()
    runtime = app.extensions["escalade"]
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
    click.echo(f"Escalade on http://{host}:{port}/ (matrix {runtime.matrix.version})")
    try:
        waitress_serve(app, host=host, port=port, threads=8)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        if pool is not None:
            pool.stop()


@main.command()
def work() -> None:
    """Process pending events and deliver due outbox rows (on its own thread), then exit."""
    from integration.worker import work_until_idle

    report = work_until_idle(_runtime(click.get_current_context()))
    click.echo(json.dumps(asdict(report)))


# --- demo -------------------------------------------------------------------------------


@main.command()
@click.option("--reset", is_flag=True, help="Remove the demo workspace first.")
def demo(reset: bool) -> None:
    """Seed the sandbox workspace and replay the sample tickets through the real pipeline."""
    from integration.demo.seed import seed_demo

    report = seed_demo(_runtime(click.get_current_context()), reset=reset)
    click.echo(
        f"demo workspace: {report['tickets']} tickets sent, {report['accepted']} new, "
        f"{report['decided']} decided, {report['delivered']} write-backs delivered"
    )


# --- history import ---------------------------------------------------------------------


@main.command()
@click.option("--tenant", "slug", required=True, help="Tenant slug (see `escalade tenant list`).")
@click.option("--days", default=60, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Import tickets changed in the last N days.")
@click.option("--restart", is_flag=True, help="Start over instead of resuming an unfinished run.")
@click.option("--max-tries", default=5, show_default=True, type=click.IntRange(min=1),
              help="Rate-limited tries at one page before the run is marked failed.")
def backfill(slug: str, days: float, restart: bool, max_tries: int) -> None:
    """Import past tickets from the tenant's helpdesk; resumable, never writes back."""
    from integration import store
    from integration.backfill import TerminalProgress, run_backfill
    from integration.errors import DeliveryError

    runtime = _runtime(click.get_current_context())
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        if tenant is None:
            raise click.ClickException(f"no tenant {slug!r}")
        s.expunge(tenant)
    progress = TerminalProgress()
    try:
        report = run_backfill(
            runtime.sessions, runtime.adapter_for(tenant), tenant_id=tenant.id, days=days,
            restart=restart, max_tries=max_tries, progress=progress,
        )
    except (DeliveryError, ValidationError) as err:
        message = f"backfill stopped, run the same command to resume: {err}"
        raise click.ClickException(message) from err
    except NotImplementedError as err:
        raise click.ClickException(str(err)) from err
    finally:
        progress.close()
    click.echo(report.summary())
    if report.status is not store.BackfillStatus.DONE:
        raise click.ClickException("backfill did not finish; run the same command to resume")


# --- triage -----------------------------------------------------------------------------


def _matrix(path: str | None) -> Any:
    from integration.matrix import MatrixError, default_matrix, load_matrix

    try:
        return load_matrix(path) if path else default_matrix()
    except MatrixError as err:
        raise click.ClickException(str(err)) from err


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise click.ClickException(f"{path}: cannot read: {err}") from err


def _tickets(lines: list[str], *, source: str) -> tuple[list[Any], list[str]]:
    """Parse every line first: one bad line stops the command before anything is written."""
    from integration.triage import parse_lines

    tickets, errors = parse_lines(lines, source=source)
    if errors:
        for error in errors[:20]:
            click.echo(str(error), err=True)
        more = " (first 20 shown)" if len(errors) > 20 else ""
        raise click.ClickException(f"{len(errors)} bad line(s){more}; nothing written")
    return tickets, [line for line in lines if line.strip()]




@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--matrix", "matrix_path", type=click.Path(exists=True, dir_okay=False),
              help="Matrix file (default: the packaged default.yaml).")
def triage(file: str | None, matrix_path: str | None) -> None:
    """Read normalized tickets (JSONL, FILE or stdin), write one decision per line."""
    from integration.pipeline import build_detector
    from integration.triage import triage_tickets

    matrix = _matrix(matrix_path)
    if file and file != "-":
        tickets, _ = _tickets(_read_lines(file), source=file)
    else:
        tickets, _ = _tickets(sys.stdin.read().splitlines(), source="<stdin>")
    detector = build_detector(matrix)
    # The parsed tickets and the loaded model live until exit: keep the collector from
    # re-scanning them on every generation-2 pass.
    gc.freeze()
    out = sys.stdout
    for decision in triage_tickets(tickets, matrix=matrix, detector=detector,
                                   now=datetime.now(UTC)):
        out.write(json.dumps(decision.to_dict(), ensure_ascii=False) + "\n")


@main.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--matrix", "matrix_path", type=click.Path(exists=True, dir_okay=False),
              help="Matrix file (default: the packaged default.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--misses", is_flag=True, help="Also list every ticket that was decided wrong.")
def eval_command(file: str, matrix_path: str | None, as_json: bool, misses: bool) -> None:
    """Score triage on a labeled JSONL file (expected.category / .tier / .complaint)."""
    from integration.evaluation import Expected, evaluate_decisions, format_report
    from integration.pipeline import build_detector
    from integration.triage import triage_tickets

    matrix = _matrix(matrix_path)
    tickets, lines = _tickets(_read_lines(file), source=file)
    expected = [Expected.from_dict(json.loads(line).get("expected")) for line in lines]
    decisions = triage_tickets(tickets, matrix=matrix, detector=build_detector(matrix),
                               now=datetime.now(UTC))
    report = evaluate_decisions(zip(expected, decisions, strict=True))
    if as_json:
        if not misses:
            report = {k: v for k, v in report.items() if k != "misses"}
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(format_report(report))
    if misses:
        for miss in report["misses"]:
            click.echo(json.dumps(miss))


# --- matrix -----------------------------------------------------------------------------


@main.group()
def matrix() -> None:
    """The escalation matrix."""


@matrix.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def matrix_check(file: str) -> None:
    """Validate a matrix file; errors name file, line and field."""
    from integration.matrix import check_file, load_matrix

    issues = check_file(file)
    if issues:
        for issue in issues:
            click.echo(str(issue), err=True)
        raise click.ClickException(f"{file}: {len(issues)} problem(s)")
    click.echo(f"{file}: valid (version {load_matrix(file).version})")


# --- tenants ----------------------------------------------------------------------------


@main.group()
def tenant() -> None:
    """Helpdesk connections (headless install)."""


@tenant.command("add")
@click.argument("slug")
@click.option("--helpdesk", required=True, type=click.Choice(sorted(REQUIRED_SECRETS)))
@click.option("--name", default=None, help="Display name (default: the slug).")
@click.option("--base-url", default=None, help="e.g. https://acme.zendesk.com (or a proxy).")
@click.option("--email", default=None, help="API user e-mail (Zendesk token auth).")
@click.option("--api-key", default=None, envvar="ESCALADE_TENANT_API_KEY",
              help="Freshdesk API key (or set ESCALADE_TENANT_API_KEY).")
@click.option("--access-token", default=None, envvar="ESCALADE_TENANT_ACCESS_TOKEN",
              help="Intercom access token (or set ESCALADE_TENANT_ACCESS_TOKEN).")
@click.option("--api-token", default=None, envvar="ESCALADE_TENANT_API_TOKEN",
              help="API token (or set ESCALADE_TENANT_API_TOKEN).")
@click.option("--webhook-secret", default=None, envvar="ESCALADE_TENANT_WEBHOOK_SECRET",
              help="Webhook signing secret; generated and printed once when omitted.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Adapter option, e.g. tier_field_id=360001 or bot_user_id=42 (repeatable).")
def tenant_add(slug: str, helpdesk: str, name: str | None, base_url: str | None,
               email: str | None, api_key: str | None, access_token: str | None,
               api_token: str | None, webhook_secret: str | None,
               options: tuple[str, ...]) -> None:
    """Connect a helpdesk for a tenant; secrets are encrypted at rest."""
    from integration import store
    from integration.cli_connect import parse_options
    from integration.tenants import validate_connection

    runtime = _runtime(click.get_current_context())
    generated = webhook_secret is None
    webhook_secret = webhook_secret or secrets.token_urlsafe(32)
    secret_values = {"webhook_secret": webhook_secret}
    if email:
        secret_values["email"] = email
    for key, value in (("api_token", api_token), ("api_key", api_key),
                       ("access_token", access_token)):
        if value:
            secret_values[key] = value
    settings = parse_options(options)
    calendar = settings.get("calendar")
    if calendar is not None and calendar not in runtime.matrix.calendars:
        known = ", ".join(sorted(runtime.matrix.calendars)) or "none"
        raise click.BadParameter(
            f"calendar {calendar!r} is not in the matrix (calendars: {known})",
            param_hint="--option calendar",
        )
    try:
        validate_connection(slug=slug, helpdesk=helpdesk, base_url=base_url,
                            secrets=secret_values)
    except ValidationError as err:
        raise click.UsageError(str(err)) from err
    with store.session_scope(runtime.sessions) as s:
        if store.get_tenant(s, slug) is not None:
            raise click.ClickException(f"tenant {slug!r} already exists")
        store.add_tenant(s, slug=slug, name=name or slug, helpdesk=helpdesk, base_url=base_url,
                         secrets=secret_values, settings=settings, cipher=runtime.cipher)
    public = str(runtime.config["PUBLIC_URL"]).rstrip("/")
    click.echo(f"tenant {slug!r} added ({helpdesk})")
    click.echo(f"webhook URL: {public}/webhooks/{helpdesk}/{slug}")
    if generated:
        click.echo(f"webhook secret (shown once): {webhook_secret}")


@tenant.command("list")
def tenant_list() -> None:
    """List tenants (secrets never shown)."""
    from integration import store

    runtime = _runtime(click.get_current_context())
    with store.session_scope(runtime.sessions) as s:
        rows = store.list_tenants(s)
        if not rows:
            click.echo("no tenants")
        for row in rows:
            click.echo(f"{row.slug}\t{row.helpdesk}\t{row.base_url or '-'}\t{row.name}")


@tenant.command("remove")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def tenant_remove(slug: str, yes: bool) -> None:
    """Remove a tenant and all its data."""
    from integration import store

    if not yes:
        click.confirm(f"Remove tenant {slug!r} and all its tickets and decisions?", abort=True)
    runtime = _runtime(click.get_current_context())
    with store.session_scope(runtime.sessions) as s:
        if not store.remove_tenant(s, slug):
            raise click.ClickException(f"no tenant {slug!r}")
    click.echo(f"tenant {slug!r} removed")


def _register_connect() -> None:
    from integration.cli_admin import register as register_admin
    from integration.cli_bugs import register as register_bugs
    from integration.cli_connect import register

    register(tenant, _runtime)
    register_admin(main, _runtime)
    register_bugs(main)


_register_connect()


def run() -> None:
    """Entry point that turns configuration errors into a clean exit."""
    try:
        main(standalone_mode=True)
    except ConfigurationError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    run()
