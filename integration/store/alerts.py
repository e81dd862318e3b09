"""Alert messages: where each escalation's Slack message lives, and what happened to it.

One row per escalation (tenant, dedupe key): the channel and ``ts`` Slack gave the message,
the payload it shows, its state (acknowledged, owned, snoozed, SLA events, follow-ups already
threaded) and ``thread_ts`` when the message is itself a reply (an alert held by the rate
limit lives in the thread of the channel's summary of held alerts, whose row is kind
``held_summary``). A row with ``ts`` NULL is a claim: a worker is posting it right now, so a
second worker does not post it twice.

The per-channel rate limit is ``alert_rate_slots``: ``rate_limit`` slots per channel, each
usable once per window; a post takes one with a conditional UPDATE, which one statement
decides on SQLite and PostgreSQL alike, so concurrent workers never exceed the limit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.models import OutboxOutcome, TicketFacts
from integration.store.bugs import BugGroupRow, BugGroupTicketRow
from integration.store.db import Base, UTCDateTime
from integration.store.ops import insert_ignore
from integration.store.tables import DecisionRow, OutboxRow, TenantRow, TicketRow

__all__ = [
    "HELD_SUMMARY",
    "AlertMessageRow",
    "AlertRateSlotRow",
    "alert_by_id",
    "claim_alert",
    "forget_alert",
    "get_alert",
    "held_in",
    "latest_for_ticket",
    "live_summary",
    "mark_posted",
    "open_alert",
    "open_alert_key",
    "outbox_outcome",
    "release_claim",
    "take_rate_slot",
    "tenant_id_for",
    "ticket_facts",
]

# ``payload["kind"]`` of the row that stands for a channel's summary of held alerts.
HELD_SUMMARY = "held_summary"
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)

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
    # Set when the message is a reply: the thread its follow-ups go to.
    thread_ts: Mapped[str | None] = mapped_column(String(32))
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


class AlertRateSlotRow(Base):
    """One of a channel's posting slots: usable again one window after ``used_at``."""

    __tablename__ = "alert_rate_slots"
    __table_args__ = (UniqueConstraint("tenant_id", "channel", "slot"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(64))
    slot: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)


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


def alert_by_id(s: Session, row_id: int) -> AlertMessageRow | None:
    """One alert row by its id, or None when it was dropped meanwhile."""
    return s.get(AlertMessageRow, row_id)


def forget_alert(s: Session, row: AlertMessageRow) -> None:
    """Drop an alert row (a held claim that can never have been posted)."""
    s.delete(row)
    s.flush()


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
    s: Session, row: AlertMessageRow, *, channel: str, ts: str, fingerprint: str, now: datetime,
    thread_ts: str | None = None,
) -> None:
    """Record the ``ts`` Slack gave the message: the claim becomes the escalation's message."""
    row.channel = channel
    row.ts = ts
    row.thread_ts = thread_ts
    row.delivered = [fingerprint]
    row.updated_at = now
    s.flush()


def release_claim(s: Session, *, row_id: int) -> None:
    """Drop a claim whose post failed, so the retry can claim again."""
    s.execute(
        delete(AlertMessageRow).where(AlertMessageRow.id == row_id, AlertMessageRow.ts.is_(None))
    )


def take_rate_slot(
    s: Session, *, tenant_id: int, channel: str, limit: int, window: timedelta, now: datetime
) -> datetime | None:
    """Take a posting slot of the channel; None when taken, else when the next one frees.

    At most ``limit`` posts in any ``window``: each slot is used at most once per window,
    and the conditional UPDATE lets exactly one of two concurrent workers take a slot.
    """
    mine = (AlertRateSlotRow.tenant_id == tenant_id, AlertRateSlotRow.channel == channel,
            AlertRateSlotRow.slot < limit)
    have = s.scalar(select(func.count()).select_from(AlertRateSlotRow).where(*mine)) or 0
    if have < limit:
        for slot in range(limit):
            insert_ignore(s, AlertRateSlotRow, {"tenant_id": tenant_id, "channel": channel,
                                                "slot": slot, "used_at": _NEVER},
                          ("tenant_id", "channel", "slot"))
    free = AlertRateSlotRow.used_at <= now - window
    candidates = s.scalars(select(AlertRateSlotRow.id).where(*mine, free)
                           .order_by(AlertRateSlotRow.used_at, AlertRateSlotRow.slot))
    for slot_id in list(candidates):
        taken = s.execute(
            update(AlertRateSlotRow)
            .where(AlertRateSlotRow.id == slot_id, free)
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount:  # type: ignore[attr-defined]
            return None
    oldest = s.scalar(select(func.min(AlertRateSlotRow.used_at)).where(*mine))
    return (oldest or now) + window


def live_summary(
    s: Session, *, tenant_id: int, channel: str, since: datetime
) -> AlertMessageRow | None:
    """The channel's summary of held alerts opened after ``since`` (posted or being posted)."""
    return s.scalar(
        select(AlertMessageRow)
        .where(
            AlertMessageRow.tenant_id == tenant_id,
            AlertMessageRow.channel == channel,
            AlertMessageRow.dedupe_key.startswith(f"{HELD_SUMMARY}:{channel}:"),
            AlertMessageRow.posted_at > since,
        )
        .order_by(AlertMessageRow.posted_at.desc(), AlertMessageRow.id.desc())
        .limit(1)
    )


def held_in(s: Session, *, tenant_id: int, channel: str, thread_ts: str) -> list[AlertMessageRow]:
    """The alerts posted in one summary's thread (the escalations it holds), oldest first."""
    return list(s.scalars(
        select(AlertMessageRow)
        .where(
            AlertMessageRow.tenant_id == tenant_id,
            AlertMessageRow.channel == channel,
            AlertMessageRow.thread_ts == thread_ts,
        )
        .order_by(AlertMessageRow.id)
    ))


def open_alert(s: Session, *, tenant_id: int, dedupe_key: str) -> bool:
    """Whether the alert ``dedupe_key`` has a message in Slack (posted, not just claimed)."""
    found = s.scalar(select(AlertMessageRow.id).where(
        AlertMessageRow.tenant_id == tenant_id, AlertMessageRow.dedupe_key == dedupe_key,
        AlertMessageRow.ts.is_not(None)))
    return found is not None


def open_alert_key(s: Session, *, tenant_id: int, ticket_key: str) -> str | None:
    """The dedupe key of the ticket's posted Tier 3 alert, if it has one."""
    key = f"{ticket_key}:tier_3"
    return key if open_alert(s, tenant_id=tenant_id, dedupe_key=key) else None


def ticket_facts(s: Session, *, tenant_id: int, ticket_key: str) -> TicketFacts:
    """The ticket's link and summary (latest handoff) and the tracker issue of its bug group."""
    parts = ticket_key.split(":", 2)
    if len(parts) != 3:
        return TicketFacts()
    _, helpdesk, external_id = parts
    ticket_id = s.scalar(select(TicketRow.id).where(
        TicketRow.tenant_id == tenant_id, TicketRow.helpdesk == helpdesk,
        TicketRow.external_id == external_id))
    if ticket_id is None:
        return TicketFacts()
    handoff = s.scalar(
        select(DecisionRow.handoff)
        .where(DecisionRow.ticket_id == ticket_id, DecisionRow.handoff.is_not(None))
        .order_by(DecisionRow.id.desc())
        .limit(1)
    ) or {}
    issue = s.execute(
        select(BugGroupRow.tracker_key, BugGroupRow.tracker_url)
        .join(BugGroupTicketRow, BugGroupTicketRow.group_id == BugGroupRow.id)
        .where(BugGroupTicketRow.ticket_id == ticket_id, BugGroupRow.tracker_key.is_not(None))
        .order_by(BugGroupRow.id.desc())
        .limit(1)
    ).first()
    return TicketFacts(
        ticket_url=handoff.get("ticket_url") or None,
        summary=handoff.get("summary") or None,
        tracker_key=issue[0] if issue else None,
        tracker_url=issue[1] if issue else None,
    )


def outbox_outcome(s: Session, *, idempotency_key: str) -> OutboxOutcome | None:
    """The outcome so far of the outbox row queued under ``idempotency_key``."""
    found = s.execute(
        select(OutboxRow.status, OutboxRow.last_error, OutboxRow.next_attempt_at,
               OutboxRow.actions)
        .where(OutboxRow.idempotency_key == idempotency_key)
    ).first()
    if found is None:
        return None
    payloads = tuple(dict(a.get("payload") or {}) for a in found[3] or ())
    return OutboxOutcome(status=found[0], error=found[1], next_attempt_at=found[2],
                         payloads=payloads)
