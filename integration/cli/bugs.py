"""``escalade bugs eval``: group bug reports and score the grouping against labeled pairs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from integration.cli.common import BadInput, read_lines
from integration.errors import ValidationError

__all__ = ["bugs", "eval_command"]


@click.group()
def bugs() -> None:
    """Bugs from tickets: grouping and its measurement."""


@bugs.command("eval")
@click.argument("reports", type=click.Path(exists=True, dir_okay=False))
@click.argument("pairs", type=click.Path(exists=True, dir_okay=False))
@click.option("--groups-out", type=click.Path(dir_okay=False, writable=True),
              help="Also write id,group per line.")
def eval_command(reports: str, pairs: str, groups_out: str | None) -> None:
    """Group REPORTS (normalized tickets, JSONL) and score against PAIRS (id_a,id_b lines)."""
    from integration.bugs.evaluation import group_tickets, parse_pairs, score_groups, summary_line
    from integration.triage import parse_lines

    tickets, errors = parse_lines(read_lines(reports), source=reports)
    if errors:
        for error in errors[:20]:
            click.echo(str(error), err=True)
        more = " (first 20 shown)" if len(errors) > 20 else ""
        raise BadInput(f"{len(errors)} bad line(s) in {reports}{more}")
    try:
        gold = parse_pairs(read_lines(pairs), source=pairs)
    except ValidationError as err:
        raise BadInput(str(err)) from err
    try:
        groups, seconds = group_tickets(tickets)
    except ValidationError as err:
        raise click.ClickException(f"{reports}: {err}") from err
    score = score_groups(groups, gold, seconds=seconds)
    if groups_out:
        try:
            with Path(groups_out).open("w", encoding="utf-8") as handle:
                for rid, gid in groups.items():
                    handle.write(f"{rid},{gid}\n")
        except OSError as err:
            raise click.ClickException(
                f"{groups_out}: cannot write: {err.strerror or err}") from err
    click.echo(json.dumps(score.to_dict(), indent=2))
    click.echo(summary_line(score))

