"""``escalade tenant``: workspaces, what they are connected to, their tests and secrets.

    escalade tenant add acme --helpdesk zendesk --base-url https://acme.zendesk.com \
        --email agent@acme.com --api-token ... [--option calendar=business_us] [--no-check]
    escalade tenant list
    escalade tenant remove acme [--yes]
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

Every value is checked before anything is stored (``integration.workspaces.validation``, the
same checks as the admin pages); a bad one is one line naming the option. ``add`` (unless
``--no-check``), ``connect --check`` and ``check`` call the vendor once and record the result
the admin page shows. A secret is read from stdin, never from the command line (``ps`` and
shell history would keep it); a replaced one stays accepted for a day while the helpdesk
switches to the new one.
"""

from __future__ import annotations

import json
import secrets
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from integration.cli.common import BadInput, bad_input, runtime_of
from integration.errors import ValidationError
from integration.workspaces.connector_fields import TOKEN_SECRET
from integration.workspaces.validation import CREDENTIALS, HELPDESKS

__all__ = ["group_lines", "parse_options", "tenant", "webhook_lines"]

HELPDESK_NAMES = HELPDESKS


@click.group()
def tenant() -> None:
    """Workspaces: a helpdesk account and what it is connected to (headless setup)."""


# Where each `tenant add` input goes, for naming it in an error.
ADD_FLAGS = {"slug": "SLUG", "helpdesk": "--helpdesk", "name": "--name",
             "base_url": "--base-url", "email": "--email", "api_token": "--api-token",
             "api_key": "--api-key", "access_token": "--access-token",
             "webhook_secret": "--webhook-secret", "options": "--option"}


@tenant.command("add")
@click.argument("slug")
@click.option("--helpdesk", required=True, type=click.Choice(sorted(CREDENTIALS)))
@click.option("--name", default=None, help="Display name (default: the slug).")
@click.option("--base-url", default=None, help="e.g. https://acme.zendesk.com (or a proxy).")
@click.option("--email", default=None, help="Zendesk: the agent e-mail the API token belongs to.")
@click.option("--api-key", default=None, envvar="ESCALADE_TENANT_API_KEY",
              help="Freshdesk API key (or set ESCALADE_TENANT_API_KEY).")
@click.option("--access-token", default=None, envvar="ESCALADE_TENANT_ACCESS_TOKEN",
              help="Intercom access token (or set ESCALADE_TENANT_ACCESS_TOKEN).")
@click.option("--api-token", default=None, envvar="ESCALADE_TENANT_API_TOKEN",
              help="Zendesk API token (or set ESCALADE_TENANT_API_TOKEN).")
@click.option("--webhook-secret", default=None, envvar="ESCALADE_TENANT_WEBHOOK_SECRET",
              help="Zendesk: the webhook's signing secret; Intercom: the app's client secret; "
                   "Freshdesk: generated and printed once when omitted.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Workspace option, e.g. calendar=business_us, currency=EUR, "
                   "'group_ids={\"escalations\": 360001}' (repeatable).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Test the helpdesk connection first (one call that also lists its groups); "
                   "nothing is added when it fails.")
def tenant_add(slug: str, helpdesk: str, name: str | None, base_url: str | None,
               email: str | None, api_key: str | None, access_token: str | None,
               api_token: str | None, webhook_secret: str | None,
               options: tuple[str, ...], check: bool) -> None:
    """Add a workspace (a helpdesk account); secrets are encrypted at rest."""
    from integration.workspaces.service import (
        SECRET_FROM_HELPDESK,
        CheckFailed,
        add_tenant,
        group_status,
    )
    from integration.workspaces.validation import check_new_tenant, parse_option_pairs

    runtime = runtime_of(click.get_current_context())
    generated = "" if helpdesk in SECRET_FROM_HELPDESK else secrets.token_urlsafe(32)
    try:
        plan = check_new_tenant(
            slug=slug, helpdesk=helpdesk, name=name, base_url=base_url,
            credentials={"email": email, "api_token": api_token, "api_key": api_key,
                         "access_token": access_token},
            webhook_secret=webhook_secret, generated_secret=generated,
            options=parse_option_pairs(options, base_dir=Path.cwd()),
            calendars=runtime.matrix.calendars, base_dir=Path.cwd())
        result = add_tenant(runtime, plan, check=check)
    except CheckFailed as err:
        raise click.ClickException(
            f"the {HELPDESK_NAMES[helpdesk]} connection test failed, nothing was added: {err} "
            "(check the address and credentials, or add without the test: --no-check)") from err
    except ValidationError as err:
        raise bad_input(err, ADD_FLAGS) from err
    click.echo(f"workspace {plan.slug!r} added ({HELPDESK_NAMES[helpdesk]})")
    if result is not None:
        click.echo(f"connection test passed: {result.message}")
    tenant_row = _tenant(runtime, plan.slug)
    status = group_status(runtime, tenant_row, groups=result.groups if result else None)
    for line in group_lines(plan.slug, status, listed=result is not None):
        click.echo(line)
    for line in webhook_lines(runtime, tenant_row, plan.secrets.get("webhook_secret")
                              if plan.webhook_secret_generated else None):
        click.echo(line)



def group_lines(slug: str, status: Any, *, listed: bool) -> list[str]:
    """What the CLI says about a workspace's groups: the helpdesk's, and what is unmapped."""
    noun = status.noun
    lines: list[str] = []
    if status.groups is not None:
        shown = ", ".join(g.name if g.name == g.id else f"{g.name} ({g.id})"
                          for g in status.groups) or f"no {noun}s"
        lines.append(f"{noun}s in the helpdesk: {shown}")
    elif listed:
        lines.append(f"the helpdesk listed no {noun}s")
    if status.option is None:
        return lines
    for name, gid in status.unknown.items():
        lines.append(f"{status.option}.{name} = {gid}: the helpdesk has no such {noun}")
    if status.unmapped:
        proposal = {**{k: _id_value(v) for k, v in status.mapping.items()},
                    **{name: _id_value(status.suggestions[name]) if name in status.suggestions
                       else "<id>" for name in status.unmapped}}
        lines.append(f"matrix {noun}s without a {noun} id (their write-backs skip the "
                     f"assignment): {', '.join(status.unmapped)}; set them with:")
        lines.append(f"  escalade tenant configure {slug} --option "
                     f"'{status.option}={json.dumps(proposal)}'")
    elif status.used:
        lines.append(f"every matrix {noun} is mapped: {', '.join(status.used)}")
    return lines


def _id_value(value: Any) -> Any:
    text = str(value)
    return int(text) if text.isdigit() else text


def webhook_lines(runtime: Any, tenant_row: Any, generated_secret: str | None) -> list[str]:
    """The webhook URL, the secret when Escalade made it, and where to register it."""
    from integration import store
    from integration.workspaces.service import (
        REGISTRATION,
        SECRET_FROM_HELPDESK,
        public_url,
        registration_steps,
        webhook_url,
    )

    url = webhook_url(public_url(runtime.config), tenant_row.helpdesk, tenant_row.slug)
    lines = [f"webhook URL: {url}"]
    if generated_secret:
        lines.append(f"webhook secret (shown once): {generated_secret}")
    elif tenant_row.helpdesk in SECRET_FROM_HELPDESK:
        has = bool(store.tenant_secrets(tenant_row, runtime.cipher).get("webhook_secret"))
        if not has:
            lines.append("webhook secret: not set yet, the helpdesk creates it (see below)")
    found = REGISTRATION.get(tenant_row.helpdesk)
    if found is not None and found.needed:
        label = HELPDESK_NAMES.get(tenant_row.helpdesk, tenant_row.helpdesk)
        lines.append(f"register it in {label} ({found.where}):")
        steps = registration_steps(tenant_row.helpdesk, url=url, slug=tenant_row.slug)
        lines += [f"  {n}. {step}" for n, step in enumerate(steps, start=1)]
    return lines


@tenant.command("list")
def tenant_list() -> None:
    """List workspaces (secrets never shown)."""
    from integration import store

    runtime = runtime_of(click.get_current_context())
    with store.session_scope(runtime.sessions) as s:
        rows = store.list_tenants(s)
        if not rows:
            click.echo("no tenants")
        for row in rows:
            click.echo(f"{row.slug}\t{row.helpdesk}\t{row.base_url or '-'}\t{row.name}")


@tenant.command("remove")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def tenant_remove(slug: str, yes: bool) -> None:
    """Remove a workspace and all its data."""
    from integration import store

    if not yes:
        click.confirm(f"Remove tenant {slug!r} and all its tickets and decisions?", abort=True)
    runtime = runtime_of(click.get_current_context())
    with store.session_scope(runtime.sessions) as s:
        if not store.remove_tenant(s, slug):
            raise _no_workspace(slug)
    click.echo(f"tenant {slug!r} removed")


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
    from integration.workspaces.service import set_secret

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
    from integration.workspaces.service import CheckFailed
    from integration.workspaces.service import connect as connect_tenant

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
    from integration.workspaces.install_secrets import SECRET_GRACE
    from integration.workspaces.service import group_status, store_secrets
    from integration.workspaces.validation import MIN_WEBHOOK_SECRET, check_adapter, check_options

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
            raise _no_workspace(slug)
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
    from integration.workspaces.service import check_stored, group_status

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


# --- helpers -----------------------------------------------------------------------------


CONNECTOR_NAMES = {"slack": "Slack", "crm": "HubSpot", "jira": "Jira", "linear": "Linear",
                   "helpdesk": "helpdesk"}


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs (JSON values allowed, ``@file`` reads a file); errors name the pair."""
    from integration.workspaces.validation import parse_option_pairs

    try:
        return parse_option_pairs(pairs, base_dir=Path.cwd())
    except ValidationError as err:
        raise bad_input(err, {"options": "--option"}) from err


def _tenant(runtime: Any, slug: str) -> Any:
    from integration import store

    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, slug)
        if row is None:
            raise _no_workspace(slug)
        s.expunge(row)
        return row


def _no_workspace(slug: str) -> click.ClickException:
    """A slug that names no workspace: bad input (exit 2), said the same way everywhere."""
    return BadInput(f"SLUG: no workspace {slug!r} (see `escalade tenant list`)")


def _connect_flags(connector: str) -> dict[str, str]:
    flags = {TOKEN_SECRET[connector]: "--token", "email": "--email",
             "webhook_secret": "--webhook-secret", "tenant": "SLUG"}
    return flags


def _secret_lines(runtime: Any, row: Any) -> list[str]:
    from integration.calendars import format_local
    from integration.workspaces.service import secret_statuses

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
