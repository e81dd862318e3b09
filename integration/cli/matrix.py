"""``escalade matrix check``: validate a matrix file; errors name file, line and field."""

from __future__ import annotations

import click

__all__ = ["matrix"]


@click.group()
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
