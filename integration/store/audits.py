"""History audits an admin asked for from the admin pages: queued, running, done or failed.

An audit of a workspace's stored history can take a minute, longer than a request should, so
the admin page queues one (``request_audit``) and the scheduler runs it: it claims the oldest
queued run (a conditional update, so two processes never run the same one), reports progress
as it goes, and stores the finished report (its JSON) on the row. A run whose process died is
claimed again once its lease has passed. The page shows the newest runs with their progress.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.store.db import Base, UTCDateTime
from integration.store.tables import BigId

__all__ = [
    "AuditRunRow",
    "AuditStatus",
    "audit_progress",
    "audit_runs",
    "claim_audit",
    "fail_audit",
    "finish_audit",
    "get_audit",
    "request_audit",
]

LEASE = timedelta(minutes=10)
MAX_ERROR_CHARS = 2000


class AuditStatus(StrEnum):
    """Where an audit run is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AuditRunRow(Base):
    """One audit of a tenant's stored history, with its report once done."""

    __tablename__ = "audit_runs"
    __table_args__ = (
        Index(None, "tenant_id", "created_at"),
        Index(None, "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    days: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"AuditRunRow(id={self.id!r}, tenant_id={self.tenant_id!r}, status={self.status!r})"


def request_audit(
    s: Session, *, tenant_id: int, days: int, requested_by: str | None, now: datetime
) -> tuple[AuditRunRow, bool]:
    """Queue an audit of the tenant's last ``days`` days; True when queued, False when one
    queued or running already is reused."""
    open_run = s.scalars(
        select(AuditRunRow).where(
            AuditRunRow.tenant_id == tenant_id,
            AuditRunRow.status.in_((AuditStatus.QUEUED.value, AuditStatus.RUNNING.value)),
        )
    ).first()
    if open_run is not None:
        return open_run, False
    row = AuditRunRow(tenant_id=tenant_id, status=AuditStatus.QUEUED.value, days=days,
                      requested_by=requested_by, created_at=now, done=0)
    s.add(row)
    s.flush()
    return row, True


def claim_audit(s: Session, *, now: datetime) -> AuditRunRow | None:
    """Take the oldest queued run (or one whose runner died) and mark it running."""
    candidates = s.scalars(
        select(AuditRunRow.id)
        .where(or_(
            AuditRunRow.status == AuditStatus.QUEUED.value,
            (AuditRunRow.status == AuditStatus.RUNNING.value) & (AuditRunRow.lease_until < now),
        ))
        .order_by(AuditRunRow.created_at, AuditRunRow.id)
        .limit(5)
    ).all()
    for run_id in candidates:
        taken = s.execute(
            update(AuditRunRow)
            .where(AuditRunRow.id == run_id, or_(
                AuditRunRow.status == AuditStatus.QUEUED.value,
                AuditRunRow.lease_until < now,
            ))
            .values(status=AuditStatus.RUNNING.value, started_at=now, lease_until=now + LEASE,
                    done=0)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount:  # type: ignore[attr-defined]
            return s.get(AuditRunRow, run_id, populate_existing=True)
    return None


def audit_progress(s: Session, run_id: int, *, done: int, total: int | None,
                   now: datetime) -> None:
    """Record how far a run is, and extend its lease (it is alive)."""
    s.execute(update(AuditRunRow).where(AuditRunRow.id == run_id)
              .values(done=done, total=total, lease_until=now + LEASE)
              .execution_options(synchronize_session=False))


def finish_audit(s: Session, run_id: int, *, report: dict[str, Any], now: datetime) -> None:
    """Store the finished report."""
    s.execute(update(AuditRunRow).where(AuditRunRow.id == run_id)
              .values(status=AuditStatus.DONE.value, report=report, finished_at=now,
                      lease_until=None, total=report.get("tickets"),
                      done=report.get("tickets") or 0)
              .execution_options(synchronize_session=False))


def fail_audit(s: Session, run_id: int, *, error: str, now: datetime) -> None:
    """Record why a run failed."""
    s.execute(update(AuditRunRow).where(AuditRunRow.id == run_id)
              .values(status=AuditStatus.FAILED.value, error=error[:MAX_ERROR_CHARS],
                      finished_at=now, lease_until=None)
              .execution_options(synchronize_session=False))


def get_audit(s: Session, run_id: int, *, tenant_id: int) -> AuditRunRow | None:
    """One of the tenant's runs, with its report."""
    row = s.get(AuditRunRow, run_id)
    return row if row is not None and row.tenant_id == tenant_id else None


def audit_runs(s: Session, *, tenant_id: int, limit: int = 10) -> list[AuditRunRow]:
    """The tenant's newest runs first."""
    return list(s.scalars(
        select(AuditRunRow).where(AuditRunRow.tenant_id == tenant_id)
        .order_by(AuditRunRow.created_at.desc(), AuditRunRow.id.desc()).limit(limit)
    ))
