"""The ``escalade`` command.

Every error the admin can cause is one line on stderr naming the option (or file) and what is
wrong, exit code 2 for bad input and 1 for a failure elsewhere; never a traceback.
"""

from __future__ import annotations

import errno
import gc
import json
import logging
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from integration.errors import ConfigurationError, EscaladeError, ValidationError
from integration.setup import CREDENTIALS, HELPDESKS

__all__ = ["bad_input", "main"]


def _runtime(ctx: click.Context) -> Any:
    from sqlalchemy.exc import ArgumentError

    from integration.config import load_config
    from integration.runtime import Runtime

    if "runtime" not in ctx.meta:
        config = load_config()
        try:
            runtime = Runtime(config=config)
        except ArgumentError as err:
            raise ConfigurationError(f"ESCALADE_DATABASE_URL: {err}") from err
        ctx.meta["runtime"] = runtime
        # Close pooled connections when the command ends, not when the process is collected.
        ctx.find_root().call_on_close(runtime.engine.dispose)
    return ctx.meta["runtime"]


def bad_input(err: ValidationError, flags: Mapping[str, str] | None = None) -> click.ClickException:
    """A ``ValidationError`` as one CLI line naming the option: ``--api-token: ...``."""
    field = err.field
    if field.startswith("options."):
        where = f"--option {field.removeprefix('options.')}"
    else:
        where = (flags or {}).get(field) or (flags or {}).get(field.split(".")[0]) or field
    line = f"line {err.line}: " if err.line is not None else ""
    found = click.ClickException(f"{where}: {line}{err.message}")
    found.exit_code = 2
    return found


def _one_line(text: str) -> str:
    return " ".join(text.split())


class EscaladeGroup(click.Group):
    """The root command: errors are one line (usage included), never a traceback."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """Run the command; in standalone mode every error becomes one line on stderr."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as err:
            where = f" (see {err.ctx.command_path} --help)" if err.ctx is not None else ""
            _fail(err.format_message() + where, err.exit_code)
        except click.ClickException as err:
            _fail(err.format_message(), err.exit_code)
        except click.Abort:
            _fail("aborted", 1)
        except ValidationError as err:
            _fail(bad_input(err).format_message(), 2)
        except EscaladeError as err:
            _fail(str(err), 2 if isinstance(err, ConfigurationError) else 1)
        except _database_errors() as err:
            _fail(_database_message(err), 1)
        except OSError as err:
            if err.errno == errno.EPIPE:
                sys.exit(1)
            _fail(f"{getattr(err, 'filename', None) or 'system'}: {err.strerror or err}", 1)
        sys.exit(result if isinstance(result, int) else 0)


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {_one_line(message)}", err=True)
    sys.exit(code)


def _database_errors() -> tuple[type[Exception], ...]:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    return (OperationalError, ProgrammingError)


def _database_message(err: Exception) -> str:
    original = str(getattr(err, "orig", None) or err).splitlines()[0]
    if "no such table" in original or "does not exist" in original:
        return f"the database has no tables yet ({original}): run `escalade db upgrade`"
    return f"database: {original} (check ESCALADE_DATABASE_URL, then `escalade db upgrade`)"


@click.group(cls=EscaladeGroup)
def main() -> None:
    """Escalade: escalation management for Zendesk, Freshdesk and Intercom."""


# --- database ---------------------------------------------------------------------------


@main.group()
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


def _masked_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- serving ----------------------------------------------------------------------------


@main.command()
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
    try:
        server.run()
    finally:
        server.close()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        if pool is not None:
            pool.stop()


def _served_url(host: str, port: int) -> str:
    # Listening on every interface: this machine is reachable locally on the loopback.
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _start_lines(runtime: Any, served: str) -> list[str]:
    """What ``serve`` says when it starts: where it listens and each webhook URL."""
    from integration import store
    from integration.tenants import public_url, remember_served_url, webhook_url

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

    runtime = _runtime(click.get_current_context())
    root = logging.getLogger()
    level = root.level
    # One summary line is what a new user needs; each sample's decision is on the start page.
    if level > logging.DEBUG:
        root.setLevel(logging.WARNING)
    try:
        report = seed_demo(runtime, reset=reset)
    finally:
        root.setLevel(level)
    if report["reseeded_after"] is not None:
        click.echo(f"demo workspace: seeded {_age(report['reseeded_after'])} ago, so its SLA "
                   "clocks had run out; seeded it afresh with today's dates (settings kept)")
    click.echo(
        f"demo workspace: {report['tickets']} tickets sent, {report['accepted']} new, "
        f"{report['decided']} decided, {report['delivered']} write-backs delivered"
    )


def _age(age: timedelta) -> str:
    """``age`` as a person says it: "5 hours", "3 days"."""
    hours = int(age.total_seconds() // 3600)
    if hours < 48:
        return f"{hours} hour{'s' * (hours != 1)}"
    return f"{hours // 24} days"


# --- history import ---------------------------------------------------------------------


@main.command()
@click.option("--tenant", "slug", required=True, help="Tenant slug (see `escalade tenant list`).")
@click.option("--days", default=None, type=click.FloatRange(min=0, min_open=True),
              help="Import tickets changed in the last N days [default: 60; an unfinished run "
                   "resumes with its own].")
@click.option("--restart", is_flag=True, help="Start over instead of resuming an unfinished run.")
@click.option("--max-tries", default=5, show_default=True, type=click.IntRange(min=1),
              help="Tries at one page while rate limited or the helpdesk's server fails, "
                   "before the run stops (the next run resumes).")
def backfill(slug: str, days: float | None, restart: bool, max_tries: int) -> None:
    """Import past tickets from the tenant's helpdesk; resumable, never writes back."""
    from integration import store
    from integration.backfill import ProgressDisplay, WindowChanged, run_backfill
    from integration.errors import DeliveryError

    runtime = _runtime(click.get_current_context())
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        if tenant is None:
            raise click.ClickException(f"no tenant {slug!r}")
        s.expunge(tenant)
    display = ProgressDisplay()
    try:
        with display.running(level=str(runtime.config["LOG_LEVEL"]).upper()):
            report = run_backfill(
                runtime.sessions, runtime.adapter_for(tenant), tenant_id=tenant.id, days=days,
                restart=restart, max_tries=max_tries, progress=display,
            )
    except WindowChanged as err:
        raise click.ClickException(
            f"--days {err.requested:g} does not match the unfinished import of the last "
            f"{err.window:g} days (run #{err.run_id}, since {err.since:%Y-%m-%d %H:%M} UTC, "
            f"{err.tickets:,} tickets so far): to resume it, run without --days; to start "
            f"over with {err.requested:g} days, add --restart"
        ) from err
    except (DeliveryError, ValidationError) as err:
        message = f"backfill stopped, run the same command to resume: {err}"
        raise click.ClickException(message) from err
    except NotImplementedError as err:
        raise click.ClickException(str(err)) from err
    if report.status is not store.BackfillStatus.DONE:
        raise click.ClickException(report.failure())
    click.echo(report.summary())


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
    """Workspaces: a helpdesk account and what it is connected to (headless setup)."""


# Where each `tenant add` input goes, for naming it in an error.
ADD_FLAGS = {"slug": "SLUG", "helpdesk": "--helpdesk", "name": "--name",
             "base_url": "--base-url", "email": "--email", "api_token": "--api-token",
             "api_key": "--api-key", "access_token": "--access-token",
             "webhook_secret": "--webhook-secret", "options": "--option"}


@tenant.command("add")
@click.argument("slug")
@click.option("--helpdesk", required=True, type=click.Choice(sorted(CREDENTIALS)))
@click.option("--name", default=None, help="Display name (default: the slug).")
@click.option("--base-url", default=None, help="e.g. https://acme.zendesk.com (or a proxy).")
@click.option("--email", default=None, help="Zendesk: the agent e-mail the API token belongs to.")
@click.option("--api-key", default=None, envvar="ESCALADE_TENANT_API_KEY",
              help="Freshdesk API key (or set ESCALADE_TENANT_API_KEY).")
@click.option("--access-token", default=None, envvar="ESCALADE_TENANT_ACCESS_TOKEN",
              help="Intercom access token (or set ESCALADE_TENANT_ACCESS_TOKEN).")
@click.option("--api-token", default=None, envvar="ESCALADE_TENANT_API_TOKEN",
              help="Zendesk API token (or set ESCALADE_TENANT_API_TOKEN).")
@click.option("--webhook-secret", default=None, envvar="ESCALADE_TENANT_WEBHOOK_SECRET",
              help="Zendesk: the webhook's signing secret; Intercom: the app's client secret; "
                   "Freshdesk: generated and printed once when omitted.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Workspace option, e.g. calendar=business_us, currency=EUR, "
                   "'group_ids={\"escalations\": 360001}' (repeatable).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Test the helpdesk connection first (one call that also lists its groups); "
                   "nothing is added when it fails.")
def tenant_add(slug: str, helpdesk: str, name: str | None, base_url: str | None,
               email: str | None, api_key: str | None, access_token: str | None,
               api_token: str | None, webhook_secret: str | None,
               options: tuple[str, ...], check: bool) -> None:
    """Add a workspace (a helpdesk account); secrets are encrypted at rest."""
    from integration.setup import check_new_tenant, parse_option_pairs
    from integration.tenants import SECRET_FROM_HELPDESK, CheckFailed, add_tenant, group_status

    runtime = _runtime(click.get_current_context())
    generated = "" if helpdesk in SECRET_FROM_HELPDESK else secrets.token_urlsafe(32)
    try:
        plan = check_new_tenant(
            slug=slug, helpdesk=helpdesk, name=name, base_url=base_url,
            credentials={"email": email, "api_token": api_token, "api_key": api_key,
                         "access_token": access_token},
            webhook_secret=webhook_secret, generated_secret=generated,
            options=parse_option_pairs(options, base_dir=Path.cwd()),
            calendars=runtime.matrix.calendars, base_dir=Path.cwd())
        result = add_tenant(runtime, plan, check=check)
    except CheckFailed as err:
        raise click.ClickException(
            f"the {HELPDESK_NAMES[helpdesk]} connection test failed, nothing was added: {err} "
            "(check the address and credentials, or add without the test: --no-check)") from err
    except ValidationError as err:
        raise bad_input(err, ADD_FLAGS) from err
    click.echo(f"workspace {plan.slug!r} added ({HELPDESK_NAMES[helpdesk]})")
    if result is not None:
        click.echo(f"connection test passed: {result.message}")
    tenant_row = _tenant_row(runtime, plan.slug)
    status = group_status(runtime, tenant_row, groups=result.groups if result else None)
    for line in group_lines(plan.slug, status, listed=result is not None):
        click.echo(line)
    for line in webhook_lines(runtime, tenant_row, plan.secrets.get("webhook_secret")
                              if plan.webhook_secret_generated else None):
        click.echo(line)


HELPDESK_NAMES = HELPDESKS


def _tenant_row(runtime: Any, slug: str) -> Any:
    from integration import store

    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, slug)
        if row is None:
            raise click.ClickException(f"no workspace {slug!r} (see escalade tenant list)")
        s.expunge(row)
        return row


def group_lines(slug: str, status: Any, *, listed: bool) -> list[str]:
    """What the CLI says about a workspace's groups: the helpdesk's, and what is unmapped."""
    noun = status.noun
    lines: list[str] = []
    if status.groups is not None:
        shown = ", ".join(g.name if g.name == g.id else f"{g.name} ({g.id})"
                          for g in status.groups) or f"no {noun}s"
        lines.append(f"{noun}s in the helpdesk: {shown}")
    elif listed:
        lines.append(f"the helpdesk listed no {noun}s")
    if status.option is None:
        return lines
    for name, gid in status.unknown.items():
        lines.append(f"{status.option}.{name} = {gid}: the helpdesk has no such {noun}")
    if status.unmapped:
        proposal = {**{k: _id_value(v) for k, v in status.mapping.items()},
                    **{name: _id_value(status.suggestions[name]) if name in status.suggestions
                       else "<id>" for name in status.unmapped}}
        lines.append(f"matrix {noun}s without a {noun} id (their write-backs skip the "
                     f"assignment): {', '.join(status.unmapped)}; set them with:")
        lines.append(f"  escalade tenant configure {slug} --option "
                     f"'{status.option}={json.dumps(proposal)}'")
    elif status.used:
        lines.append(f"every matrix {noun} is mapped: {', '.join(status.used)}")
    return lines


def _id_value(value: Any) -> Any:
    text = str(value)
    return int(text) if text.isdigit() else text


def webhook_lines(runtime: Any, tenant_row: Any, generated_secret: str | None) -> list[str]:
    """The webhook URL, the secret when Escalade made it, and where to register it."""
    from integration import store
    from integration.tenants import (
        REGISTRATION,
        SECRET_FROM_HELPDESK,
        public_url,
        registration_steps,
        webhook_url,
    )

    url = webhook_url(public_url(runtime.config), tenant_row.helpdesk, tenant_row.slug)
    lines = [f"webhook URL: {url}"]
    if generated_secret:
        lines.append(f"webhook secret (shown once): {generated_secret}")
    elif tenant_row.helpdesk in SECRET_FROM_HELPDESK:
        has = bool(store.tenant_secrets(tenant_row, runtime.cipher).get("webhook_secret"))
        if not has:
            lines.append("webhook secret: not set yet, the helpdesk creates it (see below)")
    found = REGISTRATION.get(tenant_row.helpdesk)
    if found is not None and found.needed:
        label = HELPDESK_NAMES.get(tenant_row.helpdesk, tenant_row.helpdesk)
        lines.append(f"register it in {label} ({found.where}):")
        steps = registration_steps(tenant_row.helpdesk, url=url, slug=tenant_row.slug)
        lines += [f"  {n}. {step}" for n, step in enumerate(steps, start=1)]
    return lines


@tenant.command("list")
def tenant_list() -> None:
    """List workspaces (secrets never shown)."""
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
    """Remove a workspace and all its data."""
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
    """Entry point of the ``escalade`` script."""
    main(standalone_mode=True)


if __name__ == "__main__":
    run()
