"""The demo's past tickets: a plausible, solved history the audit and the replay can measure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from integration import store
from integration.audit.replay import replay
from integration.audit.report import audit_json, run_audit
from integration.demo import demo_expected, demo_tickets
from integration.demo.history import HISTORY_DAYS, HISTORY_TICKETS, demo_history
from integration.demo.seed import seed_demo
from integration.models import Status
from integration.store.history import stored_history

NOW = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def test_the_history_is_solved_past_and_the_same_for_the_same_moment() -> None:
    past = demo_history(demo_tickets(), demo_expected(), now=NOW, zone=BERLIN)
    again = demo_history(demo_tickets(), demo_expected(), now=NOW, zone=BERLIN)
    assert [t.to_dict() for t in past] == [t.to_dict() for t in again]
    assert len(past) == HISTORY_TICKETS == len({t.id for t in past})
    assert {t.status for t in past} <= {Status.SOLVED, Status.CLOSED}
    assert all(NOW - timedelta(days=HISTORY_DAYS + 1) <= t.created_at < NOW for t in past)
    assert all(t.updated_at > t.created_at for t in past)
    weekend = sum(t.created_at.astimezone(BERLIN).weekday() >= 5 for t in past)
    assert weekend < len(past) * 0.15


@pytest.mark.parametrize("hours", range(0, 7 * 24, 11))
def test_every_past_ticket_was_solved_before_the_demo_is_seeded(hours: int) -> None:
    # A resolution after "now" put solved history above the live tickets on the start page.
    now = NOW + timedelta(hours=hours)
    past = demo_history(demo_tickets(), demo_expected(), now=now, zone=BERLIN)
    assert [t.id for t in past if t.updated_at >= now] == []
    assert all(m.created_at < t.updated_at for t in past for m in t.messages)
    assert all(now - timedelta(days=HISTORY_DAYS + 1) <= t.created_at for t in past)


def test_most_tier_3_problems_were_escalated_and_few_questions() -> None:
    expected = demo_expected()
    past = demo_history(demo_tickets(), expected, now=NOW, zone=BERLIN)
    by_tier: dict[int, list[bool]] = {1: [], 2: [], 3: []}
    for ticket in past:
        escalated = any(tag.startswith("escalated_") for tag in ticket.tags)
        by_tier[_tier_of(ticket.subject, expected)].append(escalated)
    assert sum(by_tier[3]) / len(by_tier[3]) > 0.5
    assert sum(by_tier[1]) / len(by_tier[1]) < 0.1


def _tier_of(subject: str, expected: dict[str, dict[str, Any]]) -> int:
    sample = next(t for t in demo_tickets() if t.subject == subject)
    return int(expected[sample.id]["tier"])


def test_the_seeded_demo_has_a_history_to_audit_and_replay(runtime: Any) -> None:
    report = seed_demo(runtime)
    assert report["history"] == HISTORY_TICKETS
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        tenant_id = tenant.id
    since = runtime.now() - timedelta(days=HISTORY_DAYS + 1)
    audit = audit_json(run_audit(stored_history(runtime.sessions, tenant_id=tenant_id,
                                                since=since), matrix=runtime.matrix))
    assert audit["tickets"] >= HISTORY_TICKETS
    assert audit["escalations"]["total"] > 30
    replayed = replay(stored_history(runtime.sessions, tenant_id=tenant_id, since=since),
                      new=runtime.matrix, current=runtime.matrix)
    assert replayed.current.agreement.precision is not None
    assert replayed.current.agreement.recall is not None
