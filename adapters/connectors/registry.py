"""Connector ids to classes: ``slack`` (alerts, manager alerts), ``crm`` (HubSpot), ``jira`` and
``linear`` (bug trackers)."""

from __future__ import annotations

from typing import Any

from adapters.connectors.base import Connector, ConnectorConfig
from integration.errors import ConfigurationError

__all__ = ["CONNECTORS", "build_connector", "target_connector"]

# Alert targets a matrix can name, and the connector that delivers each.
CONNECTORS = {"slack": "slack", "manager": "slack", "crm": "crm", "jira": "jira",
              "linear": "linear"}


def target_connector(target: str) -> str:
    """The connector that delivers alerts for ``target`` (``manager`` goes through Slack)."""
    try:
        return CONNECTORS[target]
    except KeyError as err:
        raise ConfigurationError(f"no connector delivers {target!r}") from err


def build_connector(config: ConnectorConfig, **kwargs: Any) -> Connector:
    """Build the connector ``config.connector`` names; extra arguments go to its constructor.

    ``sessions`` (the database) and ``ticket_links`` (ticket id -> where a person opens it)
    serve the Slack and CRM connectors; the trackers take neither.
    """
    if config.connector == "slack":
        from adapters.connectors.slack import SlackConnector

        return SlackConnector(config=config, **kwargs)
    if config.connector == "crm":
        from adapters.connectors.hubspot import HubSpotConnector

        return HubSpotConnector(config=config, **kwargs)
    if config.connector == "jira":
        from adapters.connectors.jira import JiraTracker

        kwargs.pop("sessions", None)
        kwargs.pop("ticket_links", None)
        return JiraTracker(config=config, **kwargs)
    if config.connector == "linear":
        from adapters.connectors.linear import LinearTracker

        kwargs.pop("sessions", None)
        kwargs.pop("ticket_links", None)
        return LinearTracker(config=config, **kwargs)
    raise ConfigurationError(
        f"unknown connector {config.connector!r} (use slack, crm, jira or linear)"
    )
