"""Slack: escalation alerts in a channel (``client``), their Block Kit (``blocks``), and the
Bolt app that receives the alert buttons' clicks (``app``)."""

from __future__ import annotations

from adapters.connectors.slack.client import (
    METADATA_TYPE,
    SlackConnector,
    SlackSettings,
    slack_error,
)

__all__ = ["METADATA_TYPE", "SlackConnector", "SlackSettings", "slack_error"]
