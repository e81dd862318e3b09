"""The ``escalade`` command: the root group, with every command group of the package under it.

``run`` is the console script (``pyproject.toml``); ``python -m integration.cli`` runs it too.
"""

from __future__ import annotations

import click

from integration.cli import (
    admin,
    answer,
    audit,
    backfill,
    bugs,
    cluster,
    dashboard,
    demo,
    kb,
    keys,
    matrix,
    report,
    review,
    server,
    tenant,
    triage,
)
from integration.cli.common import EscaladeGroup

__all__ = ["main", "run"]


@click.group(cls=EscaladeGroup)
def main() -> None:
    """Escalade: escalation management for Zendesk, Freshdesk and Intercom."""


for _command in (server.db, server.serve, server.work, demo.demo, backfill.backfill,
                 triage.triage, triage.eval_command, matrix.matrix, tenant.tenant,
                 admin.admin, bugs.bugs, audit.audit, audit.replay, review.review,
                 dashboard.dashboard, keys.keys, answer.answer, kb.kb, report.report,
                 report.digest, cluster.worker, cluster.beat):
    main.add_command(_command)


def run() -> None:
    """Entry point of the ``escalade`` script."""
    main(standalone_mode=True)
