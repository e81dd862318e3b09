"""The ``escalade`` command: the root group, with every command group of the package under it.

``run`` is the console script (``pyproject.toml``); ``python -m integration.cli`` runs it too.
A command's module is imported only when that command runs (or help lists it), so a quick
command such as ``escalade triage`` does not pay for the server's or the connectors' imports.
"""

from __future__ import annotations

import importlib

import click

from integration.cli.common import EscaladeGroup

__all__ = ["COMMANDS", "main", "run"]

# Command name -> "module:attribute" under ``integration.cli``.
COMMANDS = {
    "db": "server:db", "serve": "server:serve", "work": "server:work", "demo": "demo:demo",
    "backfill": "backfill:backfill", "triage": "triage:triage", "eval": "triage:eval_command",
    "matrix": "matrix:matrix", "tenant": "tenant:tenant", "admin": "admin:admin",
    "bugs": "bugs:bugs", "audit": "audit:audit", "replay": "audit:replay",
    "review": "review:review", "dashboard": "dashboard:dashboard", "keys": "keys:keys",
    "answer": "answer:answer", "kb": "kb:kb", "report": "report:report",
    "digest": "report:digest", "worker": "cluster:worker", "beat": "cluster:beat",
}


class _RootGroup(EscaladeGroup):
    """The root group, importing each command's module when the command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, sorted."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The named command, its module imported now; None for an unknown name."""
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(f"integration.cli.{module}"), attribute)
        assert isinstance(command, click.Command), where
        return command


@click.group(cls=_RootGroup)
def main() -> None:
    """Escalade: escalation management for Zendesk, Freshdesk and Intercom."""


def run() -> None:
    """Entry point of the ``escalade`` script."""
    main(standalone_mode=True)
