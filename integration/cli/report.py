"""``escalade report`` and ``escalade digest``: a workspace's figures, for any days or a week.

    escalade report --tenant acme --from 2026-10-01 --to 2026-12-31 --out q4.html
    escalade report --tenant acme --from 2026-11-01 --to 2026-11-30 --format csv > nov.csv
    escalade digest --tenant acme --week 2026-W49 --dry-run

Days are the workspace's local days (its business calendar's time zone), both included. A
bad day or range is one line naming the option (exit 2); a file is written whole or not at
all.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import click

from integration.cli.common import runtime_of
from integration.errors import ValidationError

__all__ = ["digest", "parse_day", "report", "write_whole"]

_FORMATS = ("html", "csv")


def parse_day(value: str, option: str) -> date:
    """A YYYY-MM-DD day, or a ``ValidationError`` naming ``option``."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError as err:
        raise ValidationError(option, f"expected a day as YYYY-MM-DD, got {value!r}") from err


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: whole, or not at all."""
    folder = path.parent if str(path.parent) else Path(".")
    handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    try:
        # mkstemp makes the file private; a report is as readable as any file written here.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _format(fmt: str | None, out: str | None) -> str:
    if fmt:
        return fmt
    suffix = Path(out).suffix.lower().lstrip(".") if out else ""
    return suffix if suffix in _FORMATS else "html"


@click.command("report")
@click.option("--tenant", "slug", required=True, metavar="SLUG", help="The workspace.")
@click.option("--from", "first", required=True, metavar="YYYY-MM-DD", help="First day.")
@click.option("--to", "last", required=True, metavar="YYYY-MM-DD", help="Last day (included).")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default=None,
              help="html (a printable page) or csv (one tidy table); default from --out, "
                   "else html.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write here (default: standard output).")
def report(slug: str, first: str, last: str, fmt: str | None, out: str | None) -> None:
    """The dashboard's figures for the days FROM to TO of a workspace, as HTML or CSV."""
    from integration import store
    from integration.analytics.report import custom_grain, range_problem
    from integration.period_report import period_report
    from integration.store.dashboard import DashboardFilter
    from sidebar_ui.report_export import report_csv, report_html

    start, end = parse_day(first, "--from"), parse_day(last, "--to")
    problem = range_problem(start, end)
    if problem:
        raise ValidationError("--to", problem)
    runtime = runtime_of(click.get_current_context())
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        if tenant is None:
            raise ValidationError("--tenant", f"no workspace named {slug!r}")
        zone = runtime.matrix_for(tenant).display_zone
        made = period_report(
            s, DashboardFilter(tenant_ids=(tenant.id,), first=start, last=end),
            grain=custom_grain(start, end), aligned=False, workspace=slug, zone=zone,
            filters=[("Workspace", slug)], now=runtime.now())
    fmt = _format(fmt, out)
    text = report_csv(made) if fmt == "csv" else report_html(made)
    if out is None:
        click.echo(text, nl=False)
        return
    write_whole(Path(out), text)
    click.echo(f"{out}: {made.board.total.tickets} tickets of {slug} from {start.isoformat()} "
               f"to {end.isoformat()} ({fmt})", err=True)


@click.command("digest")
@click.option("--tenant", "slug", required=True, metavar="SLUG", help="The workspace.")
@click.option("--week", default=None, metavar="YYYY-Www",
              help="The ISO week, e.g. 2026-W49 (default: last week, in the workspace's time).")
@click.option("--dry-run", is_flag=True, help="Print the digest; send nothing.")
def digest(slug: str, week: str | None, dry_run: bool) -> None:
    """Preview (--dry-run) or send a workspace's weekly digest to its Slack channel."""
    from datetime import timedelta

    from integration import store
    from integration.analytics.digest import (
        digest_lines,
        digest_payload,
        parse_week,
        policy_from_settings,
    )
    from integration.context import connected_targets
    from integration.digest import queue_digest, read_digest, slack_currency

    monday = parse_week(week) if week else None
    runtime = runtime_of(click.get_current_context())
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        if tenant is None:
            raise ValidationError("--tenant", f"no workspace named {slug!r}")
        try:
            policy = policy_from_settings(tenant.settings)
        except ValidationError as err:
            raise ValidationError(f"options.{err.field}", err.message) from err
        if monday is None:
            today = runtime.now().astimezone(runtime.matrix_for(tenant).display_zone).date()
            monday = today - timedelta(days=today.weekday(), weeks=1)
        made = read_digest(runtime, s, tenant, monday, now=runtime.now())
        channel = policy.channel if policy is not None else ""
        if dry_run:
            payload = digest_payload(made, channel=channel, currency=slack_currency(tenant))
            for line in digest_lines(payload):
                click.echo(line)
            where = f"<#{channel}>" if channel else "no channel yet (option digest.channel)"
            click.echo(f"(dry run: nothing sent; it would go to {where})")
            return
        if policy is None or "slack" not in connected_targets(tenant):
            raise ValidationError("--tenant", f"{slug} has no digest channel with Slack "
                                              "connected: connect Slack and set --option "
                                              "'digest={\"channel\": \"C0123ABCD\"}'")
        if made.tickets == 0:
            raise click.ClickException(f"{slug} had no tickets in {made.label}: nothing sent")
        status = queue_digest(s, tenant, made, policy, runtime.now())
    if status == "already":
        raise click.ClickException(f"the digest of {made.label} was sent to {slug} already")
    click.echo(f"digest of {made.label} queued for <#{policy.channel}>: the worker posts it "
               "(retried until it lands)")
