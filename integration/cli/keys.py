"""``escalade keys``: make a new encryption key, and re-encrypt every stored secret under it.

Rotating the key that encrypts the workspaces' credentials, without a moment in which a
secret cannot be read:

1. ``escalade keys new`` prints a new key.
2. Put it FIRST in ``ESCALADE_SECRET_KEY`` (or the file ``ESCALADE_SECRET_KEY_FILE`` names),
   the old key after it, comma-separated: the first encrypts, all decrypt. Restart.
3. ``escalade keys rotate`` re-encrypts every workspace's credentials under the first key.
4. Remove the old key and restart.
"""

from __future__ import annotations

import click

from integration.cli.common import runtime_of
from integration.crypto import generate_key

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """The key that encrypts the workspaces' credentials at rest."""


@keys.command("new")
def new() -> None:
    """Print a new key (it is not stored anywhere: put it in your settings)."""
    click.echo(generate_key())


@keys.command("rotate")
def rotate() -> None:
    """Re-encrypt every workspace's credentials under the first configured key."""
    from integration import store

    runtime = runtime_of(click.get_current_context())
    with store.session_scope(runtime.sessions) as s:
        slugs = store.reencrypt_secrets(s, runtime.cipher)
    if not slugs:
        click.echo("no workspaces: nothing to re-encrypt")
        return
    click.echo(f"{len(slugs)} workspace(s) re-encrypted under the first key: "
               f"{', '.join(slugs)}")
    click.echo("Every stored secret now opens with the first key alone; remove the old "
               "key(s) from the setting and restart. Admins sign in again afterwards.")
