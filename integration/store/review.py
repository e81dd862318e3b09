"""What the monthly review reads, and the per-tenant calibrations it may turn on.

The review reads a tenant's tickets created in a window (with the tier Escalade last gave
each), and its agents' overrides in a window with the rules of the decision each one
corrected. A calibration is one version of a tenant's thresholds, validated by replay before
it was turned on; the one in force is also copied into the tenant's settings (``calibration``)
so deciding a ticket needs no extra query. Rolling back turns the previous version (or none)
back on, and every version stays listed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from integration.errors import ValidationError
from integration.models import Ticket
from integration.store.db import Base, UTCDateTime, session_scope
from integration.store.people import TierOverrideRow
from integration.store.tables import BigId, DecisionRow, TenantRow, TicketRow

__all__ = [
    "CALIBRATION_SETTING",
    "CalibrationRow",
    "OverrideFact",
    "StoredTicket",
    "active_calibration",
    "add_calibration",
    "calibrations",
    "overrides_between",
    "rollback_calibration",
    "tickets_between",
]

# The tenant setting that carries the calibration in force.
CALIBRATION_SETTING = "calibration"
BATCH = 1000


class CalibrationRow(Base):
    """One version of a tenant's calibrated thresholds, with the replay that validated it."""

    __tablename__ = "calibrations"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # active, rolled_back (an admin turned it off) or replaced (a newer one took over).
    status: Mapped[str] = mapped_column(String(16))
    category_confidence: Mapped[float] = mapped_column(Float)
    validation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredTicket:
    """A stored ticket and the tier Escalade last gave it (None: never decided)."""

    ticket: Ticket
    tier: int | None


@dataclass(frozen=True, kw_only=True, slots=True)
class OverrideFact:
    """An agent's override, with the ticket and the rules of the decision it corrected."""

    ticket_id: str
    subject: str
    from_tier: int | None
    to_tier: int
    reason: str
    agent: str | None
    created_at: datetime
    rules: tuple[str, ...]
    category: str | None


def tickets_between(sessions: sessionmaker[Session], *, tenant_id: int, since: datetime,
                    until: datetime, batch: int = BATCH) -> Iterator[StoredTicket]:
    """The tenant's tickets created in [since, until), oldest row first, read in batches."""
    last_id = 0
    while True:
        query = (select(TicketRow.id, TicketRow.data, TicketRow.tier)
                 .where(TicketRow.tenant_id == tenant_id, TicketRow.created_at >= since,
                        TicketRow.created_at < until, TicketRow.id > last_id)
                 .order_by(TicketRow.id).limit(batch))
        with session_scope(sessions) as s:
            rows = s.execute(query).all()
        if not rows:
            return
        for row_id, data, tier in rows:
            last_id = row_id
            try:
                ticket = Ticket.from_dict(data)
            except (ValidationError, KeyError, TypeError, ValueError):
                # An unreadable old row is the audit's to report; the review skips it.
                continue
            yield StoredTicket(ticket=ticket, tier=tier)


def overrides_between(s: Session, *, tenant_id: int, since: datetime,
                      until: datetime) -> list[OverrideFact]:
    """The tenant's overrides made in [since, until), oldest first."""
    query = (select(TierOverrideRow, TicketRow.external_id, TicketRow.data)
             .join(TicketRow, TicketRow.id == TierOverrideRow.ticket_id)
             .where(TierOverrideRow.tenant_id == tenant_id,
                    TierOverrideRow.created_at >= since, TierOverrideRow.created_at < until)
             .order_by(TierOverrideRow.created_at, TierOverrideRow.id))
    out = []
    for row, external_id, data in s.execute(query).all():
        corrected = _corrected_decision(s, row)
        out.append(OverrideFact(
            ticket_id=external_id, subject=str((data or {}).get("subject", "")),
            from_tier=row.from_tier, to_tier=row.to_tier, reason=row.reason, agent=row.agent,
            created_at=row.created_at,
            rules=tuple(str(r["rule_id"]) for r in (corrected.rules if corrected else [])
                        if isinstance(r, dict) and r.get("rule_id")),
            category=corrected.category if corrected else None,
        ))
    return out


def _corrected_decision(s: Session, row: TierOverrideRow) -> DecisionRow | None:
    # The decision the agent disagreed with: the ticket's last one before the override's own.
    query = select(DecisionRow).where(DecisionRow.ticket_id == row.ticket_id,
                                      DecisionRow.decided_at <= row.created_at)
    if row.decision_id is not None:
        query = query.where(DecisionRow.id != row.decision_id)
    return s.scalars(query.order_by(DecisionRow.decided_at.desc(), DecisionRow.id.desc())
                     .limit(1)).first()


def calibrations(s: Session, *, tenant_id: int, limit: int = 20) -> list[CalibrationRow]:
    """The tenant's calibration versions, newest first."""
    query = (select(CalibrationRow).where(CalibrationRow.tenant_id == tenant_id)
             .order_by(CalibrationRow.id.desc()).limit(limit))
    return list(s.scalars(query))


def active_calibration(s: Session, *, tenant_id: int) -> CalibrationRow | None:
    """The calibration in force for the tenant, if any."""
    query = (select(CalibrationRow)
             .where(CalibrationRow.tenant_id == tenant_id, CalibrationRow.status == "active")
             .order_by(CalibrationRow.id.desc()).limit(1))
    return s.scalars(query).first()


def add_calibration(s: Session, *, tenant: TenantRow, category_confidence: float,
                    validation: dict[str, Any], created_by: str | None,
                    now: datetime) -> CalibrationRow:
    """Turn a validated calibration on: the previous one is replaced, the tenant's setting set."""
    if not 0.0 <= category_confidence <= 1.0:
        raise ValidationError("category_confidence", "must be between 0 and 1")
    previous = active_calibration(s, tenant_id=tenant.id)
    if previous is not None:
        previous.status, previous.ended_at = "replaced", now
    row = CalibrationRow(tenant_id=tenant.id, status="active",
                         category_confidence=category_confidence, validation=validation,
                         created_by=created_by, created_at=now)
    s.add(row)
    s.flush()
    _set_setting(tenant, row)
    return row


def rollback_calibration(s: Session, *, tenant: TenantRow, now: datetime) -> CalibrationRow | None:
    """Turn the calibration in force off and the one it replaced back on; the one now in
    force (None: the matrix as written). ``ValidationError`` when none is in force."""
    current = active_calibration(s, tenant_id=tenant.id)
    if current is None:
        raise ValidationError("calibration", "no calibration is in force for this workspace")
    current.status, current.ended_at = "rolled_back", now
    query = (select(CalibrationRow)
             .where(CalibrationRow.tenant_id == tenant.id, CalibrationRow.id < current.id,
                    CalibrationRow.status == "replaced")
             .order_by(CalibrationRow.id.desc()).limit(1))
    previous = s.scalars(query).first()
    if previous is not None:
        previous.status, previous.ended_at = "active", None
    s.flush()
    _set_setting(tenant, previous)
    return previous


def _set_setting(tenant: TenantRow, row: CalibrationRow | None) -> None:
    settings = dict(tenant.settings or {})
    if row is None:
        settings.pop(CALIBRATION_SETTING, None)
    else:
        settings[CALIBRATION_SETTING] = {"version": row.id,
                                         "category_confidence": row.category_confidence}
    # A new dict, so the ORM sees the change (JSON columns are not mutation-tracked).
    tenant.settings = settings
