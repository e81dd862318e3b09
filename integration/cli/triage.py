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

from integration.cli.common import BadInput, matrix_input, read_lines

__all__ = ["eval_command", "triage"]


def _matrix(path: str | None) -> Any:
    from integration.matrix import MatrixError, default_matrix, load_matrix

    if not path:
        return default_matrix()
    try:
        return load_matrix(path)
    except MatrixError as err:
        raise matrix_input("--matrix", path, err) from err


def _tickets(lines: list[str], *, source: str) -> tuple[list[Any], list[str]]:
    """Parse every line first: one bad line stops the command before anything is written."""
    from integration.triage import parse_lines

    tickets, errors = parse_lines(lines, source=source)
    if errors:
        for error in errors[:20]:
            click.echo(str(error), err=True)
        more = " (first 20 shown)" if len(errors) > 20 else ""
        raise BadInput(f"{len(errors)} bad line(s){more}; nothing written")
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
    # Parsing and loading only build what lives until exit: the collector would scan the
    # growing heap again and again for garbage there is none of (a fifth of parsing's time).
    gc.disable()
    try:
        if file and file != "-":
            tickets, _ = _tickets(read_lines(file), source=file)
        else:
            tickets, _ = _tickets(sys.stdin.read().splitlines(), source="<stdin>")
        detector = build_detector(matrix)
    finally:
        gc.enable()
    # The parsed tickets and the loaded model live until exit: keep the collector from
    # re-scanning them on every generation-2 pass (and forked workers from copying pages
    # it would otherwise touch).
    gc.freeze()
    lines = triage_lines(tickets, matrix=matrix, detector=detector, now=datetime.now(UTC),
                         workers=workers or default_workers())
    sys.stdout.write("".join(line + "\n" for line in lines))


def _labeled_set(files: tuple[str, ...]) -> list[Any]:
    """Read every labeled file; bad lines stop the command, each named by file, line, field."""
    from integration.detect.training.report import read_labeled

    found, errors = [], []
    for file in files:
        labeled, bad = read_labeled(read_lines(file), source=file)
        found.append(labeled)
        errors += bad
    if errors:
        for error in errors[1:20]:
            click.echo(str(error), err=True)
        more = f" ({len(errors)} bad lines, the others listed above)" if len(errors) > 1 else ""
        raise BadInput(f"{errors[0]}{more}; nothing scored")
    return found


def _eval_sets(files: tuple[str, ...], held_out: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    both = sorted(set(files) & set(held_out))
    if both:
        raise click.BadParameter(f"{both[0]} is given both as a development FILE and as held out",
                                 param_hint="'--held-out'")
    if not files and not held_out:
        raise click.UsageError("give at least one labeled FILE (or --held-out FILE)")
    sets = {"dev": files, "held-out": held_out}
    return {name: chosen for name, chosen in sets.items() if chosen}


@click.command("eval")
@click.argument("files", nargs=-1, metavar="FILE",
                type=click.Path(exists=True, dir_okay=False))
@click.option("--held-out", "held_out", multiple=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False),
              help="A held-out labeled file, scored beside the development FILEs (repeatable).")
@click.option("--matrix", "matrix_path", type=click.Path(exists=True, dir_okay=False),
              help="Matrix file (default: the packaged default.yaml).")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--misses", is_flag=True, help="Also list every ticket that was decided wrong.")
def eval_command(files: tuple[str, ...], held_out: tuple[str, ...], matrix_path: str | None,
                 as_json: bool, misses: bool) -> None:
    """Score triage on labeled JSONL files (expected.category / .tier / .complaint, kind).

    The FILEs are pooled as the development set; with --held-out, the two sets are printed
    side by side.
    """
    from integration.decide import build_detector
    from integration.detect.training.evaluation import format_report, format_side_by_side
    from integration.detect.training.report import evaluate_files

    sets = _eval_sets(files, held_out)
    matrix = _matrix(matrix_path)
    labeled = {name: _labeled_set(chosen) for name, chosen in sets.items()}
    detector, now = build_detector(matrix), datetime.now(UTC)
    reports = {name: evaluate_files(found, matrix=matrix, detector=detector, now=now)
               for name, found in labeled.items()}
    if not misses:
        reports = {name: {k: v for k, v in r.items() if k != "misses"}
                   for name, r in reports.items()}
    if as_json:
        shown = next(iter(reports.values())) if len(reports) == 1 else {"sets": reports}
        click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    if len(reports) == 1:
        click.echo(format_report(next(iter(reports.values()))))
    else:
        click.echo(format_side_by_side(reports))
    for name, report in reports.items():
        for miss in report.get("misses", []):
            click.echo(json.dumps({"set": name, **miss} if len(reports) > 1 else miss,
                                  ensure_ascii=False))
