"""``escalade tenant connect | configure | check | secret``: connectors, options, tests, secrets.

    escalade tenant connect acme slack --token xoxb-... --option channel=C0123ABCD \
        --option team_id=T0123 --option 'users={"U0ABC": "42"}' [--check]
    escalade tenant connect acme jira --token ... --email bot@acme.com \
        --option base_url=https://acme.atlassian.net --option project=PAY --check
    escalade tenant configure acme --option calendar=business_us --option currency=EUR \
        --option 'group_ids={"escalations": 360001, "support_tier_2": 360002, "support": 360003}'
    escalade tenant check acme              # the helpdesk (and its groups) and every connector
    escalade tenant secret acme             # which per-install secrets are set, rotated when
    escalade tenant secret acme sidebar_secret --generate      # printed once
    escalade tenant secret acme zendesk_app_public_key --value-stdin < public_key.pem

Every value is checked before anything is stored (``integration.setup``, the same checks
as the admin pages); a bad one is one line naming the option. ``--check`` and
``tenant check`` call the vendor once and record the result the admin page shows. A secret
is read from stdin, never from the command line (``ps`` and shell history would keep it);
a replaced one stays accepted for a day while the helpdesk switches to the new one.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from integration.errors import ValidationError
from integration.setup import TOKEN_SECRET

__all__ = ["TOKEN_SECRET", "parse_options", "register"]

CONNECTOR_NAMES = {"slack": "Slack", "crm": "HubSpot", "jira": "Jira", "linear": "Linear",
                   "helpdesk": "helpdesk"}


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs (JSON values allowed, ``@file`` reads a file); errors name the pair."""
    from integration.cli import bad_input
    from integration.setup import parse_option_pairs

    try:
        return parse_option_pairs(pairs, base_dir=Path.cwd())
    except ValidationError as err:
        raise bad_input(err, {"options": "--option"}) from err


def _tenant(runtime: Any, slug: str) -> Any:
    from integration import store

    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, slug)
        if row is None:
            raise click.ClickException(f"no workspace {slug!r} (see escalade tenant list)")
        s.expunge(row)
        return row


def _connect_flags(connector: str) -> dict[str, str]:
    flags = {TOKEN_SECRET[connector]: "--token", "email": "--email",
             "webhook_secret": "--webhook-secret", "tenant": "SLUG"}
    return flags


def _secret_lines(runtime: Any, row: Any) -> list[str]:
    from integration.calendars import format_local
    from integration.tenants import secret_statuses

    zone = runtime.matrix_for(row).display_zone
    lines = []
    for status in secret_statuses(runtime, row):
        spec = status.spec
        if not status.usable:
            state = f"not connected ({CONNECTOR_NAMES[spec.connector or '']})"
        elif not status.is_set:
            how = "--generate" if spec.generate else "--value-stdin"
            state = f"not set: escalade tenant secret {row.slug} {spec.name} {how}"
        else:
            state = "set"
            if status.rotated_at is not None:
                state += f", last set {format_local(status.rotated_at, zone)}"
            if status.previous_until is not None:
                state += (f"; the previous value is accepted until "
                          f"{format_local(status.previous_until, zone)}")
        lines.append(f"{spec.name}: {state}")
        lines.append(f"  {spec.label}. {spec.where}")
    return lines


def register(tenant: click.Group, runtime_of: Any) -> None:
    """Add ``connect``, ``configure``, ``check`` and ``secret`` to ``escalade tenant``."""

    @tenant.command("secret")
    @click.argument("slug")
    @click.argument("name", required=False)
    @click.option("--generate", is_flag=True,
                  help="Make a new random value and print it once (where Escalade may).")
    @click.option("--value-stdin", is_flag=True,
                  help="Read the value from stdin (a PEM key may span lines).")
    def secret(slug: str, name: str | None, generate: bool, value_stdin: bool) -> None:
        """Show a workspace's per-install secrets, or set / rotate one.

        Without NAME, lists which are set and when they were last set. A replaced value is
        still accepted for 24 hours, so the helpdesk or tracker can switch meanwhile.
        """
        from integration.calendars import format_local
        from integration.cli import bad_input
        from integration.tenants import set_secret

        runtime = runtime_of(click.get_current_context())
        row = _tenant(runtime, slug)
        if name is None:
            if generate or value_stdin:
                raise click.UsageError("name the secret to set (escalade tenant secret SLUG)")
            for line in _secret_lines(runtime, row):
                click.echo(line)
            return
        if generate == value_stdin:
            raise click.UsageError("give exactly one of --generate or --value-stdin")
        value = None
        if value_stdin:
            if sys.stdin.isatty():
                click.echo("Paste the value, then press Ctrl-D:", err=True)
            value = sys.stdin.read()
        try:
            change = set_secret(runtime, slug, name, value=value, generate=generate)
        except ValidationError as err:
            raise bad_input(err, {"name": "NAME", "generate": "--generate",
                                  "value": "--value-stdin", name: "--value-stdin"}) from err
        if change.generated is not None:
            click.echo(f"{slug}: {name} generated; it is shown this once:")
            click.echo(change.generated)
        else:
            click.echo(f"{slug}: {name} saved")
        if change.previous_until is not None:
            zone = runtime.matrix_for(row).display_zone
            click.echo(f"the previous value is still accepted until "
                       f"{format_local(change.previous_until, zone)}: switch the helpdesk "
                       "to the new one before then")

    @tenant.command("connect")
    @click.argument("slug")
    @click.argument("connector", type=click.Choice(sorted(TOKEN_SECRET)))
    @click.option("--token", envvar="ESCALADE_CONNECTOR_TOKEN", default=None,
                  help="Slack bot token, HubSpot private app token, Jira API token or "
                       "Linear API key (or set ESCALADE_CONNECTOR_TOKEN).")
    @click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
                  help="Connector setting (JSON values allowed, @file reads a file).")
    @click.option("--email", default=None, help="Jira: the account the API token belongs to.")
    @click.option("--webhook-secret", default=None,
                  help="Jira / Linear: the secret their webhooks are signed with.")
    @click.option("--check", is_flag=True,
                  help="Test the connection first (one call) and record the result; nothing "
                       "is saved when it fails.")
    def connect(slug: str, connector: str, token: str | None, options: tuple[str, ...],
                email: str | None, webhook_secret: str | None, check: bool) -> None:
        """Connect Slack, the CRM (HubSpot), Jira or Linear; secrets are encrypted at rest."""
        from integration.cli import bad_input
        from integration.tenants import CheckFailed
        from integration.tenants import connect as connect_tenant

        runtime = runtime_of(click.get_current_context())
        row = _tenant(runtime, slug)
        settings = dict((row.settings or {}).get(connector) or {})
        for key, value in parse_options(options).items():
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
        given = {TOKEN_SECRET[connector]: token, "email": email,
                 "webhook_secret": webhook_secret}
        label = CONNECTOR_NAMES[connector]
        try:
            result = connect_tenant(runtime, slug, connector, settings=settings,
                                    new_secrets={k: v for k, v in given.items() if v},
                                    check=check)
        except CheckFailed as err:
            raise click.ClickException(f"the {label} connection test failed, nothing was "
                                       f"saved: {err}") from err
        except ValidationError as err:
            flags = _connect_flags(connector)
            # Anything that is not a secret was given as a setting.
            flags.setdefault(err.field.split(".")[0], f"--option {err.field}")
            raise bad_input(err, flags) from err
        tested = f"; connection test passed: {result.message}" if result else (
            f" (not tested: run escalade tenant check {slug} {connector})")
        click.echo(f"{connector} connected for {slug!r}{tested}")

    @tenant.command("configure")
    @click.argument("slug")
    @click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
                  help="calendar=NAME, currency=EUR, activity=JSON, routing=JSON or "
                       "@file.json, group_ids=JSON (team_ids on Intercom); KEY= clears one.")
    @click.option("--webhook-secret", default=None,
                  help="The helpdesk's webhook secret (Zendesk: the webhook's signing "
                       "secret; Intercom: the app's client secret).")
    def configure(slug: str, options: tuple[str, ...], webhook_secret: str | None) -> None:
        """Set a workspace's options: calendar, currency, activity, routing, group ids."""
        from integration import store
        from integration.calendars import format_local
        from integration.cli import bad_input, group_lines
        from integration.setup import (
            MIN_WEBHOOK_SECRET,
            SECRET_GRACE,
            check_adapter,
            check_options,
        )
        from integration.tenants import group_status, store_secrets

        if not options and webhook_secret is None:
            raise click.UsageError("give at least one --option KEY=VALUE or --webhook-secret")
        runtime = runtime_of(click.get_current_context())
        row = _tenant(runtime, slug)
        try:
            settings = check_options(parse_options(options), helpdesk=row.helpdesk,
                                     calendars=runtime.matrix.calendars, base_dir=Path.cwd())
            config = runtime.helpdesk_config(row)
            merged = {k: v for k, v in {**config.options, **settings}.items() if v is not None}
            check_adapter(replace(config, options=merged))
            if webhook_secret is not None and len(webhook_secret.strip()) < MIN_WEBHOOK_SECRET:
                raise ValidationError("webhook_secret",
                                      f"at least {MIN_WEBHOOK_SECRET} characters")
        except ValidationError as err:
            raise bad_input(err, {"webhook_secret": "--webhook-secret"}) from err
        secrets = {"webhook_secret": webhook_secret.strip()} if webhook_secret else {}
        with store.session_scope(runtime.sessions) as s:
            live = store.get_tenant(s, slug)
            if live is None:
                raise click.ClickException(f"no workspace {slug!r}")
            old = store.tenant_secrets(live, runtime.cipher).get("webhook_secret")
            # A replaced webhook secret keeps working for a day (store_secrets).
            store_secrets(runtime, s, live, secrets, settings=settings or None)
        runtime.forget_adapters()
        changed = [*sorted(settings), *(["webhook secret"] if secrets else [])]
        click.echo(f"{slug!r}: " + ", ".join(changed) + " saved")
        if secrets and old and old != secrets["webhook_secret"]:
            until = format_local(runtime.now() + SECRET_GRACE, runtime.matrix_for(row)
                                 .display_zone)
            click.echo(f"the previous webhook secret is still accepted until {until}: "
                       "switch the helpdesk to the new one before then")
        status = group_status(runtime, _tenant(runtime, slug))
        if status.option is not None and (status.option in settings or "routing" in settings):
            for line in group_lines(slug, status, listed=False):
                click.echo(line)

    @tenant.command("check")
    @click.argument("slug")
    @click.argument("connections", nargs=-1,
                    type=click.Choice(["helpdesk", *sorted(TOKEN_SECRET)]))
    def check(slug: str, connections: tuple[str, ...]) -> None:
        """Test the helpdesk (listing its groups) and each connector once; record results.

        With no CONNECTIONS, tests the helpdesk and every connected connector. Exits 1 when
        a test failed.
        """
        from integration.cli import group_lines
        from integration.tenants import check_stored, group_status

        runtime = runtime_of(click.get_current_context())
        row = _tenant(runtime, slug)
        connected = list((row.settings or {}).get("connectors") or ())
        wanted = list(connections) or ["helpdesk", *connected]
        for name in wanted:
            if name != "helpdesk" and name not in connected:
                raise click.ClickException(
                    f"{name} is not connected for {slug!r} (escalade tenant connect "
                    f"{slug} {name} ...)")
        failed = 0
        for name in wanted:
            result = check_stored(runtime, slug, name)
            label = CONNECTOR_NAMES[name]
            click.echo(f"{label}: {'works' if result.ok else 'FAILED'}: {result.message}")
            failed += not result.ok
            if name == "helpdesk" and result.ok:
                status = group_status(runtime, _tenant(runtime, slug), groups=result.groups)
                for line in group_lines(slug, status, listed=True):
                    click.echo(f"  {line}")
        if failed:
            raise click.ClickException(f"{failed} of {len(wanted)} connection test(s) failed "
                                       "(recorded; the admin page shows them)")
