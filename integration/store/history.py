"""A tenant's stored ticket history, read for the audit and the matrix replay.

``stored_history`` streams the normalized tickets created in a window in batches keyed on the
row id, so memory stays flat whatever the history's size and no transaction is held open
while the caller works through a batch. A stored ticket that no longer reads as a ticket (a
row written by an older version with a field now required) is handed to ``on_skip`` with its
reason, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from integration.errors import ValidationError
from integration.models import Ticket
from integration.store.db import session_scope
from integration.store.tables import TicketRow

__all__ = ["count_history", "history_floor", "stored_history"]

BATCH = 1000


def count_history(s: Session, *, tenant_id: int, since: datetime) -> int:
    """How many of the tenant's stored tickets were created at or after ``since``."""
    return int(s.scalar(
        select(func.count()).select_from(TicketRow)
        .where(TicketRow.tenant_id == tenant_id, TicketRow.created_at >= since)
    ) or 0)


def history_floor(s: Session, *, since: datetime, newest: int,
                  tenant_id: int | None = None) -> int:
    """The row id below the ``newest`` most recently stored tickets created since ``since``.

    ``stored_history(after_id=...)`` with it reads only those; 0 when there are fewer.
    """
    query = select(TicketRow.id).where(TicketRow.created_at >= since)
    if tenant_id is not None:
        query = query.where(TicketRow.tenant_id == tenant_id)
    found = s.scalar(query.order_by(TicketRow.id.desc()).offset(newest).limit(1))
    return int(found or 0)


def stored_history(
    sessions: sessionmaker[Session],
    *,
    tenant_id: int | None,
    since: datetime,
    on_skip: Callable[[str, str], None] | None = None,
    batch: int = BATCH,
    after_id: int = 0,
) -> Iterator[Ticket]:
    """The stored tickets created at or after ``since`` (of one tenant, or of every one when
    ``tenant_id`` is None), in storage order, from the row after ``after_id``."""
    last_id = after_id
    while True:
        query = select(TicketRow.id, TicketRow.external_id, TicketRow.data).where(
            TicketRow.created_at >= since, TicketRow.id > last_id)
        if tenant_id is not None:
            query = query.where(TicketRow.tenant_id == tenant_id)
        with session_scope(sessions) as s:
            rows = s.execute(query.order_by(TicketRow.id).limit(batch)).all()
        if not rows:
            return
        for row_id, external_id, data in rows:
            last_id = row_id
            try:
                ticket = Ticket.from_dict(data)
            except (ValidationError, KeyError, TypeError, ValueError) as err:
                if on_skip is not None:
                    on_skip(external_id, f"stored ticket does not read: {err}")
                continue
            yield ticket
