"""Accounts as the at-risk score reads them, and whether each one's owner was told.

``account_histories`` reads, in four queries for a whole workspace, every account's tickets of
the last months (with the tier, state and sentiment of each ticket's latest decision), its
CRM facts (the newest known value of each field on its tickets), and its product trend (the
newest decision that knew it). ``account_timeline`` is one account's tickets for its page.

``account_risk`` keeps one row per scored account: its last score and whether it is above the
threshold. ``cross_threshold`` moves that state with a conditional UPDATE (or an insert that
does nothing on conflict), so of two schedulers scoring at once exactly one sees the crossing
and queues the owner's alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    and_,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.account_risk import AccountHistory, TicketPoint
from integration.models import Account
from integration.store.db import Base, UTCDateTime
from integration.store.ops import insert_ignore_id
from integration.store.tables import BigId, DecisionRow, TicketRow
from integration.store.tickets import OPEN_STATUSES

__all__ = [
    "AccountRiskRow",
    "TimelinePoint",
    "account_histories",
    "account_timeline",
    "cross_threshold",
    "risk_states",
]

# How far back the score looks: the last 30 days and the 90 before.
LOOKBACK = timedelta(days=120)
_ACCOUNT_FIELDS = ("name", "domain", "plan", "arr", "health", "owner", "lifecycle",
                   "renewal_date")


class AccountRiskRow(Base):
    """An account's last at-risk score, and whether it is above its workspace's threshold."""

    __tablename__ = "account_risk"
    __table_args__ = (UniqueConstraint("tenant_id", "account_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_key: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    above: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How many times the account crossed the threshold upwards (each alerted once).
    crossings: Mapped[int] = mapped_column(Integer, default=0)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return (f"AccountRiskRow(tenant_id={self.tenant_id!r}, account_key={self.account_key!r}, "
                f"score={self.score!r}, above={self.above!r})")


@dataclass(frozen=True, kw_only=True, slots=True)
class TimelinePoint:
    """One ticket of an account's timeline: when, what, tier, state, sentiment."""

    ref: str
    helpdesk: str
    subject: str
    created_at: datetime
    tier: int | None
    status: str
    sentiment: float | None


def account_histories(s: Session, *, tenant_id: int, now: datetime,
                      account_id: str | None = None) -> list[AccountHistory]:
    """Every account of the workspace (or the one ``account_id``) with tickets in the last
    120 days or an open Tier 3."""
    since = now - LOOKBACK
    which = (TicketRow.account_key == f"account:{account_id}" if account_id is not None
             else TicketRow.account_key.is_not(None))
    rows = s.execute(
        # The account's facts only, not the whole ticket: most of the time goes to JSON.
        select(TicketRow.id, TicketRow.account_key, TicketRow.external_id,
               TicketRow.created_at, TicketRow.tier, TicketRow.status,
               TicketRow.data["account"].label("account"))
        .where(TicketRow.tenant_id == tenant_id, which,
               or_(TicketRow.created_at >= since,
                   and_(TicketRow.tier == 3, TicketRow.status.in_(list(OPEN_STATUSES)))))
        .order_by(TicketRow.created_at.desc(), TicketRow.id.desc())
    ).all()
    latest = _latest_decisions(s, tenant_id=tenant_id, ticket_ids=[r.id for r in rows],
                               since=min((r.created_at for r in rows), default=now))
    first = s.scalar(select(func.min(TicketRow.created_at)).where(
        TicketRow.tenant_id == tenant_id))
    by_account: dict[str, list[Any]] = {}
    for row in rows:
        by_account.setdefault(str(row.account_key), []).append(row)
    return [_history(key, items, latest, first) for key, items in by_account.items()]


def _latest_decisions(s: Session, *, tenant_id: int, ticket_ids: list[int],
                      since: datetime) -> dict[int, tuple[float, float | None]]:
    """Each ticket's latest decision: its sentiment and the product trend it knew.

    Only decisions from ``since`` (the oldest ticket's creation) are read: a ticket is
    decided after it was created, and the index on (tenant, decided_at) finds them.
    """
    if not ticket_ids:
        return {}
    newest = (select(func.max(DecisionRow.id))
              .where(DecisionRow.tenant_id == tenant_id, DecisionRow.decided_at >= since)
              .group_by(DecisionRow.ticket_id))
    found = s.execute(select(DecisionRow.ticket_id, DecisionRow.sentiment,
                             DecisionRow.signals["engagement_trend"].as_float())
                      .where(DecisionRow.id.in_(newest)))
    wanted = set(ticket_ids)
    return {ticket_id: (float(sentiment), float(trend) if trend is not None else None)
            for ticket_id, sentiment, trend in found if ticket_id in wanted}


def _history(key: str, rows: list[Any], latest: Mapping[int, tuple[float, float | None]],
             first: datetime | None) -> AccountHistory:
    """One account's history from its ticket rows, newest first."""
    facts: dict[str, Any] = {}
    renewal_ref = None
    for row in rows:
        account = row.account if isinstance(row.account, dict) else {}
        for name in _ACCOUNT_FIELDS:
            if name not in facts and account.get(name) not in (None, ""):
                facts[name] = account[name]
                if name == "renewal_date":
                    renewal_ref = str(row.external_id)
    trend = next(((latest[r.id][1], str(r.external_id)) for r in rows
                  if r.id in latest and latest[r.id][1] is not None), (None, None))
    tickets = tuple(
        TicketPoint(ref=str(r.external_id), created_at=r.created_at, tier=r.tier,
                    open=r.status in OPEN_STATUSES,
                    sentiment=latest[r.id][0] if r.id in latest else None)
        for r in rows
    )
    return AccountHistory(
        account=_account(key, facts), tickets=tickets, engagement_trend=trend[0],
        engagement_ref=trend[1], renewal_ref=renewal_ref, history_since=first,
    )


def _account(key: str, facts: Mapping[str, Any]) -> Account:
    renewal = facts.get("renewal_date")
    try:
        renewal_date = date.fromisoformat(str(renewal)) if renewal else None
    except ValueError:
        # Stored tickets were validated on the way in; an old row's odd value is not a date.
        renewal_date = None
    arr, health = facts.get("arr"), facts.get("health")
    return Account(
        id=key.removeprefix("account:"), name=facts.get("name"), domain=facts.get("domain"),
        plan=facts.get("plan"), arr=float(arr) if isinstance(arr, int | float) else None,
        health=float(health) if isinstance(health, int | float) else None,
        owner=facts.get("owner"), lifecycle=facts.get("lifecycle"), renewal_date=renewal_date,
    )


def account_timeline(s: Session, *, tenant_id: int, account_id: str,
                     limit: int = 200) -> list[TimelinePoint]:
    """The account's tickets, newest first, with each one's latest tier and sentiment."""
    rows = s.execute(
        select(TicketRow.id, TicketRow.external_id, TicketRow.helpdesk, TicketRow.created_at,
               TicketRow.tier, TicketRow.status, TicketRow.data)
        .where(TicketRow.tenant_id == tenant_id,
               TicketRow.account_key == f"account:{account_id}")
        .order_by(TicketRow.created_at.desc(), TicketRow.id.desc())
        .limit(limit)
    ).all()
    latest = _latest_decisions(s, tenant_id=tenant_id, ticket_ids=[r.id for r in rows],
                               since=min((r.created_at for r in rows), default=datetime.min))
    return [TimelinePoint(ref=str(r.external_id), helpdesk=r.helpdesk,
                          subject=str((r.data or {}).get("subject") or ""),
                          created_at=r.created_at, tier=r.tier, status=r.status,
                          sentiment=latest[r.id][0] if r.id in latest else None)
            for r in rows]


def risk_states(s: Session, *, tenant_id: int,
                keys: Iterable[str] | None = None) -> dict[str, AccountRiskRow]:
    """The stored at-risk state of the workspace's accounts (or of ``keys``), by account key."""
    query = select(AccountRiskRow).where(AccountRiskRow.tenant_id == tenant_id)
    if keys is not None:
        query = query.where(AccountRiskRow.account_key.in_(list(keys)))
    return {row.account_key: row for row in s.scalars(query)}


def cross_threshold(s: Session, *, tenant_id: int, account_key: str, score: float,
                    above: bool, alert: bool, known: AccountRiskRow | None,
                    now: datetime) -> int | None:
    """Store the account's new score and state, moving from ``known`` (None: never scored).

    With ``alert``, the crossing's number (for the alert's key) when this caller moved the
    state; None when another scheduler moved it first (it queues the alert, not this one).
    Without ``alert``, the score is recorded and None returned.
    """
    changes: dict[str, Any] = {"score": score, "above": above, "scored_at": now}
    if alert:
        changes.update(crossings=(known.crossings if known else 0) + 1, alerted_at=now)
    if known is None:
        values = {"tenant_id": tenant_id, "account_key": account_key, "crossings": 0,
                  "alerted_at": None, **changes}
        row_id = insert_ignore_id(s, AccountRiskRow, values, ("tenant_id", "account_key"))
        return int(changes["crossings"]) if alert and row_id is not None else None
    moved = s.execute(
        update(AccountRiskRow)
        .where(AccountRiskRow.id == known.id, AccountRiskRow.above == known.above,
               AccountRiskRow.crossings == known.crossings)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    won = getattr(moved, "rowcount", 0) == 1
    return int(changes["crossings"]) if alert and won else None
