"""Two portable building blocks: insert-unless-present and claim-with-a-lease.

Both are what let several workers share one database safely. ``insert_ignore`` uses
``ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL so a duplicate never poisons the caller's
transaction; ``claim_due`` takes rows with a conditional UPDATE, so a row is claimed by
exactly one worker however many ask at once.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from integration.store.db import session_scope

__all__ = ["Claim", "claim_due", "insert_ignore", "insert_ignore_id"]

_SPARE_CANDIDATES = 8


def insert_ignore(
    s: Session, model: type[Any], values: Mapping[str, Any], conflict: Sequence[str]
) -> bool:
    """Insert one row unless one with the same ``conflict`` columns exists; True if inserted."""
    return insert_ignore_id(s, model, values, conflict) is not None


def insert_ignore_id(
    s: Session, model: type[Any], values: Mapping[str, Any], conflict: Sequence[str]
) -> Any | None:
    """``insert_ignore`` giving the new row's primary key, or None when one existed."""
    dialect = s.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        stmt = _insert_ignore_statement(dialect, model.__table__, tuple(conflict))
        found = s.connection().execute(stmt, dict(values)).first()
        return None if found is None else found[0]
    # Other backends: a savepoint keeps the caller's transaction usable after the conflict.
    try:
        with s.begin_nested():
            result = s.execute(insert(model).values(**values))
    except IntegrityError:
        return None
    return result.inserted_primary_key[0]  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=64)
def _insert_ignore_statement(dialect: str, table: Any, conflict: tuple[str, ...]) -> Any:
    # Built once per table: the values travel as parameters, so the compiled form is reused.
    from sqlalchemy.dialects import postgresql, sqlite

    upsert = sqlite.insert(table) if dialect == "sqlite" else postgresql.insert(table)
    # RETURNING, not rowcount: drivers disagree on rowcount for a skipped conflict.
    return upsert.on_conflict_do_nothing(index_elements=list(conflict)).returning(
        *table.primary_key.columns
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Claim:
    """A row taken by one worker until ``lease_until``; ``token`` proves whose it is.

    ``uncertain`` is the row's ``mark_interrupted`` flag after the claim: set when an earlier
    attempt's outcome is unknown, e.g. its worker died mid-call and the lease ran out.
    """

    id: int
    token: str
    attempts: int
    uncertain: bool = False


def claim_due(
    factory: sessionmaker[Session],
    model: type[Any],
    *,
    waiting: str,
    busy: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    mark_interrupted: str | None = None,
) -> list[Claim]:
    """Move up to ``limit`` due rows to ``busy`` and return them, each to one worker only.

    A row is due when it is ``waiting`` and its ``next_attempt_at`` has come, or when it is
    ``busy`` but its lease ran out: the worker that held it stopped mid-way, perhaps after
    its call landed. ``mark_interrupted`` names a boolean column set true on such a row.
    """
    if limit <= 0:
        return []
    due = or_(
        and_(model.status == waiting, model.next_attempt_at <= now),
        and_(model.status == busy, model.lease_until <= now),
    )
    token = secrets.token_hex(16)
    values: dict[str, Any] = {
        "status": busy,
        "lease_until": now + lease,
        "claim_token": token,
        "attempts": model.attempts + 1,
    }
    returning = [model.attempts]
    if mark_interrupted is not None:
        flag = getattr(model, mark_interrupted)
        # SET reads the row as it was: a row still ``busy`` here is one whose lease ran out.
        values[mark_interrupted] = case((model.status == busy, true()), else_=flag)
        returning.append(flag)
    with session_scope(factory) as s:
        return _claim_candidates(
            s, model, due=due, values=values, returning=returning, token=token, limit=limit,
            interrupted=mark_interrupted is not None,
        )


def _claim_candidates(
    s: Session,
    model: type[Any],
    *,
    due: ColumnElement[bool],
    values: dict[str, Any],
    returning: list[Any],
    token: str,
    limit: int,
    interrupted: bool,
) -> list[Claim]:
    """Claim due rows one by one, oldest first, until ``limit`` are won."""
    # A few spare candidates, so losing races to other workers still fills the batch.
    query = (
        select(model.id)
        .where(due)
        .order_by(model.next_attempt_at, model.id)
        .limit(limit + _SPARE_CANDIDATES)
    )
    if s.get_bind().dialect.name == "postgresql":
        # Rows another worker is claiming right now are skipped instead of waited for.
        query = query.with_for_update(skip_locked=True)
    claimed: list[Claim] = []
    for row_id in sorted(s.scalars(query)):
        if len(claimed) >= limit:
            break
        # The WHERE repeats the due test: whoever updates first wins, the other gets 0.
        found = s.execute(
            update(model)
            .where(model.id == row_id, due)
            .values(**values)
            .returning(*returning)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if found is not None:
            uncertain = bool(found[1]) if interrupted else False
            claimed.append(Claim(id=row_id, token=token, attempts=found[0], uncertain=uncertain))
    return claimed
