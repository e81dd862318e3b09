"""Alert messages: where each escalation's Slack message lives, and what happened to it.

One row per escalation (tenant, dedupe key): the channel and ``ts`` Slack gave the message,
the payload it shows, its state (acknowledged, owned, snoozed, SLA events, follow-ups already
threaded) and ``posted_at``, which the per-channel rate limit counts. A row with ``ts`` NULL
is a claim: a worker is posting it right now, so a second worker does not post it twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.store.db import Base, UTCDateTime
from integration.store.tables import TenantRow

__all__ = [
    "AlertMessageRow",
    "claim_alert",
    "count_alerts",
    "get_alert",
    "latest_for_ticket",
    "mark_posted",
    "recent_posts",
    "release_claim",
    "tenant_id_for",
]

BigId = BigInteger().with_variant(Integer(), "sqlite")


class AlertMessageRow(Base):
    """One escalation's alert message in a chat channel."""

    __tablename__ = "alert_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedupe_key"),
        Index(None, "tenant_id", "ticket_key"),
        Index(None, "tenant_id", "channel", "posted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    ticket_key: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Hashes of alert payloads already shown (the parent's and each threaded follow-up's),
    # so a redelivered alert changes nothing.
    delivered: Mapped[list[str]] = mapped_column(JSON, default=list)
    snooze_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return (
            f"AlertMessageRow(id={self.id!r}, dedupe_key={self.dedupe_key!r}, "
            f"channel={self.channel!r}, ts={self.ts!r})"
        )


def tenant_id_for(s: Session, slug: str) -> int | None:
    """The id of the tenant ``slug``, or None when it was removed."""
    return s.scalar(select(TenantRow.id).where(TenantRow.slug == slug))


def get_alert(s: Session, *, tenant_id: int, dedupe_key: str) -> AlertMessageRow | None:
    """The alert row of one escalation, posted or claimed."""
    return s.scalar(
        select(AlertMessageRow).where(
            AlertMessageRow.tenant_id == tenant_id, AlertMessageRow.dedupe_key == dedupe_key
        )
    )


def latest_for_ticket(s: Session, *, tenant_id: int, ticket_key: str) -> AlertMessageRow | None:
    """The newest posted alert of a ticket: where its SLA follow-ups are threaded."""
    return s.scalar(
        select(AlertMessageRow)
        .where(
            AlertMessageRow.tenant_id == tenant_id,
            AlertMessageRow.ticket_key == ticket_key,
            AlertMessageRow.ts.is_not(None),
        )
        .order_by(AlertMessageRow.posted_at.desc(), AlertMessageRow.id.desc())
        .limit(1)
    )


def recent_posts(
    s: Session, *, tenant_id: int, channel: str, since: datetime
) -> list[datetime]:
    """Post times of the channel's top-level alerts (and claims) since ``since``, oldest first."""
    return list(
        s.scalars(
            select(AlertMessageRow.posted_at)
            .where(
                AlertMessageRow.tenant_id == tenant_id,
                AlertMessageRow.channel == channel,
                AlertMessageRow.posted_at > since,
            )
            .order_by(AlertMessageRow.posted_at)
        )
    )


def claim_alert(
    s: Session,
    *,
    tenant_id: int,
    dedupe_key: str,
    ticket_key: str | None,
    channel: str,
    payload: dict[str, Any],
    now: datetime,
    stale_after: timedelta,
) -> AlertMessageRow | None:
    """Reserve the escalation's message before posting; None when another worker holds it.

    A claim older than ``stale_after`` belongs to a worker that died between claiming and
    posting; it is taken over (the one case that can post twice).
    """
    existing = get_alert(s, tenant_id=tenant_id, dedupe_key=dedupe_key)
    if existing is not None:
        if existing.ts is None and existing.posted_at <= now - stale_after:
            existing.posted_at = now
            existing.updated_at = now
            existing.channel = channel
            s.flush()
            return existing
        return None
    row = AlertMessageRow(
        tenant_id=tenant_id, dedupe_key=dedupe_key, ticket_key=ticket_key, channel=channel,
        payload=payload, state={}, delivered=[], posted_at=now, updated_at=now,
    )
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:
        return None
    return row


def mark_posted(
    s: Session, row: AlertMessageRow, *, channel: str, ts: str, fingerprint: str, now: datetime
) -> None:
    """Record the ``ts`` Slack gave the message: the claim becomes the escalation's message."""
    row.channel = channel
    row.ts = ts
    row.delivered = [fingerprint]
    row.updated_at = now
    s.flush()


def release_claim(s: Session, *, row_id: int) -> None:
    """Drop a claim whose post failed, so the retry can claim again."""
    s.execute(
        delete(AlertMessageRow).where(AlertMessageRow.id == row_id, AlertMessageRow.ts.is_(None))
    )


def count_alerts(s: Session, *, tenant_id: int) -> int:
    """How many escalations of the tenant have an alert message (for admin pages)."""
    return int(
        s.scalar(
            select(func.count()).select_from(AlertMessageRow).where(
                AlertMessageRow.tenant_id == tenant_id
            )
        )
        or 0
    )
