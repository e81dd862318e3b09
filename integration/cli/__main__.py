"""``python -m integration.cli``: the ``escalade`` command."""

from integration.cli.root import run

run()
