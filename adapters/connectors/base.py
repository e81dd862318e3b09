"""What every outbound connector (Slack, HubSpot, ...) offers the outbox and the pipeline.

A connector is built per tenant from ``ConnectorConfig`` (decrypted credentials plus plain
settings) and delivers ``Action`` rows the outbox hands it. Errors follow the helpdesk
adapters' rules (``integration.errors``): ``RetriableError`` (with ``retry_after`` when the
vendor says so) is retried with backoff; ``FatalError`` is recorded as failed with the
vendor's message. A connector never sleeps and never retries by itself.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from adapters.helpdesk.base import ApplyResult, ConnectionCheck
from integration.models import Action

__all__ = ["Connector", "ConnectorConfig"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectorConfig:
    """One tenant's connection to one connector; ``base_url`` points tests at a local fake."""

    tenant: str
    connector: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    base_url: str | None = None


class Connector(abc.ABC):
    """An outbound connector: delivers actions whose ``target`` is its ``identifier``."""

    identifier: ClassVar[str]
    # What the process shares with this connector when the registry builds it: ``ledger``
    # (an ``AlertLedger``: the tenant's alert records), ``ticket_links`` (ticket id -> where
    # a person opens it) and ``ticket_facts`` (ticket key -> its link, summary and bug).
    # A connector never opens the database itself.
    shared: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *, config: ConnectorConfig) -> None:
        self.config = config

    @abc.abstractmethod
    def deliver(
        self, ticket_key: str, actions: Sequence[Action], *, uncertain: bool = False
    ) -> ApplyResult:
        """Write ``actions`` (all for this connector) about the ticket ``ticket_key``.

        ``uncertain``: an earlier attempt may have landed (a timeout, or a worker stopped
        between the call and recording it); look for what it wrote before writing again.
        """

    @abc.abstractmethod
    def test_connection(self) -> ConnectionCheck:
        """Check the credentials with one cheap call; ``message`` says who answered.

        Raises ``FatalError`` with the vendor's words when it refused the credentials.
        """

    def close(self) -> None:
        """Let go of pooled connections (nothing to do unless the connector keeps some)."""
        return None
