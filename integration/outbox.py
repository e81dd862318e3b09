"""The outbox: every outbound write lands once, or is reported as failed — never dropped.

``enqueue`` writes the actions in the same transaction as the decision that caused them.
``deliver_due`` later claims due rows (one worker per row, by a conditional UPDATE), calls the
deliverer outside any transaction, and records the outcome:

- success                      -> ``delivered`` with the vendor's result (what was left out on
  purpose, ``detail["warnings"]``, is kept as the row's ``last_error`` for the outbox page);
- ``RetriableError`` (429, 5xx) -> ``pending`` again after exponential backoff, or later if the
  vendor's ``Retry-After`` says so; ``failed`` once ``max_attempts`` are spent;
- ``FatalError`` (other 4xx)   -> ``failed`` with the vendor's message;
- ``ValidationError`` / ``ConfigurationError`` (the write itself is invalid, or a setting is
  missing) -> ``failed`` at once with its message: retrying cannot change the answer;
- any other exception           -> retried like ``RetriableError`` and logged with traceback.

Effectively once: a call can land while its answer never reaches us (a timeout after
sending, a worker killed between the vendor call and the commit). Such a row is marked
``uncertain`` — by the error (``RetriableError(uncertain=True)``, or any unexpected one), or
when its lease runs out while it is still ``inflight`` — and every later delivery of it gets
``OutboxItem.uncertain``, so the adapter looks on the ticket for what already landed before
writing it again. Notes and replies are found by the ``ref`` each carries in its footer
(stable per row and action, set by ``with_refs``); tags, priority and fields are set to the
same values again, which changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from adapters.helpdesk.base import ApplyResult
from adapters.helpdesk.common import REF_KEY
from integration.errors import ConfigurationError, FatalError, RetriableError, ValidationError
from integration.logs import log_context
from integration.models import Action, ActionKind
from integration.store.db import session_scope
from integration.store.ops import Claim
from integration.store.outbox import (
    add_outbox_row,
    add_outbox_rows,
    claim_outbox,
    claimed_row,
    finish_claim,
    mark_delivered,
)
from integration.store.tables import OutboxRow, OutboxStatus

__all__ = [
    "DeliveryReport",
    "by_target",
    "Deliverer",
    "OutboxItem",
    "RetryPolicy",
    "deliver_due",
    "enqueue",
    "enqueue_many",
    "make_idempotency_key",
    "outbox_values",
    "with_refs",
]

log = logging.getLogger(__name__)

# Enough of a vendor's error body to act on, without storing whole HTML error pages.
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """Exponential backoff: ``base * factor**(attempt-1)``, capped, minus up to ``jitter``."""

    base: timedelta = timedelta(seconds=2)
    factor: float = 2.0
    max_delay: timedelta = timedelta(minutes=15)
    max_attempts: int = 8
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValidationError("max_attempts", "must be at least 1")
        if self.factor < 1:
            raise ValidationError("factor", "must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValidationError("jitter", "must be between 0 and 1")

    def backoff(self, attempt: int, *, rand: Callable[[], float] = random.random) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1-based)."""
        exponent = max(attempt - 1, 0)
        # Cap in float space first: factor**exponent overflows timedelta long before 8 tries.
        seconds = min(
            self.base.total_seconds() * self.factor**exponent, self.max_delay.total_seconds()
        )
        # Jitter spreads retries of many rows that failed together (a vendor outage).
        seconds *= 1.0 - self.jitter * rand()
        return timedelta(seconds=seconds)


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboxItem:
    """What a deliverer gets: a detached snapshot of one claimed outbox row."""

    id: int
    tenant_id: int
    tenant_slug: str
    target: str
    ticket_external_id: str | None
    actions: tuple[Action, ...]
    idempotency_key: str
    attempt: int
    decision_id: int | None = None
    ticket_id: int | None = None
    # An earlier attempt may have landed: check the vendor before writing again.
    uncertain: bool = False


Deliverer = Callable[[OutboxItem], ApplyResult]

# Notes and replies carry a ref in their footer so a retry can tell whether they landed.
_REF_KINDS = frozenset({ActionKind.INTERNAL_NOTE, ActionKind.PUBLIC_REPLY})


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryReport:
    """What one ``deliver_due`` pass did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def make_idempotency_key(*parts: object) -> str:
    """A short stable key from its parts (tenant, ticket, decision, target, ...)."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def with_refs(actions: Sequence[Action], idempotency_key: str) -> tuple[Action, ...]:
    """Give each helpdesk note and reply a stable ``ref`` (kept if it has one already).

    The ref depends only on the row's key and the action's place in it, so every delivery
    of the row, and a row queued with the part that did not land, writes the same footer.
    """
    out = []
    for index, action in enumerate(actions):
        wanted = action.kind in _REF_KINDS and action.target == "helpdesk"
        if wanted and not action.payload.get(REF_KEY):
            ref = make_idempotency_key(idempotency_key, index, action.kind.value)[:10]
            action = replace(action, payload={**action.payload, REF_KEY: ref})
        out.append(action)
    return tuple(out)


def enqueue(
    s: Session,
    *,
    tenant_id: int,
    target: str,
    ticket_external_id: str | None,
    actions: Sequence[Action],
    idempotency_key: str,
    now: datetime,
    decision_id: int | None = None,
    ticket_id: int | None = None,
    uncertain: bool = False,
) -> OutboxRow | None:
    """Queue actions in the caller's transaction; None (nothing written) for a duplicate key.

    ``uncertain``: the actions may have landed already (their delivery is checked first).
    """
    row = add_outbox_row(s, outbox_values(
        tenant_id=tenant_id, target=target, ticket_external_id=ticket_external_id,
        actions=actions, idempotency_key=idempotency_key, now=now,
        decision_id=decision_id, ticket_id=ticket_id, uncertain=uncertain,
    ))
    if row is None:
        log.info("outbox: duplicate idempotency key %s, nothing queued", idempotency_key)
    return row


def outbox_values(
    *,
    tenant_id: int,
    target: str,
    ticket_external_id: str | None,
    actions: Sequence[Action],
    idempotency_key: str,
    now: datetime,
    decision_id: int | None = None,
    ticket_id: int | None = None,
    uncertain: bool = False,
) -> dict[str, Any]:
    """The column values of one outbox row, checked (every action for ``target``)."""
    if not actions:
        raise ValidationError("actions", "nothing to deliver")
    if not idempotency_key:
        raise ValidationError("idempotency_key", "must not be empty")
    stray = sorted({a.target for a in actions if a.target != target})
    if stray:
        raise ValidationError("actions", f"target {target!r} got actions for {stray}")
    return {
        "tenant_id": tenant_id,
        "decision_id": decision_id,
        "ticket_id": ticket_id,
        "target": target,
        "ticket_external_id": ticket_external_id,
        "actions": [a.to_dict() for a in actions],
        "idempotency_key": idempotency_key,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "uncertain": uncertain,
    }


def by_target(actions: Sequence[Action]) -> dict[str, list[Action]]:
    """Actions grouped by where they go: one outbox row per target."""
    groups: dict[str, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.target, []).append(action)
    return groups


def enqueue_many(s: Session, rows: Sequence[Mapping[str, Any]]) -> list[int | None]:
    """Queue many rows (``outbox_values`` each) at once; their ids, None for a duplicate key."""
    return add_outbox_rows(s, rows)


def deliver_due(
    factory: sessionmaker[Session],
    deliver: Deliverer,
    *,
    now: datetime,
    limit: int = 50,
    lease: timedelta = timedelta(seconds=60),
    policy: RetryPolicy = RetryPolicy(),
) -> DeliveryReport:
    """Deliver up to ``limit`` due rows, one claim at a time, and record every outcome.

    Rows are claimed one by one just before delivery, and no new row is claimed once half
    the lease has passed in real time: every claimed row keeps at least half a lease for its
    own call, so a slow vendor never lets a second worker take a row still being delivered.
    """
    started = time.monotonic()
    budget = lease.total_seconds() / 2
    counts = {"claimed": 0, "delivered": 0, "retried": 0, "failed": 0}
    while counts["claimed"] < limit and time.monotonic() - started < budget:
        claims = claim_outbox(factory, now=now, lease=lease)
        if not claims:
            break
        claim = claims[0]
        counts["claimed"] += 1
        counts[_deliver_one(factory, deliver, claim, now=now, policy=policy)] += 1
    return DeliveryReport(**counts)


def _deliver_one(
    factory: sessionmaker[Session],
    deliver: Deliverer,
    claim: Claim,
    *,
    now: datetime,
    policy: RetryPolicy,
) -> str:
    item = _snapshot(factory, claim)
    if item is None:
        log.warning("outbox %s vanished after it was claimed (tenant removed?)", claim.id)
        return "failed"
    # Every line about this delivery names its workspace, ticket and row.
    with log_context(tenant=item.tenant_slug, ticket=item.ticket_external_id, outbox=item.id):
        return _attempt(factory, deliver, claim, item, now=now, policy=policy)


def _attempt(
    factory: sessionmaker[Session],
    deliver: Deliverer,
    claim: Claim,
    item: OutboxItem,
    *,
    now: datetime,
    policy: RetryPolicy,
) -> str:
    if claim.attempts > policy.max_attempts:
        # Only reachable when workers kept dying mid-delivery: stop feeding it to them.
        message = f"gave up after {claim.attempts - 1} attempts: delivery kept being interrupted"
        return _record_failure(factory, claim, now=now, message=message)
    # No session is open here: a slow vendor must not hold a transaction or a lock.
    try:
        result = deliver(item)
    except FatalError as err:
        log.error("outbox %s to %s refused: %s", item.id, item.target, err)
        return _record_failure(factory, claim, now=now, message=str(err))
    except (ValidationError, ConfigurationError) as err:
        # The adapter found the write itself invalid (a field the vendor would reject, a
        # setting that is missing): the same call fails the same way every time.
        log.error("outbox %s to %s not deliverable: %s", item.id, item.target, err)
        return _record_failure(factory, claim, now=now, message=str(err))
    except RetriableError as err:
        return _record_retry(
            factory, claim, now=now, policy=policy, error=str(err), retry_after=err.retry_after,
            uncertain=err.uncertain,
        )
    except Exception as err:
        log.exception("outbox %s to %s: unexpected error, will retry", item.id, item.target)
        # Nobody knows how far it got: the retry checks before writing again.
        return _record_retry(
            factory, claim, now=now, policy=policy, error=f"{type(err).__name__}: {err}",
            uncertain=True,
        )
    with session_scope(factory) as s:
        mark_delivered(s, claim.id, now=now, result=_result_json(result),
                       warnings=_warnings(result))
    log.info("outbox %s delivered to %s (attempt %s)", item.id, item.target, claim.attempts)
    return "delivered"


def _record_retry(
    factory: sessionmaker[Session],
    claim: Claim,
    *,
    now: datetime,
    policy: RetryPolicy,
    error: str,
    retry_after: float | None = None,
    uncertain: bool = False,
) -> str:
    # Once unsure, a row stays unsure until it is delivered: a later clean refusal (429)
    # says nothing about whether the earlier attempt landed.
    flag = {"uncertain": True} if uncertain else {}
    if claim.attempts >= policy.max_attempts:
        message = f"gave up after {claim.attempts} attempts: {error}"
        log.error("outbox %s: %s", claim.id, message)
        _finish(factory, claim, status=OutboxStatus.FAILED,
                last_error=message[:MAX_ERROR_CHARS], **flag)
        return "failed"
    delay = policy.backoff(claim.attempts)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, timedelta(seconds=retry_after))
    _finish(
        factory,
        claim,
        status=OutboxStatus.PENDING,
        next_attempt_at=now + delay,
        last_error=error[:MAX_ERROR_CHARS],
        **flag,
    )
    log.warning(
        "outbox %s: attempt %s failed, retrying in %ss: %s",
        claim.id, claim.attempts, int(delay.total_seconds()), error,
    )
    return "retried"


def _record_failure(
    factory: sessionmaker[Session], claim: Claim, *, now: datetime, message: str
) -> str:
    _finish(factory, claim, status=OutboxStatus.FAILED, last_error=message[:MAX_ERROR_CHARS])
    return "failed"


def _finish(
    factory: sessionmaker[Session], claim: Claim, *, status: OutboxStatus, **values: Any
) -> None:
    with session_scope(factory) as s:
        if not finish_claim(s, claim, status=status, **values):
            # Another worker re-claimed the row after our lease ran out; its outcome stands.
            log.warning("outbox %s: lease lost before recording %s", claim.id, status.value)


def _snapshot(factory: sessionmaker[Session], claim: Claim) -> OutboxItem | None:
    with session_scope(factory) as s:
        found = claimed_row(s, claim.id)
        if found is None:
            return None
        row, slug = found
        return OutboxItem(
            id=row.id,
            tenant_id=row.tenant_id,
            tenant_slug=slug,
            target=row.target,
            ticket_external_id=row.ticket_external_id,
            actions=with_refs([Action.from_dict(a) for a in row.actions], row.idempotency_key),
            idempotency_key=row.idempotency_key,
            attempt=claim.attempts,
            decision_id=row.decision_id,
            ticket_id=row.ticket_id,
            uncertain=bool(row.uncertain),
        )


def _warnings(result: object) -> str | None:
    """What a delivered row left out on purpose, in plain words (None when nothing)."""
    detail = result.detail if isinstance(result, ApplyResult) else None
    warnings = (detail or {}).get("warnings")
    if not isinstance(warnings, list | tuple) or not warnings:
        return None
    return " ".join(str(w) for w in warnings)[:MAX_ERROR_CHARS]


def _result_json(result: object) -> dict[str, Any]:
    if isinstance(result, ApplyResult):
        data: dict[str, Any] = {
            "applied": [kind.value for kind in result.applied],
            "external_ref": result.external_ref,
            "detail": dict(result.detail),
        }
    elif isinstance(result, Mapping):
        data = dict(result)
    else:
        data = {"value": None if result is None else repr(result)}
    # Round-trip so a vendor object in ``detail`` cannot break the JSON column.
    parsed: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return parsed
