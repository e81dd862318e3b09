"""``escalade report``: a workspace's dashboard figures for any days, as HTML or CSV.

    escalade report --tenant acme --from 2026-10-01 --to 2026-12-31 --out q4.html
    escalade report --tenant acme --from 2026-11-01 --to 2026-11-30 --format csv > nov.csv

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

__all__ = ["parse_day", "report", "write_whole"]

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
