"""``escalade backfill``: import a workspace's past tickets, resumable, never writing back."""

from __future__ import annotations

import click

from integration.cli.common import BadInput, runtime_of
from integration.errors import ValidationError

__all__ = ["backfill"]


@click.command()
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
    from integration.backfill import WindowChanged, run_backfill
    from integration.backfill_progress import ProgressDisplay
    from integration.errors import DeliveryError

    runtime = runtime_of(click.get_current_context())
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        if tenant is None:
            raise BadInput(f"--tenant: no workspace {slug!r} (see `escalade tenant list`)")
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
