"""The tables: tenants, inbound events, tickets, decisions and the outbox.

Portable by construction: ``JSON`` columns, aware UTC timestamps (:class:`UTCDateTime`),
64-bit ids on PostgreSQL (``INTEGER PRIMARY KEY`` on SQLite, which is its rowid).
The migrations in ``migrations/versions`` create exactly these; a test compares the two.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from integration.store.db import Base, UTCDateTime

__all__ = [
    "DecisionRow",
    "EventStatus",
    "HelpdeskKind",
    "InboundEventRow",
    "OutboxRow",
    "OutboxStatus",
    "TenantRow",
    "TicketRow",
]

BigId = BigInteger().with_variant(Integer(), "sqlite")
_LIST_FILTERS = ("tenant_id", "status", "category", "helpdesk", "search_text")


class HelpdeskKind(StrEnum):
    """The helpdesks a tenant can connect."""

    ZENDESK = "zendesk"
    FRESHDESK = "freshdesk"
    INTERCOM = "intercom"
    SANDBOX = "sandbox"


class EventStatus(StrEnum):
    """Lifecycle of a stored inbound event."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    IGNORED = "ignored"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    """Lifecycle of an outbound delivery."""

    PENDING = "pending"
    INFLIGHT = "inflight"
    DELIVERED = "delivered"
    FAILED = "failed"


class TenantRow(Base):
    """One install of the app: a helpdesk account and its encrypted credentials."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    helpdesk: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str | None] = mapped_column(String(500))
    # Fernet token of a JSON object (credentials and webhook secret); never plaintext.
    secrets: Mapped[str] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"TenantRow(id={self.id!r}, slug={self.slug!r}, helpdesk={self.helpdesk!r})"


class InboundEventRow(Base):
    """A webhook or backfill event, stored before anything acts on it."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", "delivery_id"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "tenant_id", "ticket_external_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    delivery_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    ticket_external_id: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return (
            f"InboundEventRow(id={self.id!r}, source={self.source!r}, "
            f"delivery_id={self.delivery_id!r}, status={self.status!r})"
        )


class TicketRow(Base):
    """The latest normalized state of a ticket and what Escalade decided about it."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "helpdesk", "external_id"),
        # Repeat-contact history: each key's tickets newest first (ticket_history).
        Index(None, "tenant_id", "requester_key", "created_at", "id"),
        Index(None, "tenant_id", "account_key", "created_at", "id"),
        Index(None, "status", "sla_due_at"),
        Index(None, "sla_next_at"),
        Index(None, "tenant_id", "assignee", "status"),
        # The start page's list (integration.store.overview), for every tenant and for one:
        # its order, then every column it filters on, so counting and filtering a page never
        # reads the tickets' JSON.
        Index("ix_tickets_list", "tier", "updated_at", "id", *_LIST_FILTERS),
        Index("ix_tickets_tenant_list", "tenant_id", "tier", "updated_at", "id",
              *_LIST_FILTERS[1:]),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    helpdesk: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    requester_key: Mapped[str | None] = mapped_column(String(320))
    account_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(100))
    tier: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The SLA clock (integration.sla): what the sweep last acted on and when it looks next.
    sla_state: Mapped[str | None] = mapped_column(String(16))
    sla_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_clock: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Status and tier changes over time, from which the clock is rebuilt.
    timeline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    input_fingerprint: Mapped[str | None] = mapped_column(String(128))
    # What the start page's search looks in, lower-cased (store.overview.search_text).
    search_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return (
            f"TicketRow(id={self.id!r}, helpdesk={self.helpdesk!r}, "
            f"external_id={self.external_id!r}, tier={self.tier!r})"
        )


class DecisionRow(Base):
    """One verdict of the matrix on a ticket, citing every rule that fired."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index(None, "ticket_id", "decided_at"),
        Index(None, "tenant_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_events.id", ondelete="SET NULL")
    )
    # What caused the decision: event, sla_sweep, backfill or manual.
    cause: Mapped[str] = mapped_column(String(16), default="event")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    matrix_version: Mapped[str] = mapped_column(String(128))
    tier: Mapped[int] = mapped_column(Integer)
    previous_tier: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    sentiment: Mapped[float] = mapped_column(Float)
    triggers: Mapped[list[str]] = mapped_column(JSON, default=list)
    signals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rules: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    route: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the next agent was told (integration.models.Handoff.to_dict); for the sidebar.
    handoff: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"DecisionRow(id={self.id!r}, ticket_id={self.ticket_id!r}, tier={self.tier!r})"


class OutboxRow(Base):
    """Actions to write somewhere, committed with the decision that caused them."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        Index(None, "tenant_id", "status"),
        Index(None, "ticket_id"),  # a ticket's write-backs, for its timeline
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("decisions.id", ondelete="SET NULL")
    )
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    target: Mapped[str] = mapped_column(String(32))
    ticket_external_id: Mapped[str | None] = mapped_column(String(100))
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An attempt may have landed without our knowing (timeout, worker killed mid-call): the
    # next delivery checks the vendor before resending.
    uncertain: Mapped[bool] = mapped_column(default=False, server_default=false())

    def __repr__(self) -> str:
        return (
            f"OutboxRow(id={self.id!r}, target={self.target!r}, status={self.status!r}, "
            f"attempts={self.attempts!r})"
        )
