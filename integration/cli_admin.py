"""``escalade admin set-password``: create an admin of the web UI or change their password.

    ESCALADE_ADMIN_PASSWORD=... escalade admin set-password --email ops@example.com
    escalade admin set-password --email ops@example.com      # prompts twice, hidden

The password is read from ``ESCALADE_ADMIN_PASSWORD`` or a hidden prompt, never from the
command line (where ``ps`` and shell history would keep it). Only its hash is stored.
"""

from __future__ import annotations

import os
from typing import Any

import click

from integration.errors import ValidationError

__all__ = ["PASSWORD_ENV", "register"]

PASSWORD_ENV = "ESCALADE_ADMIN_PASSWORD"


def register(group: click.Group, runtime_of: Any) -> None:
    """Add the ``admin`` command group (``set-password``) to ``group``."""

    @group.group("admin")
    def admin() -> None:
        """Admins of the web UI (/admin)."""

    @admin.command("set-password")
    @click.option("--email", required=True, help="The admin's e-mail (their sign-in name).")
    def set_password(email: str) -> None:
        """Create the admin, or set a new password; from $ESCALADE_ADMIN_PASSWORD or a prompt."""
        from integration import store
        from integration.store.people import set_admin

        password = os.environ.get(PASSWORD_ENV) or click.prompt(
            "Password", hide_input=True, confirmation_prompt=True)
        runtime = runtime_of(click.get_current_context())
        try:
            with store.session_scope(runtime.sessions) as s:
                row = set_admin(s, email=email, password=password, now=runtime.now())
                shown = row.email
        except ValidationError as err:
            raise click.UsageError(str(err)) from err
        click.echo(f"admin {shown} can sign in at /admin/login")
