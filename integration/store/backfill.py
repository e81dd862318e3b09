"""History imports: the ``backfill_runs`` table and the repositories the runner commits with.

A run remembers where the vendor's export stopped (``cursor``), so an import killed between
pages resumes at the next one. ``import_ticket`` stores a helpdesk's past ticket without
deciding anything: it never replaces a newer stored state with an older one and never touches
what live decisions wrote (tier, SLA due time, input fingerprint).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.models import Ticket, account_key, requester_key
from integration.store.db import Base, UTCDateTime
from integration.store.ops import insert_ignore
from integration.store.overview import search_text
from integration.store.tables import BigId, TicketRow

__all__ = [
    "BackfillRunRow",
    "BackfillStatus",
    "fail_backfill_run",
    "import_ticket",
    "latest_backfill_run",
    "mark_backfill_run",
    "record_backfill_page",
    "start_backfill_run",
]

_ERROR_CHARS = 2000


class BackfillStatus(StrEnum):
    """Lifecycle of a history import."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BackfillRunRow(Base):
    """One history import of a tenant's helpdesk and how far it got."""

    __tablename__ = "backfill_runs"
    __table_args__ = (Index(None, "tenant_id", "helpdesk", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    helpdesk: Mapped[str] = mapped_column(String(32))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    # Opaque to us: whatever the adapter's last committed page said resumes after it.
    cursor: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=BackfillStatus.RUNNING.value)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    tickets_seen: Mapped[int] = mapped_column(Integer, default=0)
    tickets_stored: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    @property
    def resumable(self) -> bool:
        """True while the run has not finished (it was interrupted or gave up)."""
        return self.status != BackfillStatus.DONE.value

    def __repr__(self) -> str:
        return (
            f"BackfillRunRow(id={self.id!r}, helpdesk={self.helpdesk!r}, "
            f"status={self.status!r}, pages={self.pages!r})"
        )


def latest_backfill_run(s: Session, *, tenant_id: int, helpdesk: str) -> BackfillRunRow | None:
    """The tenant's most recent import from ``helpdesk``, or None."""
    return s.scalars(
        select(BackfillRunRow)
        .where(BackfillRunRow.tenant_id == tenant_id, BackfillRunRow.helpdesk == helpdesk)
        .order_by(BackfillRunRow.id.desc())
        .limit(1)
    ).one_or_none()


def start_backfill_run(
    s: Session, *, tenant_id: int, helpdesk: str, since: datetime, now: datetime
) -> BackfillRunRow:
    """Open a new import of everything changed since ``since``."""
    row = BackfillRunRow(
        tenant_id=tenant_id,
        helpdesk=helpdesk,
        since=since,
        cursor=None,
        status=BackfillStatus.RUNNING.value,
        pages=0,
        tickets_seen=0,
        tickets_stored=0,
        started_at=now,
        updated_at=now,
    )
    s.add(row)
    s.flush()
    return row


def record_backfill_page(
    s: Session,
    run_id: int,
    *,
    cursor: str | None,
    seen: int,
    stored: int,
    done: bool,
    now: datetime,
) -> None:
    """Advance the run past one page; commit it with the page's tickets."""
    s.execute(
        update(BackfillRunRow)
        .where(BackfillRunRow.id == run_id)
        .values(
            cursor=cursor,
            pages=BackfillRunRow.pages + 1,
            tickets_seen=BackfillRunRow.tickets_seen + seen,
            tickets_stored=BackfillRunRow.tickets_stored + stored,
            status=(BackfillStatus.DONE if done else BackfillStatus.RUNNING).value,
            last_error=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def mark_backfill_run(s: Session, run_id: int, *, status: BackfillStatus, now: datetime) -> None:
    """Set a run's status (``running`` again when it resumes, ``done`` at the end)."""
    s.execute(
        update(BackfillRunRow)
        .where(BackfillRunRow.id == run_id)
        .values(status=status.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def fail_backfill_run(s: Session, run_id: int, *, error: str, now: datetime) -> None:
    """Mark a run failed with why; its cursor stays, so it can resume."""
    s.execute(
        update(BackfillRunRow)
        .where(BackfillRunRow.id == run_id)
        .values(status=BackfillStatus.FAILED.value, last_error=error[:_ERROR_CHARS],
                updated_at=now)
        .execution_options(synchronize_session=False)
    )


def import_ticket(s: Session, *, tenant_id: int, ticket: Ticket) -> bool:
    """Store a past ticket from a history import; True when a row was inserted or updated.

    A new row gets no tier, SLA due time or fingerprint (nothing was decided). An existing
    row is only moved forward (the import's ``updated_at`` must be newer) and keeps what live
    decisions wrote, so the next live event on the ticket is still decided normally.
    """
    state = {
        "data": ticket.to_dict(),
        "search_text": search_text(ticket),
        "requester_key": requester_key(ticket),
        "account_key": account_key(ticket),
        "status": ticket.status.value,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }
    ident = {"tenant_id": tenant_id, "helpdesk": ticket.helpdesk, "external_id": ticket.id}
    if insert_ignore(s, TicketRow, {**ident, **state}, tuple(ident)):
        return True
    # One conditional UPDATE: atomic against a live worker storing the same ticket meanwhile.
    result = s.execute(
        update(TicketRow)
        .where(
            TicketRow.tenant_id == tenant_id,
            TicketRow.helpdesk == ticket.helpdesk,
            TicketRow.external_id == ticket.id,
            TicketRow.updated_at < ticket.updated_at,
        )
        .values(**state)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult for UPDATE
