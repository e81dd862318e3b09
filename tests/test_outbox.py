"""The outbox: actions commit with their decision and land once, or are reported failed."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from adapters.helpdesk.base import ApplyResult
from integration.errors import ConfigurationError, FatalError, RetriableError, ValidationError
from integration.models import Action, ActionKind
from integration.outbox import (
    DeliveryReport,
    OutboxItem,
    RetryPolicy,
    deliver_due,
    enqueue,
    make_idempotency_key,
)
from integration.store import (
    DecisionRow,
    OutboxRow,
    OutboxStatus,
    add_decision,
    claim_due,
    session_scope,
    upsert_ticket,
)
from integration.store.outbox import count_outbox, list_outbox, retry_failed
from tests.store.helpers import (
    BACKENDS,
    T0,
    Store,
    backend_store,
    make_decision,
    make_ticket,
    new_tenant,
)

TAGS = Action(kind=ActionKind.ADD_TAGS, target="helpdesk", payload={"tags": ["escalade_tier_2"]})
NOTE = Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk", payload={"body": "Handoff"})
LEASE = timedelta(seconds=60)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with backend_store(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def tenant(store: Store) -> int:
    return new_tenant(store, "acme")


class Recorder:
    """A deliverer that records what it was given and answers from a script."""

    def __init__(self, *outcomes: BaseException | None) -> None:
        self.outcomes = list(outcomes)
        self.items: list[OutboxItem] = []
        self.lock = threading.Lock()

    def __call__(self, item: OutboxItem) -> ApplyResult:
        with self.lock:
            self.items.append(item)
            outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        return ApplyResult(
            applied=tuple(a.kind for a in item.actions), external_ref=f"audit-{item.id}",
            detail={"status": 200},
        )


def _decide_and_enqueue(store: Store, tenant: int, key: str = "acme:4711:1:helpdesk") -> int:
    """What the pipeline does: ticket, decision and outbox row in one transaction."""
    with session_scope(store.factory) as s:
        ticket = upsert_ticket(
            s, tenant_id=tenant, ticket=make_ticket(), tier=2, priority="high",
            category="billing", sla_due_at=None, input_fingerprint="fp",
        )
        decision = add_decision(
            s, tenant_id=tenant, ticket_id=ticket.id, decision=make_decision(), decided_at=T0
        )
        row = enqueue(
            s, tenant_id=tenant, target="helpdesk", ticket_external_id="4711",
            actions=[TAGS, NOTE], idempotency_key=key, decision_id=decision.id,
            ticket_id=ticket.id, now=T0,
        )
        assert row is not None
        return row.id


def _row(store: Store, outbox_id: int) -> OutboxRow:
    with session_scope(store.factory) as s:
        row = s.get(OutboxRow, outbox_id)
        assert row is not None
        return row


# --- enqueue ------------------------------------------------------------------------------


def test_enqueue_commits_or_rolls_back_with_the_decision(store: Store, tenant: int) -> None:
    with pytest.raises(RuntimeError), session_scope(store.factory) as s:
        enqueue(
            s, tenant_id=tenant, target="helpdesk", ticket_external_id="4711", actions=[TAGS],
            idempotency_key="k", now=T0,
        )
        raise RuntimeError("the decision failed after the enqueue")
    with session_scope(store.factory) as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow)) == 0
    outbox_id = _decide_and_enqueue(store, tenant)
    row = _row(store, outbox_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, T0)
    assert row.actions == [TAGS.to_dict(), NOTE.to_dict()]


def test_a_duplicate_idempotency_key_writes_nothing(store: Store, tenant: int) -> None:
    _decide_and_enqueue(store, tenant, key="same")
    with session_scope(store.factory) as s:
        again = enqueue(
            s, tenant_id=tenant, target="helpdesk", ticket_external_id="4711",
            actions=[NOTE], idempotency_key="same", now=T0 + timedelta(hours=1),
        )
        assert again is None
    with session_scope(store.factory) as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow)) == 1
        assert s.scalar(select(func.count()).select_from(DecisionRow)) == 1


@pytest.mark.parametrize(
    ("actions", "message"),
    [([], "nothing to deliver"), ([Action(kind=ActionKind.ALERT, target="slack")], "slack")],
)
def test_enqueue_refuses_what_cannot_be_delivered(
    store: Store, tenant: int, actions: list[Action], message: str
) -> None:
    with pytest.raises(ValidationError, match=message), session_scope(store.factory) as s:
        enqueue(
            s, tenant_id=tenant, target="helpdesk", ticket_external_id="1", actions=actions,
            idempotency_key="k", now=T0,
        )


def test_idempotency_keys_are_stable_and_short() -> None:
    key = make_idempotency_key("acme", "4711", 12, "helpdesk")
    assert key == make_idempotency_key("acme", "4711", 12, "helpdesk")
    assert key != make_idempotency_key("acme", "4711", 13, "helpdesk")
    assert len(key) == 40


# --- delivery outcomes --------------------------------------------------------------------


def test_success_is_recorded_with_the_vendor_result(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    deliver = Recorder()
    report = deliver_due(store.factory, deliver, now=T0)
    assert report == DeliveryReport(claimed=1, delivered=1)
    (item,) = deliver.items
    assert (item.tenant_slug, item.target, item.ticket_external_id) == ("acme", "helpdesk", "4711")
    tags, note = item.actions
    # The note gains the stable ref its footer carries; nothing else changes.
    assert tags == TAGS
    assert note.payload == {**NOTE.payload, "ref": note.payload["ref"]}
    assert len(note.payload["ref"]) == 10
    assert (item.attempt, item.idempotency_key) == (1, "acme:4711:1:helpdesk")
    row = _row(store, outbox_id)
    assert (row.status, row.delivered_at, row.lease_until) == ("delivered", T0, None)
    assert row.result == {
        "applied": ["add_tags", "internal_note"], "external_ref": f"audit-{outbox_id}",
        "detail": {"status": 200},
    }


def test_the_deliverer_runs_outside_any_transaction(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    seen: list[str] = []

    def deliver(item: OutboxItem) -> ApplyResult:
        # Were the claim's transaction still open, its lock would make this fail at once.
        if store.dialect == "sqlite":
            raw = sqlite3.connect(store.engine.url.database or "", timeout=0)
            try:
                raw.execute("BEGIN IMMEDIATE")
                raw.execute("ROLLBACK")
            finally:
                raw.close()
        else:
            with session_scope(store.factory) as s:
                s.execute(
                    select(OutboxRow.id).where(OutboxRow.id == outbox_id).with_for_update(
                        nowait=True
                    )
                ).one()
        seen.append("free")
        return ApplyResult(applied=())

    assert deliver_due(store.factory, deliver, now=T0).delivered == 1
    assert seen == ["free"]


def test_not_yet_due_rows_wait(store: Store, tenant: int) -> None:
    _decide_and_enqueue(store, tenant)
    deliver = Recorder()
    assert deliver_due(store.factory, deliver, now=T0 - timedelta(seconds=1)) == DeliveryReport()
    assert deliver.items == []


def test_retriable_error_backs_off_exponentially(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    deliver = Recorder(RetriableError("503 from Zendesk"), RetriableError("503 again"))
    assert deliver_due(store.factory, deliver, now=T0).retried == 1
    row = _row(store, outbox_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "503 from Zendesk")
    assert row.next_attempt_at == T0 + timedelta(seconds=2)
    assert deliver_due(store.factory, deliver, now=T0 + timedelta(seconds=1)).claimed == 0
    second = T0 + timedelta(seconds=2)
    assert deliver_due(store.factory, deliver, now=second).retried == 1
    assert _row(store, outbox_id).next_attempt_at == second + timedelta(seconds=4)
    third = second + timedelta(seconds=4)
    assert deliver_due(store.factory, deliver, now=third).delivered == 1
    assert [i.attempt for i in deliver.items] == [1, 2, 3]


def test_retry_after_from_a_429_is_honoured(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    deliver = Recorder(RetriableError("429 Too Many Requests", retry_after=120))
    deliver_due(store.factory, deliver, now=T0)
    assert _row(store, outbox_id).next_attempt_at == T0 + timedelta(seconds=120)


def test_fatal_error_fails_with_the_vendors_message(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    deliver = Recorder(FatalError("422 Unprocessable: tag 'x y' is invalid"))
    assert deliver_due(store.factory, deliver, now=T0) == DeliveryReport(claimed=1, failed=1)
    row = _row(store, outbox_id)
    assert (row.status, row.last_error) == ("failed", "422 Unprocessable: tag 'x y' is invalid")
    assert deliver_due(store.factory, deliver, now=T0 + timedelta(days=1)).claimed == 0


@pytest.mark.parametrize(
    "error",
    [
        ValidationError("priority", "Intercom has no priority 'critical'"),
        ConfigurationError("group 'support' has no id (set group_ids)"),
    ],
)
def test_a_write_the_adapter_finds_invalid_fails_once_without_traceback(
    store: Store, tenant: int, caplog: pytest.LogCaptureFixture, error: Exception
) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    deliver = Recorder(error, error)
    with caplog.at_level(logging.INFO, logger="integration.outbox"):
        assert deliver_due(store.factory, deliver, now=T0) == DeliveryReport(claimed=1, failed=1)
    row = _row(store, outbox_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, str(error))
    assert not any(r.exc_info for r in caplog.records)
    assert deliver_due(store.factory, deliver, now=T0 + timedelta(days=1)).claimed == 0
    assert len(deliver.items) == 1


def test_retriable_errors_past_max_attempts_fail(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    deliver = Recorder(*(RetriableError(f"timeout {n}") for n in range(1, 10)))
    policy = RetryPolicy(max_attempts=3)
    now = T0
    for _ in range(5):
        deliver_due(store.factory, deliver, now=now, policy=policy)
        now += timedelta(hours=1)
    assert len(deliver.items) == 3
    row = _row(store, outbox_id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error == "gave up after 3 attempts: timeout 3"


def test_unexpected_errors_are_retried_and_logged_with_traceback(
    store: Store, tenant: int, caplog: pytest.LogCaptureFixture
) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    deliver = Recorder(KeyError("ticket"))
    with caplog.at_level(logging.ERROR, logger="integration.outbox"):
        assert deliver_due(store.factory, deliver, now=T0).retried == 1
    assert any(r.exc_info and isinstance(r.exc_info[1], KeyError) for r in caplog.records)
    row = _row(store, outbox_id)
    assert (row.status, row.last_error) == ("pending", "KeyError: 'ticket'")


def test_the_admin_retry_button_requeues_a_failed_row(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    deliver = Recorder(FatalError("403 Forbidden: token revoked"))
    deliver_due(store.factory, deliver, now=T0)
    later = T0 + timedelta(hours=2)
    with session_scope(store.factory) as s:
        assert count_outbox(s, tenant_id=tenant)["failed"] == 1
        assert [r.id for r in list_outbox(s, tenant_id=tenant, statuses=[OutboxStatus.FAILED])] == [
            outbox_id
        ]
        assert retry_failed(s, outbox_id, now=later) is True
    with session_scope(store.factory) as s:
        assert retry_failed(s, outbox_id, now=later) is False
    assert deliver_due(store.factory, deliver, now=later).delivered == 1
    assert _row(store, outbox_id).status == "delivered"


def test_limit_bounds_one_pass(store: Store, tenant: int) -> None:
    for n in range(5):
        _decide_and_enqueue(store, tenant, key=f"k{n}")
    deliver = Recorder()
    assert deliver_due(store.factory, deliver, now=T0, limit=2).delivered == 2
    assert deliver_due(store.factory, deliver, now=T0, limit=10).delivered == 3


# --- crashes and concurrency --------------------------------------------------------------


def test_committed_work_is_delivered_once_after_a_crash(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    store.engine.dispose()  # the process dies before any delivery
    deliver = Recorder()
    with store.reopened() as restarted:
        later = T0 + timedelta(minutes=1)
        assert deliver_due(restarted.factory, deliver, now=later).delivered == 1
        assert deliver_due(restarted.factory, deliver, now=later + LEASE * 10).claimed == 0
    assert [i.id for i in deliver.items] == [outbox_id]


def test_a_row_left_inflight_is_redelivered_once_after_its_lease(
    store: Store, tenant: int
) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    # A worker claims the row and is killed before it records anything.
    (claim,) = claim_due(
        store.factory, OutboxRow, waiting="pending", busy="inflight", now=T0, limit=1,
        lease=LEASE,
    )
    assert _row(store, outbox_id).status == "inflight"
    deliver = Recorder()
    with store.reopened() as restarted:
        early = T0 + timedelta(seconds=59)
        assert deliver_due(restarted.factory, deliver, now=early).claimed == 0
        after = T0 + LEASE
        assert deliver_due(restarted.factory, deliver, now=after).delivered == 1
        assert deliver_due(restarted.factory, deliver, now=after + LEASE * 10).claimed == 0
    # The dead worker may have reached the vendor: the redelivery checks before writing.
    assert [(i.id, i.attempt, i.uncertain) for i in deliver.items] == [(outbox_id, 2, True)]


def test_a_fresh_row_is_delivered_without_checking_first(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    deliver = Recorder(RetriableError("429 Too Many Requests", retry_after=1))
    deliver_due(store.factory, deliver, now=T0)
    deliver_due(store.factory, deliver, now=T0 + timedelta(minutes=1))
    # A refusal says the write did not happen: no reason to doubt the next attempt.
    assert [i.uncertain for i in deliver.items] == [False, False]
    assert _row(store, outbox_id).status == "delivered"


def test_an_outcome_unknown_stays_unsure_until_delivered(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    deliver = Recorder(
        RetriableError("zendesk: ReadTimeout", uncertain=True),
        RetriableError("429 Too Many Requests"),
    )
    now = T0
    for _ in range(3):
        deliver_due(store.factory, deliver, now=now)
        now += timedelta(hours=1)
    assert [i.uncertain for i in deliver.items] == [False, True, True]
    assert _row(store, outbox_id).status == "delivered"


def test_an_unexpected_error_leaves_the_row_unsure(store: Store, tenant: int) -> None:
    _decide_and_enqueue(store, tenant)
    deliver = Recorder(ConnectionResetError("peer went away"))
    deliver_due(store.factory, deliver, now=T0)
    deliver_due(store.factory, deliver, now=T0 + timedelta(hours=1))
    assert [i.uncertain for i in deliver.items] == [False, True]


def test_what_a_delivery_left_out_is_kept_beside_the_row(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    warning = "Not moved to group 'support': no Zendesk group is mapped to it."

    def deliver(item: OutboxItem) -> ApplyResult:
        return ApplyResult(applied=(ActionKind.ADD_TAGS,), detail={"warnings": [warning]})

    assert deliver_due(store.factory, deliver, now=T0).delivered == 1
    row = _row(store, outbox_id)
    assert (row.status, row.last_error) == ("delivered", warning)


def test_a_worker_that_lost_its_lease_leaves_the_row_to_its_new_owner(
    store: Store, tenant: int
) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    taken_over = []

    def slow_then_fails(item: OutboxItem) -> ApplyResult:
        # Meanwhile the lease runs out and another worker takes the row.
        taken_over.extend(
            claim_due(
                store.factory, OutboxRow, waiting="pending", busy="inflight", now=T0 + LEASE,
                limit=1, lease=LEASE,
            )
        )
        raise RetriableError("timed out")

    assert deliver_due(store.factory, slow_then_fails, now=T0, lease=LEASE).retried == 1
    row = _row(store, outbox_id)
    assert (row.status, row.claim_token, row.lease_until) == (
        "inflight", taken_over[0].token, T0 + 2 * LEASE,
    )


def test_success_is_recorded_even_after_the_lease_was_lost(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)

    def slow_but_lands(item: OutboxItem) -> ApplyResult:
        claim_due(
            store.factory, OutboxRow, waiting="pending", busy="inflight", now=T0 + LEASE,
            limit=1, lease=LEASE,
        )
        return ApplyResult(applied=(ActionKind.ADD_TAGS,))

    assert deliver_due(store.factory, slow_but_lands, now=T0, lease=LEASE).delivered == 1
    assert _row(store, outbox_id).status == "delivered"


def test_repeatedly_interrupted_deliveries_end_as_failed(store: Store, tenant: int) -> None:
    outbox_id = _decide_and_enqueue(store, tenant)
    policy = RetryPolicy(max_attempts=2)
    now = T0
    for _ in range(2):
        claim_due(
            store.factory, OutboxRow, waiting="pending", busy="inflight", now=now, limit=1,
            lease=LEASE,
        )
        now += LEASE
    deliver = Recorder()
    assert deliver_due(store.factory, deliver, now=now, policy=policy).failed == 1
    assert deliver.items == []
    assert _row(store, outbox_id).last_error == (
        "gave up after 2 attempts: delivery kept being interrupted"
    )


def test_two_workers_deliver_each_row_exactly_once(store: Store, tenant: int) -> None:
    for n in range(40):
        _decide_and_enqueue(store, tenant, key=f"k{n}")
    deliver = Recorder()
    start = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    def worker() -> None:
        with store.reopened() as mine:
            start.wait()
            while (report := deliver_due(mine.factory, deliver, now=T0, limit=5)).claimed:
                reports.append(report)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i.id for i in deliver.items]
    assert len(ids) == 40
    assert len(set(ids)) == 40
    assert sum(r.delivered for r in reports) == 40
    with session_scope(store.factory) as s:
        assert count_outbox(s)["delivered"] == 40


# --- the policy ---------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy()
    delays = [policy.backoff(n).total_seconds() for n in (1, 2, 3, 4, 10, 60)]
    assert delays == [2, 4, 8, 16, 900, 900]


def test_jitter_only_shortens_the_delay_within_its_fraction() -> None:
    policy = RetryPolicy(jitter=0.5)
    assert policy.backoff(3, rand=lambda: 0.0) == timedelta(seconds=8)
    assert policy.backoff(3, rand=lambda: 1.0) == timedelta(seconds=4)


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"factor": 0.5}, {"jitter": 1.5}]
)
def test_nonsense_policies_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RetryPolicy(**kwargs)
