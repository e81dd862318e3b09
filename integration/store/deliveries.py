"""The outbox as an admin reads it: each delivery's state, counts per state, filtered lists.

States, from the stored status and attempt count (a claim counts an attempt; the admin's
"retry" resets the count):

- ``failed``    gave up, or the vendor refused for good: waits for "retry";
- ``retrying``  failed at least once and waits for its next attempt (or is on it now);
- ``queued``    waits for its first attempt;
- ``sending``   a worker is on its first attempt;
- ``delivered`` landed.

"Needs attention" is ``failed`` and ``retrying``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from integration.store.tables import OutboxRow, OutboxStatus, TenantRow

__all__ = ["ATTENTION", "STATES", "delivery_counts", "delivery_state", "list_deliveries"]

STATES: tuple[str, ...] = ("failed", "retrying", "queued", "sending", "delivered")
ATTENTION: frozenset[str] = frozenset({"failed", "retrying"})

_PENDING = OutboxStatus.PENDING.value
_INFLIGHT = OutboxStatus.INFLIGHT.value


def delivery_state(status: str, attempts: int) -> str:
    """The state an admin sees for a row with this stored status and attempt count."""
    if status == _PENDING:
        return "retrying" if attempts > 0 else "queued"
    if status == _INFLIGHT:
        return "retrying" if attempts > 1 else "sending"
    return status


def _condition(state: str) -> ColumnElement[bool]:
    status, attempts = OutboxRow.status, OutboxRow.attempts
    conditions: dict[str, ColumnElement[bool]] = {
        "failed": status == OutboxStatus.FAILED.value,
        "retrying": or_(and_(status == _PENDING, attempts > 0),
                        and_(status == _INFLIGHT, attempts > 1)),
        "queued": and_(status == _PENDING, attempts <= 0),
        "sending": and_(status == _INFLIGHT, attempts <= 1),
        "delivered": status == OutboxStatus.DELIVERED.value,
    }
    return conditions[state]


def _state_column() -> ColumnElement[str]:
    return case(*((_condition(state), state) for state in STATES), else_="other")


def delivery_counts(s: Session, *, tenant_slug: str | None = None) -> dict[str, int]:
    """How many deliveries are in each state, plus ``attention`` and ``all``."""
    state = _state_column().label("state")
    query = select(state, func.count()).select_from(OutboxRow).group_by(state)
    if tenant_slug:
        query = query.join(TenantRow, TenantRow.id == OutboxRow.tenant_id).where(
            TenantRow.slug == tenant_slug)
    counts = dict.fromkeys(STATES, 0)
    for name, n in s.execute(query):
        counts[str(name)] = counts.get(str(name), 0) + int(n)
    counts["attention"] = sum(counts[name] for name in ATTENTION)
    counts["all"] = sum(n for name, n in counts.items() if name not in ("attention", "all"))
    return counts


def list_deliveries(
    s: Session, *, states: Sequence[str], tenant_slug: str | None = None, limit: int = 200
) -> list[tuple[OutboxRow, str]]:
    """Rows in any of ``states`` (all rows when empty), newest first, with the tenant slug."""
    query = select(OutboxRow, TenantRow.slug).join(TenantRow, TenantRow.id == OutboxRow.tenant_id)
    if states:
        query = query.where(or_(*(_condition(state) for state in states)))
    if tenant_slug:
        query = query.where(TenantRow.slug == tenant_slug)
    query = query.order_by(OutboxRow.created_at.desc(), OutboxRow.id.desc()).limit(limit)
    return [(row, slug) for row, slug in s.execute(query).all()]
