"""Failed sign-ins, counted in the database so a restart or another worker forgets nothing.

Each counter is keyed by what it limits (an address, an account, an address and account
together; the caller builds the keys and only their SHA-256 is stored). A failure adds one and
sets how long the key must wait before the next try, from a ``Delay``: the first ``free``
failures cost nothing, then the wait doubles from ``base`` up to ``cap``. A key that has not
failed for ``FORGET_AFTER`` starts again from zero.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, case, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from integration.store.db import Base, UTCDateTime
from integration.store.ops import insert_ignore
from integration.store.tables import BigId

__all__ = [
    "FORGET_AFTER",
    "Delay",
    "LoginThrottleRow",
    "blocked_until",
    "forget_failures",
    "record_failure",
    "throttle_key",
]

FORGET_AFTER = timedelta(hours=1)


class LoginThrottleRow(Base):
    """Recent failed sign-ins of one key, and until when it must wait."""

    __tablename__ = "login_throttle"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True, kw_only=True, slots=True)
class Delay:
    """How long a key waits after ``n`` failures: nothing for ``free``, then doubling."""

    free: int
    base: timedelta
    cap: timedelta

    def after(self, failures: int) -> timedelta:
        """The wait after ``failures`` failures in a row."""
        if failures < self.free:
            return timedelta(0)
        # Capped exponent: 2**64 seconds is not a wait anyone means.
        return min(self.base * 2 ** min(failures - self.free, 32), self.cap)


def throttle_key(*parts: str) -> str:
    """The stored form of a key made of ``parts`` (an address, an e-mail, a scope)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def blocked_until(s: Session, keys: Iterable[str], *, now: datetime) -> datetime | None:
    """The latest time any of ``keys`` must wait until, if that is after ``now``."""
    found = s.scalars(select(LoginThrottleRow.blocked_until).where(
        LoginThrottleRow.key_hash.in_(list(keys)),
        LoginThrottleRow.blocked_until > now)).all()
    return max((t for t in found if t is not None), default=None)


def record_failure(s: Session, delays: Mapping[str, Delay], *, now: datetime) -> None:
    """Count one failure for each key and set its wait from its ``Delay``."""
    forgotten = now - FORGET_AFTER
    s.execute(delete(LoginThrottleRow).where(
        LoginThrottleRow.last_failure_at < forgotten,
        or_(LoginThrottleRow.blocked_until.is_(None), LoginThrottleRow.blocked_until < now),
    ).execution_options(synchronize_session=False))
    for key, delay in delays.items():
        insert_ignore(s, LoginThrottleRow, {"key_hash": key, "failures": 0,
                                            "last_failure_at": now, "blocked_until": None},
                      ("key_hash",))
        # One UPDATE adds the failure, so two workers failing at once both count.
        s.execute(update(LoginThrottleRow).where(LoginThrottleRow.key_hash == key).values(
            failures=case((LoginThrottleRow.last_failure_at < forgotten, 1),
                          else_=LoginThrottleRow.failures + 1),
            last_failure_at=now,
        ).execution_options(synchronize_session=False))
        failures = s.scalars(select(LoginThrottleRow.failures)
                             .where(LoginThrottleRow.key_hash == key)).one()
        wait = delay.after(failures)
        s.execute(update(LoginThrottleRow).where(LoginThrottleRow.key_hash == key).values(
            blocked_until=now + wait if wait else None,
        ).execution_options(synchronize_session=False))


def forget_failures(s: Session, keys: Iterable[str]) -> None:
    """Drop the counters of ``keys`` (after a successful sign-in)."""
    s.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key_hash.in_(list(keys)))
              .execution_options(synchronize_session=False))
