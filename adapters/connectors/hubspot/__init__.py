"""HubSpot: account context for triage and a note plus a task for the account manager
(``client``); status codes read in ``errors``; property values and note text in ``format``."""

from __future__ import annotations

from adapters.connectors.hubspot.client import HubSpotConnector
from adapters.connectors.hubspot.format import HubSpotCompany

__all__ = ["HubSpotCompany", "HubSpotConnector"]
