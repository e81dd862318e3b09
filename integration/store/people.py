"""Agents' tier overrides (feedback for the monthly review) and the workspace admins.

An override is what an agent decided against Escalade, with their reason: it is written back
to the helpdesk like any decision and kept here so the monthly matrix review can read which
rules agents disagree with. Admins sign in to the admin UI with an e-mail and a password
whose hash (werkzeug's scrypt) is all that is stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from integration.errors import ValidationError
from integration.store.db import Base, UTCDateTime
from integration.store.tables import BigId

__all__ = [
    "AdminUserRow",
    "TierOverrideRow",
    "add_override",
    "check_admin",
    "overrides_for_ticket",
    "set_admin",
]

MIN_PASSWORD = 10


class TierOverrideRow(Base):
    """An agent set the tier by hand, and why."""

    __tablename__ = "tier_overrides"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("decisions.id", ondelete="SET NULL")
    )
    from_tier: Mapped[int | None] = mapped_column(Integer)
    to_tier: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AdminUserRow(Base):
    """Someone who may sign in to the admin UI."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def add_override(
    s: Session,
    *,
    tenant_id: int,
    ticket_id: int,
    from_tier: int | None,
    to_tier: int,
    reason: str,
    agent: str | None,
    now: datetime,
    decision_id: int | None = None,
) -> TierOverrideRow:
    """Record an override; the reason is required (the review reads it)."""
    if to_tier not in (1, 2, 3):
        raise ValidationError("tier", f"must be 1, 2 or 3, got {to_tier!r}")
    if not reason or not reason.strip():
        raise ValidationError("reason", "say why the tier is wrong (it goes to the review)")
    row = TierOverrideRow(tenant_id=tenant_id, ticket_id=ticket_id, from_tier=from_tier,
                          to_tier=to_tier, reason=reason.strip()[:2000], agent=agent,
                          created_at=now, decision_id=decision_id)
    s.add(row)
    s.flush()
    return row


def overrides_for_ticket(s: Session, ticket_id: int) -> list[TierOverrideRow]:
    """A ticket's overrides, newest first."""
    query = (select(TierOverrideRow).where(TierOverrideRow.ticket_id == ticket_id)
             .order_by(TierOverrideRow.id.desc()))
    return list(s.scalars(query))


def set_admin(s: Session, *, email: str, password: str, now: datetime) -> AdminUserRow:
    """Create an admin or change their password."""
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationError("email", f"not an e-mail address: {email!r}")
    if len(password) < MIN_PASSWORD:
        raise ValidationError("password", f"use at least {MIN_PASSWORD} characters")
    row = s.scalars(select(AdminUserRow).where(AdminUserRow.email == email)).one_or_none()
    hashed = generate_password_hash(password)
    if row is None:
        row = AdminUserRow(email=email, password_hash=hashed, created_at=now)
        s.add(row)
    else:
        row.password_hash = hashed
    s.flush()
    return row


def check_admin(s: Session, *, email: str, password: str, now: datetime) -> AdminUserRow | None:
    """The admin when the password matches, else None (same answer for unknown e-mails)."""
    row = s.scalars(
        select(AdminUserRow).where(AdminUserRow.email == email.strip().lower())
    ).one_or_none()
    if row is None:
        # Hash anyway so an unknown e-mail takes as long as a wrong password.
        check_password_hash(generate_password_hash("x"), password)
        return None
    if not check_password_hash(row.password_hash, password):
        return None
    row.last_login_at = now
    return row
