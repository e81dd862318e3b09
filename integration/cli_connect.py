"""``escalade tenant connect`` and ``escalade tenant configure``: connectors and context sources.

    escalade tenant connect acme slack --token xoxb-... --option channel=C0123ABCD \
        --option team_id=T0123 --option 'users={"U0ABC": "42"}' [--check]
    escalade tenant connect acme crm --token pat-... [--option 'properties={"arr": "arr_usd"}']
    escalade tenant configure acme --option 'activity={"kind": "csv", "path": "usage.csv"}' \
        --option routing=@routing.json --option calendar=business_us

Every setting is validated before anything is stored; a bad one names the option and field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from integration.errors import EscaladeError, ValidationError

__all__ = ["parse_options", "register"]

# Connector -> the secret its token is stored under.
TOKEN_SECRET = {"slack": "bot_token", "crm": "access_token", "jira": "api_token",
                "linear": "api_key"}


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs: JSON values allowed, ``@file`` reads a file; errors name the pair."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--option")
        if raw.startswith("@"):
            try:
                raw = Path(raw[1:]).read_text(encoding="utf-8")
            except OSError as err:
                raise click.BadParameter(f"{key}: cannot read {raw[1:]!r}: {err.strerror}",
                                         param_hint="--option") from err
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def _tenant(runtime: Any, slug: str) -> Any:
    from integration import store

    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, slug)
        if row is None:
            raise click.ClickException(f"no tenant {slug!r}")
        s.expunge(row)
        return row


def _check_context_settings(runtime: Any, settings: dict[str, Any]) -> None:
    from integration.activity import ActivitySource, CsvActivitySource
    from integration.errors import ConfigurationError
    from integration.routing import RoutingTable
    from integration.summary import summarizer_from_settings

    if "calendar" in settings and settings["calendar"] not in runtime.matrix.calendars:
        known = ", ".join(sorted(runtime.matrix.calendars))
        raise ValidationError("calendar", f"{settings['calendar']!r} is not in the matrix "
                              f"(calendars: {known})")
    if "activity" in settings:
        source = ActivitySource.from_settings(settings["activity"], base_dir=Path.cwd())
        if isinstance(source, CsvActivitySource):
            source.load()
    if "routing" in settings:
        RoutingTable.from_settings(settings["routing"], calendars=runtime.matrix.calendars)
    if "summary_provider" in settings or "summary_llm" in settings:
        try:
            summarizer_from_settings(settings)
        except ConfigurationError as err:
            raise ValidationError("summary_provider", str(err)) from err


def register(tenant: click.Group, runtime_of: Any) -> None:
    """Add ``connect`` and ``configure`` to the ``escalade tenant`` group."""

    @tenant.command("connect")
    @click.argument("slug")
    @click.argument("connector", type=click.Choice(sorted(TOKEN_SECRET)))
    @click.option("--token", envvar="ESCALADE_CONNECTOR_TOKEN", default=None,
                  help="Slack bot token (xoxb-...) or HubSpot private app token.")
    @click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
                  help="Connector setting (JSON values allowed, @file reads a file).")
    @click.option("--email", default=None, help="Jira: the account the API token belongs to.")
    @click.option("--webhook-secret", default=None,
                  help="Jira / Linear: the secret their webhooks are signed with.")
    @click.option("--check", is_flag=True, help="Call the vendor once to test the connection.")
    def connect(slug: str, connector: str, token: str | None, options: tuple[str, ...],
                email: str | None, webhook_secret: str | None, check: bool) -> None:
        """Connect Slack, the CRM (HubSpot), Jira or Linear; secrets are encrypted at rest."""
        from adapters.connectors.registry import build_connector
        from integration import store

        runtime = runtime_of(click.get_current_context())
        row = _tenant(runtime, slug)
        settings = dict((row.settings or {}).get(connector) or {})
        settings.update(parse_options(options))
        given = {TOKEN_SECRET[connector]: token, "email": email,
                 "webhook_secret": webhook_secret}
        given = {k: v for k, v in given.items() if v}
        secrets = {f"{connector}.{k}": v for k, v in given.items()}
        config = runtime.connector_config(row, connector)
        credentials = {**config.credentials, **given}
        try:
            built = build_connector(
                type(config)(tenant=slug, connector=connector, credentials=credentials,
                              settings=settings, base_url=settings.get("base_url")),
                sessions=runtime.sessions,
            )
            described = built.test_connection() if check else None
        except EscaladeError as err:
            raise click.UsageError(f"{connector}: {err}") from err
        connectors = sorted({*((row.settings or {}).get("connectors") or []), connector})
        with store.session_scope(runtime.sessions) as s:
            live = store.get_tenant(s, slug)
            assert live is not None
            store.update_tenant(s, live, cipher=runtime.cipher, secrets=secrets,
                                settings={connector: settings, "connectors": connectors})
        runtime.forget_adapters()
        click.echo(f"{connector} connected for {slug!r}" + (f": {described}" if described else ""))

    @tenant.command("configure")
    @click.argument("slug")
    @click.option("--option", "options", multiple=True, metavar="KEY=VALUE", required=True,
                  help="calendar=NAME, activity=JSON, routing=JSON or @file.json, "
                       "summary_provider=extractive.")
    def configure(slug: str, options: tuple[str, ...]) -> None:
        """Set a tenant's calendar, product-activity source and routing table."""
        from integration import store

        runtime = runtime_of(click.get_current_context())
        _tenant(runtime, slug)
        settings = parse_options(options)
        try:
            _check_context_settings(runtime, settings)
        except ValidationError as err:
            raise click.UsageError(str(err)) from err
        with store.session_scope(runtime.sessions) as s:
            live = store.get_tenant(s, slug)
            assert live is not None
            store.update_tenant(s, live, cipher=runtime.cipher, settings=settings)
        runtime.forget_adapters()
        click.echo(f"{slug!r}: " + ", ".join(sorted(settings)) + " saved")
