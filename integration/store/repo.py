"""Repositories for tenants and inbound events: plain functions over a ``Session``.

The caller owns the transaction (``session_scope``); nothing here commits, except the claim
functions, which take a session factory because a claim must be committed to mean anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from integration.errors import ConfigurationError, ValidationError
from integration.store.ops import claim_due, insert_ignore_id
from integration.store.tables import (
    DecisionRow,
    EventStatus,
    HelpdeskKind,
    InboundEventRow,
    OutboxRow,
    TenantRow,
    TicketRow,
)

if TYPE_CHECKING:
    from integration.crypto import SecretCipher

__all__ = [
    "add_tenant",
    "claim_pending_events",
    "count_events",
    "finish_event",
    "get_event",
    "get_tenant",
    "list_events",
    "detached_tenants",
    "list_tenants",
    "reencrypt_secrets",
    "remove_tenant",
    "retry_event",
    "record_inbound_event",
    "store_inbound_event",
    "tenant_by_id",
    "tenant_secrets",
    "update_tenant",
]

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


# --- tenants ------------------------------------------------------------------------------


def add_tenant(
    s: Session,
    *,
    slug: str,
    name: str,
    helpdesk: str,
    base_url: str | None,
    secrets: Mapping[str, str],
    settings: Mapping[str, Any],
    cipher: SecretCipher,
    now: datetime | None = None,
) -> TenantRow:
    """Register an install; ``secrets`` are encrypted before they reach the database."""
    if not _SLUG.match(slug):
        raise ValidationError("slug", f"{slug!r} must be 1-63 of a-z, 0-9 and inner '-'")
    if not name.strip():
        raise ValidationError("name", "must not be empty")
    try:
        kind = HelpdeskKind(helpdesk)
    except ValueError as err:
        allowed = ", ".join(k.value for k in HelpdeskKind)
        raise ValidationError("helpdesk", f"{helpdesk!r} is not one of: {allowed}") from err
    if get_tenant(s, slug) is not None:
        raise ValidationError("slug", f"tenant {slug!r} already exists")
    row = TenantRow(
        slug=slug,
        name=name.strip(),
        helpdesk=kind.value,
        base_url=base_url.rstrip("/") if base_url else None,
        secrets=cipher.encrypt_json(_secret_dict(secrets)),
        settings=dict(settings),
        created_at=now or datetime.now(UTC),
    )
    s.add(row)
    s.flush()
    return row


def get_tenant(s: Session, slug: str) -> TenantRow | None:
    """The tenant with ``slug``, or None."""
    return s.scalars(select(TenantRow).where(TenantRow.slug == slug)).one_or_none()


def detached_tenants(s: Session) -> list[TenantRow]:
    """Every tenant, by slug, detached so a long job can read them after ``s`` closes."""
    rows = list_tenants(s)
    for row in rows:
        s.expunge(row)
    return rows


def tenant_by_id(s: Session, tenant_id: int) -> TenantRow:
    """The tenant row, detached so it can be read after ``s`` closes; fails loudly if gone."""
    tenant = s.get(TenantRow, tenant_id)
    if tenant is None:
        raise ConfigurationError(f"tenant {tenant_id} no longer exists")
    s.expunge(tenant)
    return tenant


def list_tenants(s: Session) -> list[TenantRow]:
    """Every tenant, by slug."""
    return list(s.scalars(select(TenantRow).order_by(TenantRow.slug)))


def update_tenant(
    s: Session,
    row: TenantRow,
    *,
    cipher: SecretCipher,
    name: str | None = None,
    base_url: str | None = None,
    secrets: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> TenantRow:
    """Change an install; ``secrets`` and ``settings`` are merged into what is stored."""
    if name is not None:
        if not name.strip():
            raise ValidationError("name", "must not be empty")
        row.name = name.strip()
    if base_url is not None:
        row.base_url = base_url.rstrip("/") or None
    if secrets is not None:
        merged = {**tenant_secrets(row, cipher), **_secret_dict(secrets)}
        row.secrets = cipher.encrypt_json(merged)
    if settings is not None:
        # A new dict, so the ORM sees the change (JSON columns are not mutation-tracked).
        row.settings = {**(row.settings or {}), **settings}
    s.flush()
    return row


def remove_tenant(s: Session, slug: str) -> bool:
    """Delete a tenant and every row it owns; False when there was no such tenant."""
    row = get_tenant(s, slug)
    if row is None:
        return False
    # Explicit deletes, children first: correct even where ON DELETE CASCADE is not enforced.
    from integration.store.backfill import BackfillRunRow

    for model in (OutboxRow, DecisionRow, TicketRow, InboundEventRow, BackfillRunRow):
        s.execute(
            delete(model)
            .where(model.tenant_id == row.id)
            .execution_options(synchronize_session=False)
        )
    # The bulk deletes bypassed the identity map: drop the tenant's stale objects from it.
    for obj in list(s.identity_map.values()):
        if getattr(obj, "tenant_id", None) == row.id:
            s.expunge(obj)
    s.delete(row)
    s.flush()
    return True


def reencrypt_secrets(s: Session, cipher: SecretCipher) -> list[str]:
    """Re-encrypt every workspace's credentials under the cipher's first key; the slugs.

    All or nothing: a workspace no configured key opens raises ``ConfigurationError`` before
    anything is written, so the old key is never dropped while a secret still needs it.
    """
    rows = list_tenants(s)
    rotated = {}
    for row in rows:
        try:
            rotated[row.slug] = cipher.rotate(row.secrets)
        except ConfigurationError as err:
            raise ConfigurationError(f"workspace {row.slug!r}: {err}") from err
    for row in rows:
        row.secrets = rotated[row.slug]
    s.flush()
    return [row.slug for row in rows]


def tenant_secrets(row: TenantRow, cipher: SecretCipher) -> dict[str, str]:
    """The tenant's decrypted credentials; ``ConfigurationError`` if the key does not fit."""
    data = cipher.decrypt_json(row.secrets, context=f"tenant {row.slug!r}")
    return {str(k): str(v) for k, v in data.items()}


def _secret_dict(secrets: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in secrets.items():
        if not isinstance(value, str):
            raise ValidationError(f"secrets.{key}", "expected a string")
        out[str(key)] = value
    return out


# --- inbound events -----------------------------------------------------------------------


def store_inbound_event(
    s: Session,
    *,
    tenant_id: int,
    source: str,
    delivery_id: str,
    event_type: str,
    ticket_external_id: str | None,
    body: str,
    now: datetime | None = None,
) -> tuple[InboundEventRow, bool]:
    """Store an event before acting on it; ``(existing row, False)`` for a duplicate."""
    event_id, created = record_inbound_event(
        s, tenant_id=tenant_id, source=source, delivery_id=delivery_id, event_type=event_type,
        ticket_external_id=ticket_external_id, body=body, now=now or datetime.now(UTC))
    row = s.get(InboundEventRow, event_id)
    assert row is not None  # just stored or found in this transaction
    return row, created


def record_inbound_event(
    s: Session,
    *,
    tenant_id: int,
    source: str,
    delivery_id: str,
    event_type: str,
    ticket_external_id: str | None,
    body: str,
    now: datetime,
) -> tuple[int, bool]:
    """``store_inbound_event`` for the webhook path: ``(event id, created)``, one statement.

    A new delivery is one INSERT ... RETURNING; only a duplicate reads its row's id.
    """
    if not delivery_id:
        raise ValidationError("delivery_id", "must not be empty")
    key = {"tenant_id": tenant_id, "source": source, "delivery_id": delivery_id}
    new_id = insert_ignore_id(s, InboundEventRow, {
        **key, "event_type": event_type, "ticket_external_id": ticket_external_id,
        "body": body, "received_at": now, "status": EventStatus.PENDING.value, "attempts": 0,
        "next_attempt_at": now,
    }, tuple(key))
    if new_id is not None:
        return int(new_id), True
    existing = s.scalar(select(InboundEventRow.id).filter_by(**key))
    if existing is None:  # removed between the two statements: a tenant being deleted
        raise ValidationError("delivery_id", f"delivery {delivery_id!r} vanished")
    return int(existing), False


def get_event(s: Session, event_id: int) -> InboundEventRow | None:
    """The stored event with ``event_id``, or None."""
    return s.get(InboundEventRow, event_id)


def claim_pending_events(
    factory: sessionmaker[Session],
    *,
    now: datetime,
    limit: int = 20,
    lease: timedelta = timedelta(minutes=5),
) -> list[int]:
    """Take due events (or ones whose worker died) for processing; safe with many workers."""
    claims = claim_due(
        factory,
        InboundEventRow,
        waiting=EventStatus.PENDING.value,
        busy=EventStatus.PROCESSING.value,
        now=now,
        limit=limit,
        lease=lease,
    )
    return [c.id for c in claims]


def finish_event(
    s: Session,
    event_id: int,
    *,
    status: EventStatus,
    now: datetime,
    error: str | None = None,
) -> None:
    """Record the outcome of processing: done, ignored (with why) or failed (with why)."""
    if status not in (EventStatus.DONE, EventStatus.IGNORED, EventStatus.FAILED):
        raise ValidationError("status", f"{status.value!r} is not a final status")
    s.execute(
        update(InboundEventRow)
        .where(InboundEventRow.id == event_id)
        .values(status=status.value, error=error, processed_at=now, lease_until=None)
        .execution_options(synchronize_session="fetch")
    )


def retry_event(
    s: Session,
    event_id: int,
    *,
    error: str,
    now: datetime,
    delay: timedelta,
    max_attempts: int = 5,
) -> EventStatus:
    """Put an event back for a later try, or mark it failed once ``max_attempts`` are used."""
    row = s.get(InboundEventRow, event_id)
    if row is None:
        raise ValidationError("event_id", f"no inbound event {event_id}")
    if row.attempts >= max_attempts:
        row.status = EventStatus.FAILED.value
        row.error = f"gave up after {row.attempts} attempts: {error}"
        row.processed_at = now
    else:
        row.status = EventStatus.PENDING.value
        row.error = error
        row.next_attempt_at = now + delay
    row.lease_until = None
    s.flush()
    return EventStatus(row.status)


def count_events(s: Session, *, tenant_id: int | None = None) -> dict[str, int]:
    """How many events are in each status, for health checks and the admin page."""
    query = select(InboundEventRow.status, func.count()).group_by(InboundEventRow.status)
    if tenant_id is not None:
        query = query.where(InboundEventRow.tenant_id == tenant_id)
    counts = {status.value: 0 for status in EventStatus}
    for status, n in s.execute(query):
        counts[status] = n
    return counts


def list_events(
    s: Session, *, tenant_id: int, statuses: Sequence[EventStatus] = (), limit: int = 100
) -> list[InboundEventRow]:
    """A tenant's most recent events, optionally only in some statuses."""
    query = select(InboundEventRow).where(InboundEventRow.tenant_id == tenant_id)
    if statuses:
        query = query.where(InboundEventRow.status.in_([st.value for st in statuses]))
    query = query.order_by(InboundEventRow.received_at.desc(), InboundEventRow.id.desc())
    return list(s.scalars(query.limit(limit)))
