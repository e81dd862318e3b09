"""``escalade admin``: admins of the web UI: set a password, end their sessions.

    ESCALADE_ADMIN_PASSWORD=... escalade admin set-password --email ops@example.com
    escalade admin set-password --email ops@example.com      # prompts twice, hidden
    printf '%s\n' "$PW" | escalade admin set-password --email ops@example.com --password-stdin
    escalade admin sign-out --email ops@example.com          # ends every session of theirs

The password is read from standard input (``--password-stdin``, for scripts and CI),
``ESCALADE_ADMIN_PASSWORD`` or a hidden prompt, never from the command line (where ``ps`` and
shell history would keep it). Only its hash is stored. A new password ends every session the
admin had open, as ``sign-out`` does (a lost laptop).
"""

from __future__ import annotations

import os
import sys

import click

from integration.cli.common import bad_input, runtime_of
from integration.errors import ValidationError

__all__ = ["PASSWORD_ENV", "admin"]

PASSWORD_ENV = "ESCALADE_ADMIN_PASSWORD"


def _ended(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''} ended"


@click.group("admin")
def admin() -> None:
    """Admins of the web UI (/admin)."""


@admin.command("set-password")
@click.option("--email", required=True, help="The admin's e-mail (their sign-in name).")
@click.option("--password-stdin", "from_stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
def set_password(email: str, from_stdin: bool) -> None:
    """Create the admin, or set a new password; from stdin, $ESCALADE_ADMIN_PASSWORD or a prompt."""
    from integration import store
    from integration.store.people import set_admin
    from integration.store.sessions import close_sessions_of

    password = _stdin_password() if from_stdin else os.environ.get(PASSWORD_ENV) or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    runtime = runtime_of(click.get_current_context())
    try:
        with store.session_scope(runtime.sessions) as s:
            row = set_admin(s, email=email, password=password, now=runtime.now())
            shown = row.email
            ended = close_sessions_of(s, row.id)
    except ValidationError as err:
        raise click.UsageError(str(err)) from err
    click.echo(f"admin {shown} can sign in at /admin/login"
               + (f" ({_ended(ended)})" if ended else ""))


def _stdin_password() -> str:
    # Only the line ending is taken off: spaces inside or around a password are the password.
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.UsageError("--password-stdin: standard input had no password on its "
                               "first line")
    return line


@admin.command("sign-out")
@click.option("--email", required=True, help="The admin whose sessions end.")
def sign_out(email: str) -> None:
    """End every session of an admin, in every browser."""
    from integration import store
    from integration.store.admin import find_admin
    from integration.store.sessions import close_sessions_of

    runtime = runtime_of(click.get_current_context())
    wanted = email.strip().lower()
    with store.session_scope(runtime.sessions) as s:
        row = find_admin(s, wanted)
        if row is None:
            raise bad_input(ValidationError("email", f"no admin {wanted}"),
                            {"email": "--email"})
        ended = close_sessions_of(s, row.id)
    click.echo(f"{wanted}: {_ended(ended)}")
