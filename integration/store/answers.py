"""What Escalade did with the team's knowledge on each ticket: one row per ticket.

The row is written with the decision that answered or suggested (``integration.decisions``),
so a ticket is answered at most once even when two workers decide it at the same moment: the
second insert finds the row and does nothing. The pipeline reads it back to know whether a
customer who writes again is writing after an automatic answer; the sidebar reads the
suggestions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.answer.respond import AnswerRecord
from integration.matrix.schema import AnswerMode
from integration.store.db import Base, UTCDateTime
from integration.store.ops import insert_ignore
from integration.store.tables import BigId

__all__ = ["TicketAnswerRow", "answer_for_ticket", "mark_declined", "save_answer"]


class TicketAnswerRow(Base):
    """The answer or the suggestions Escalade gave one ticket."""

    __tablename__ = "ticket_answers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           unique=True)
    mode: Mapped[str] = mapped_column(String(16))
    answered: Mapped[bool] = mapped_column(Boolean)
    doc_id: Mapped[str | None] = mapped_column(String(200))
    doc_title: Mapped[str | None] = mapped_column(String(500))
    doc_url: Mapped[str | None] = mapped_column(String(1000))
    confidence: Mapped[float] = mapped_column(Float)
    why: Mapped[str] = mapped_column(Text)
    suggestions: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the customer wrote back for more after an automatic answer.
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return (f"TicketAnswerRow(ticket_id={self.ticket_id!r}, mode={self.mode!r}, "
                f"answered={self.answered!r}, doc_id={self.doc_id!r})")


def save_answer(s: Session, *, tenant_id: int, ticket_id: int, record: AnswerRecord) -> bool:
    """Store ``record`` unless the ticket already has one; True when stored."""
    return insert_ignore(s, TicketAnswerRow, {
        "tenant_id": tenant_id, "ticket_id": ticket_id, "mode": record.mode.value,
        "answered": record.answered, "doc_id": record.doc_id, "doc_title": record.doc_title,
        "doc_url": record.doc_url, "confidence": record.confidence, "why": record.why,
        "suggestions": record.suggestions_json(), "answered_at": record.at,
        "declined_at": None,
    }, conflict=("ticket_id",))


def answer_for_ticket(s: Session, ticket_id: int) -> AnswerRecord | None:
    """The stored answer or suggestions of a ticket, or None."""
    row = s.scalars(select(TicketAnswerRow).where(TicketAnswerRow.ticket_id == ticket_id)).first()
    if row is None:
        return None
    return AnswerRecord(
        mode=AnswerMode(row.mode), answered=row.answered, doc_id=row.doc_id,
        doc_title=row.doc_title, doc_url=row.doc_url, confidence=row.confidence, why=row.why,
        at=row.answered_at, suggestions=AnswerRecord.suggestions_from(row.suggestions),
        declined_at=row.declined_at,
    )


def mark_declined(s: Session, *, ticket_id: int, at: datetime) -> bool:
    """Note when the customer first wrote back after the automatic answer; True the first time."""
    result = s.execute(
        update(TicketAnswerRow)
        .where(TicketAnswerRow.ticket_id == ticket_id, TicketAnswerRow.answered.is_(True),
               TicketAnswerRow.declined_at.is_(None))
        .values(declined_at=at)
    )
    return bool(getattr(result, "rowcount", 0))
