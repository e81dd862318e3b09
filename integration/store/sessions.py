"""Admin sessions kept on the server, so signing out (or a new password) really ends them.

The browser's cookie carries only a random token; this table keeps its SHA-256, the admin,
when the session started and was last used, and a fingerprint of the admin's password hash
at sign-in. A session is valid while its row exists, it was used within the idle timeout,
its absolute lifetime has not run out, and the admin's password is still the one it was
opened with. Signing out deletes the row; "sign out everywhere" and a password change delete
all of an admin's rows.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.store.db import Base, UTCDateTime
from integration.store.people import AdminUserRow
from integration.store.tables import BigId

__all__ = [
    "AdminSessionRow",
    "SessionInfo",
    "close_session",
    "close_sessions_of",
    "find_session",
    "open_session",
    "password_key",
]

# Writing last_seen_at on every request would make each page view a write; a minute is
# precise enough for an idle timeout measured in tens of minutes.
TOUCH_EVERY = timedelta(minutes=1)


class AdminSessionRow(Base):
    """One signed-in browser of an admin."""

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"),
                                          index=True)
    password_key: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionInfo:
    """A valid session: whose it is."""

    admin_id: int
    email: str


def password_key(password_hash: str) -> str:
    """A fingerprint of a password hash: a new password no longer matches it."""
    return hashlib.sha256(password_hash.encode()).hexdigest()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    s: Session, *, admin: AdminUserRow, now: datetime, lifetime: timedelta,
    address: str | None = None,
) -> str:
    """Start a session for ``admin``; returns the token for the cookie (stored only hashed)."""
    token = secrets.token_urlsafe(32)
    # Expired rows are dropped here rather than by a sweep: sign-ins are rare.
    s.execute(delete(AdminSessionRow).where(AdminSessionRow.expires_at <= now)
              .execution_options(synchronize_session=False))
    s.add(AdminSessionRow(token_hash=_hash(token), admin_id=admin.id,
                          password_key=password_key(admin.password_hash),
                          address=(address or "")[:64] or None, created_at=now,
                          last_seen_at=now, expires_at=now + lifetime))
    s.flush()
    return token


def find_session(s: Session, token: str, *, now: datetime, idle: timedelta) -> SessionInfo | None:
    """The session ``token`` opens, or None when it was closed, idle too long or expired."""
    if not token:
        return None
    found = s.execute(
        select(AdminSessionRow, AdminUserRow)
        .join(AdminUserRow, AdminUserRow.id == AdminSessionRow.admin_id)
        .where(AdminSessionRow.token_hash == _hash(token))
    ).one_or_none()
    if found is None:
        return None
    row, admin = found
    stale = (now >= row.expires_at or now - row.last_seen_at > idle
             or row.password_key != password_key(admin.password_hash))
    if stale:
        s.delete(row)
        s.flush()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return SessionInfo(admin_id=admin.id, email=admin.email)


def close_session(s: Session, token: str) -> bool:
    """End one session; False when it was not open."""
    result = s.execute(delete(AdminSessionRow).where(AdminSessionRow.token_hash == _hash(token))
                       .execution_options(synchronize_session=False))
    return bool(cast(CursorResult[Any], result).rowcount)


def close_sessions_of(s: Session, admin_id: int) -> int:
    """End every session of an admin; how many were open."""
    result = s.execute(delete(AdminSessionRow).where(AdminSessionRow.admin_id == admin_id)
                       .execution_options(synchronize_session=False))
    return int(cast(CursorResult[Any], result).rowcount or 0)
