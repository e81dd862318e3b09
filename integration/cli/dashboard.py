"""``escalade dashboard rebuild``: recompute the dashboard's rollups from stored decisions."""

from __future__ import annotations

import click

from integration.cli.common import runtime_of
from integration.errors import ValidationError

__all__ = ["count_missing", "dashboard"]


@click.group()
def dashboard() -> None:
    """The dashboard's pre-aggregated numbers."""


@dashboard.command("rebuild")
@click.option("--tenant", "slugs", multiple=True, metavar="SLUG",
              help="Only this workspace (repeatable); default every workspace.")
def rebuild(slugs: tuple[str, ...]) -> None:
    """Recount every decided ticket (after an upgrade, or a change of business time zone)."""
    from integration import store
    from integration.store.dashboard import rebuild as rebuild_rollups

    runtime = runtime_of(click.get_current_context())
    with store.session_scope(runtime.sessions) as s:
        known = {t.slug: t for t in store.list_tenants(s)}
        for slug in slugs:
            if slug not in known:
                raise ValidationError("--tenant", f"no workspace named {slug!r}")
        for slug in slugs or tuple(known):
            tenant = known[slug]
            zone = runtime.matrix_for(tenant).display_zone
            counted = rebuild_rollups(s, tenant.id, zone=zone)
            click.echo(f"{slug}: {counted} decided tickets counted (days in "
                       f"{getattr(zone, 'key', zone)})")


def count_missing(ctx: click.Context) -> None:
    """Count the workspaces decided before the dashboard existed (run by ``db upgrade``)."""
    from integration import store
    from integration.store.dashboard import missing_rollups
    from integration.store.dashboard import rebuild as rebuild_rollups

    runtime = runtime_of(ctx)
    with store.session_scope(runtime.sessions) as s:
        tenants = {t.id: t for t in store.list_tenants(s)}
        for tenant_id in missing_rollups(s):
            tenant = tenants[tenant_id]
            counted = rebuild_rollups(s, tenant_id,
                                      zone=runtime.matrix_for(tenant).display_zone)
            click.echo(f"dashboard: {counted} decided tickets of {tenant.slug} counted")
