"""One table registry for helpdesks and connectors: lazy, explicit, clear when an SDK is missing."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from adapters.connectors.base import Connector, ConnectorConfig
from adapters.helpdesk.base import HelpdeskAdapter
from adapters.registry import (
    ALERT_TARGETS,
    CONNECTORS,
    HELPDESKS,
    adapter_class,
    build_connector,
    connector_class,
    target_connector,
)
from integration.errors import ConfigurationError


@pytest.mark.parametrize("identifier", sorted(HELPDESKS))
def test_every_helpdesk_entry_is_its_adapter(identifier: str) -> None:
    cls = adapter_class(identifier)
    assert issubclass(cls, HelpdeskAdapter)
    assert cls.identifier == identifier


@pytest.mark.parametrize("identifier", sorted(CONNECTORS))
def test_every_connector_entry_is_its_connector(identifier: str) -> None:
    cls = connector_class(identifier)
    assert issubclass(cls, Connector)
    assert cls.identifier == identifier


def test_every_alert_target_has_a_connector() -> None:
    assert set(ALERT_TARGETS.values()) <= set(CONNECTORS)
    assert target_connector("manager") == "slack"
    with pytest.raises(ConfigurationError, match="no connector delivers 'pager'"):
        target_connector("pager")


def test_unknown_identifiers_name_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown helpdesk 'kayako' \(known: "):
        adapter_class("kayako")
    with pytest.raises(ConfigurationError,
                       match=r"unknown connector 'pager' \(use slack, crm, jira or linear\)"):
        connector_class("pager")


def _forget(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    for name in [m for m in sys.modules if m == module or m.startswith(f"{module}.")]:
        monkeypatch.delitem(sys.modules, name)


@pytest.mark.parametrize(("table", "identifier", "module", "package"), [
    ("helpdesk", "zendesk", "adapters.helpdesk.zendesk", "zenpy"),
    ("connector", "slack", "adapters.connectors.slack", "slack_sdk"),
    ("connector", "crm", "adapters.connectors.hubspot", "hubspot"),
    ("connector", "jira", "adapters.connectors.jira", "jira"),
])
def test_a_missing_sdk_says_which_vendor_was_not_enabled(
    monkeypatch: pytest.MonkeyPatch, table: str, identifier: str, module: str, package: str
) -> None:
    _forget(monkeypatch, module)
    monkeypatch.setitem(sys.modules, package, None)  # what an uninstalled package looks like
    load = adapter_class if table == "helpdesk" else connector_class
    with pytest.raises(ConfigurationError,
                       match=f"did not enable {identifier}: the '{package}' package is not "
                             "installed"):
        load(identifier)


def test_only_connectors_that_ask_get_the_shared_resources() -> None:
    shared: dict[str, Any] = {"ledger": object(), "ticket_links": lambda ticket: None,
                              "ticket_facts": lambda ticket_key: None}
    jira = build_connector(ConnectorConfig(
        tenant="acme", connector="jira", base_url="https://acme.atlassian.net",
        credentials={"email": "bot@acme.example", "api_token": "t0k"},
        settings={"project": "PAY"}), **shared)
    assert jira.identifier == "jira"
    crm = build_connector(ConnectorConfig(tenant="acme", connector="crm",
                                          credentials={"access_token": "pat-x"}), **shared)
    # HubSpot completes a note from the ticket's facts; it keeps no alert records.
    from adapters.connectors.hubspot import HubSpotConnector  # the class the registry loaded

    assert isinstance(crm, HubSpotConnector) and crm.ticket_facts is shared["ticket_facts"]
    crm.close()
