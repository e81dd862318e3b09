"""``escalade triage`` and ``escalade eval``: decide normalized tickets, and score deciding.

Neither needs a server or a database. Every line is parsed first: one bad line stops the
command before anything is written, naming file, line and field.
"""

from __future__ import annotations

import gc
import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from integration.cli.common import read_lines

__all__ = ["eval_command", "triage"]


def _matrix(path: str | None) -> Any:
    from integration.matrix import MatrixError, default_matrix, load_matrix

    try:
        return load_matrix(path) if path else default_matrix()
    except MatrixError as err:
        raise click.ClickException(str(err)) from err


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


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--matrix", "matrix_path", type=click.Path(exists=True, dir_okay=False),
              help="Matrix file (default: the packaged default.yaml).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes deciding at once (default: one per core).")
def triage(file: str | None, matrix_path: str | None, workers: int | None) -> None:
    """Read normalized tickets (JSONL, FILE or stdin), write one decision per line."""
    from integration.decide import build_detector
    from integration.triage_pool import default_workers, triage_lines

    matrix = _matrix(matrix_path)
    if file and file != "-":
        tickets, _ = _tickets(read_lines(file), source=file)
    else:
        tickets, _ = _tickets(sys.stdin.read().splitlines(), source="<stdin>")
    detector = build_detector(matrix)
    # The parsed tickets and the loaded model live until exit: keep the collector from
    # re-scanning them on every generation-2 pass (and forked workers from copying pages
    # it would otherwise touch).
    gc.freeze()
    lines = triage_lines(tickets, matrix=matrix, detector=detector, now=datetime.now(UTC),
                         workers=workers or default_workers())
    sys.stdout.write("".join(line + "\n" for line in lines))


@click.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--matrix", "matrix_path", type=click.Path(exists=True, dir_okay=False),
              help="Matrix file (default: the packaged default.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--misses", is_flag=True, help="Also list every ticket that was decided wrong.")
def eval_command(file: str, matrix_path: str | None, as_json: bool, misses: bool) -> None:
    """Score triage on a labeled JSONL file (expected.category / .tier / .complaint)."""
    from integration.decide import build_detector
    from integration.detect.training.evaluation import Expected, evaluate_decisions, format_report
    from integration.triage import triage_tickets

    matrix = _matrix(matrix_path)
    tickets, lines = _tickets(read_lines(file), source=file)
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
