"""The explicit list of helpdesk adapters and connectors, imported lazily.

Each table maps an identifier to the module and class that implement it and the third-party
package it needs. Nothing is imported until a tenant uses it, and a vendor whose package is
missing fails with one clear line: "did not enable zendesk: the 'zenpy' package is not
installed". Nothing here scans folders or guesses names.
"""

from __future__ import annotations

import importlib
from typing import Any

from adapters.connectors.base import Connector, ConnectorConfig
from adapters.helpdesk.base import HelpdeskAdapter, HelpdeskConfig
from integration.errors import ConfigurationError
from integration.llm import ChatClient

__all__ = [
    "ALERT_TARGETS",
    "CONNECTORS",
    "HELPDESKS",
    "LLM_CLIENTS",
    "adapter_class",
    "build_adapter",
    "build_connector",
    "build_llm_client",
    "connector_class",
    "llm_client_class",
    "target_connector",
]

# identifier -> (module, class, the third-party package it needs)
HELPDESKS: dict[str, tuple[str, str, str | None]] = {
    "zendesk": ("adapters.helpdesk.zendesk", "ZendeskAdapter", "zenpy"),
    "freshdesk": ("adapters.helpdesk.freshdesk", "FreshdeskAdapter", None),
    "intercom": ("adapters.helpdesk.intercom", "IntercomAdapter", None),
    "sandbox": ("adapters.helpdesk.sandbox", "SandboxAdapter", None),
}
CONNECTORS: dict[str, tuple[str, str, str | None]] = {
    "slack": ("adapters.connectors.slack", "SlackConnector", "slack_sdk"),
    "crm": ("adapters.connectors.hubspot", "HubSpotConnector", "hubspot"),
    "jira": ("adapters.connectors.jira", "JiraTracker", "jira"),
    "linear": ("adapters.connectors.linear", "LinearTracker", None),
}
# A tenant's language model (``llm.provider``): the kinds of server it can talk to.
LLM_CLIENTS: dict[str, tuple[str, str, str | None]] = {
    "openai": ("adapters.llm.openai_client", "OpenAIChatClient", "openai"),
}
# Alert targets a matrix can name, and the connector that delivers each.
ALERT_TARGETS: dict[str, str] = {"slack": "slack", "manager": "slack", "crm": "crm",
                                 "jira": "jira", "linear": "linear"}
# What the process shares with the connectors that ask for it (``Connector.shared``).
_SHARED = frozenset({"ledger", "ticket_links", "ticket_facts"})

def _load(table: dict[str, tuple[str, str, str | None]], identifier: str, base: type,
          unknown: str) -> Any:
    try:
        module_name, class_name, package = table[identifier]
    except KeyError as err:
        raise ConfigurationError(unknown) from err
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        if package and err.name and err.name.split(".")[0] == package:
            raise ConfigurationError(
                f"did not enable {identifier}: the {package!r} package is not installed"
            ) from err
        raise
    cls = getattr(module, class_name)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigurationError(f"{module_name}.{class_name} is not a {base.__name__}")
    return cls


def adapter_class(identifier: str) -> type[HelpdeskAdapter]:
    """Import and return the adapter class for ``identifier``."""
    known = ", ".join(sorted(HELPDESKS))
    cls: type[HelpdeskAdapter] = _load(HELPDESKS, identifier, HelpdeskAdapter,
                                       f"unknown helpdesk {identifier!r} (known: {known})")
    return cls


def build_adapter(config: HelpdeskConfig, **kwargs: Any) -> HelpdeskAdapter:
    """Construct the adapter for a tenant's helpdesk connection."""
    return adapter_class(config.helpdesk)(config=config, **kwargs)


def connector_class(identifier: str) -> type[Connector]:
    """Import and return the connector class for ``identifier``."""
    *first, last = CONNECTORS
    cls: type[Connector] = _load(
        CONNECTORS, identifier, Connector,
        f"unknown connector {identifier!r} (use {', '.join(first)} or {last})")
    return cls


def build_connector(config: ConnectorConfig, **kwargs: Any) -> Connector:
    """Build the connector ``config.connector`` names; extra arguments go to its constructor.

    ``ledger`` (the tenant's alert records), ``ticket_links`` (ticket id -> where a person
    opens it) and ``ticket_facts`` (ticket key -> its link, summary and bug) reach only the
    connectors whose ``shared`` names them.
    """
    cls = connector_class(config.connector)
    given = {k: v for k, v in kwargs.items() if k not in _SHARED or k in cls.shared}
    return cls(config=config, **given)


def llm_client_class(identifier: str) -> type[ChatClient]:
    """Import and return the language-model client for ``identifier`` (``llm.provider``)."""
    known = ", ".join(sorted(LLM_CLIENTS))
    cls: type[ChatClient] = _load(LLM_CLIENTS, identifier, ChatClient,
                                  f"unknown language model provider {identifier!r} "
                                  f"(known: {known})")
    return cls


def build_llm_client(identifier: str, **kwargs: Any) -> ChatClient:
    """Build the client for a tenant's model; ``ConfigurationError`` if it cannot be."""
    return llm_client_class(identifier)(**kwargs)


def target_connector(target: str) -> str:
    """The connector that delivers alerts for ``target`` (``manager`` goes through Slack)."""
    try:
        return ALERT_TARGETS[target]
    except KeyError as err:
        raise ConfigurationError(f"no connector delivers {target!r}") from err
