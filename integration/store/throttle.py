"""Failed sign-ins, counted in the database so a restart or another worker forgets nothing.

Each counter is keyed by what it limits (an address, an account, an address and account
together; the caller builds the keys and only their SHA-256 is stored). An attempt is counted
before the password is checked (``count_attempt``) and sets how long the key must wait before
the next try, from a ``Delay``: the first ``free`` failures cost nothing, then the wait doubles
from ``base`` up to ``cap``; a successful attempt is taken back. A key that has not failed for
``FORGET_AFTER`` starts again from zero.
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
    "count_attempt",
    "forget_failures",
    "take_back",
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
        wait: timedelta = self.base * 2 ** min(failures - self.free, 32)
        return min(wait, self.cap)


def throttle_key(*parts: str) -> str:
    """The stored form of a key made of ``parts`` (an address, an e-mail, a scope)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def count_attempt(s: Session, delays: Mapping[str, Delay], *, checked: Iterable[str],
                  now: datetime) -> datetime | None:
    """Count a sign-in attempt on every key, unless a ``checked`` key must still wait.

    Counted first and checked after, in one transaction, so two attempts at the same instant
    cannot both slip through: the second sees the wait the first set. When a key must wait,
    the time it may try again is returned and the caller rolls the transaction back (a
    refused attempt counts for nothing); otherwise each key's next wait is set from its
    ``Delay`` and the attempt counts as failed until ``take_back`` says it was not.
    """
    forgotten = now - FORGET_AFTER
    s.execute(delete(LoginThrottleRow).where(
        LoginThrottleRow.last_failure_at < forgotten,
        or_(LoginThrottleRow.blocked_until.is_(None), LoginThrottleRow.blocked_until < now),
    ).execution_options(synchronize_session=False))
    keys = list(delays)
    for key in keys:
        insert_ignore(s, LoginThrottleRow, {"key_hash": key, "failures": 0,
                                            "last_failure_at": now, "blocked_until": None},
                      ("key_hash",))
        # The UPDATE takes the row's write lock: a concurrent attempt waits for our answer.
        s.execute(update(LoginThrottleRow).where(LoginThrottleRow.key_hash == key).values(
            failures=case((LoginThrottleRow.last_failure_at < forgotten, 1),
                          else_=LoginThrottleRow.failures + 1),
            last_failure_at=now,
        ).execution_options(synchronize_session=False))
    rows = {row.key_hash: row for row in s.execute(
        select(LoginThrottleRow.key_hash, LoginThrottleRow.failures,
               LoginThrottleRow.blocked_until).where(LoginThrottleRow.key_hash.in_(keys)))}
    waits = [rows[key].blocked_until for key in checked
             if key in rows and rows[key].blocked_until is not None]
    latest: datetime | None = max((t for t in waits if t > now), default=None)
    if latest is not None:
        return latest
    for key, delay in delays.items():
        wait = delay.after(rows[key].failures)
        s.execute(update(LoginThrottleRow).where(LoginThrottleRow.key_hash == key).values(
            blocked_until=now + wait if wait else None,
        ).execution_options(synchronize_session=False))
    return None


def take_back(s: Session, keys: Iterable[str]) -> None:
    """Un-count the last attempt of ``keys``: it succeeded (its wait goes with it)."""
    wanted = list(keys)
    s.execute(update(LoginThrottleRow).where(LoginThrottleRow.key_hash.in_(wanted)).values(
        failures=LoginThrottleRow.failures - 1, blocked_until=None,
    ).execution_options(synchronize_session=False))
    s.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key_hash.in_(wanted),
                                             LoginThrottleRow.failures <= 0)
              .execution_options(synchronize_session=False))


def forget_failures(s: Session, keys: Iterable[str]) -> None:
    """Drop the counters of ``keys`` (after a successful sign-in)."""
    s.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key_hash.in_(list(keys)))
              .execution_options(synchronize_session=False))
