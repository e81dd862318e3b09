"""The stored timeline and the state the sweep acts on (integration.clocks)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from integration.clocks import next_step, sla_fields, timeline_json
from integration.matrix import default_matrix
from integration.models import Status, Tier
from integration.sla import SlaClock, SlaState
from tests.matrix.factories import CREATED, make_ticket

DUE = CREATED + timedelta(hours=4)
WARN = DUE - timedelta(minutes=30)


def clock(state: SlaState, due: Any = DUE, warn: Any = WARN) -> SlaClock:
    return SlaClock(metrics=(), state=state, due_at=due, warn_at=warn, next_check_at=None,
                    tier_elapsed={})


def test_first_sight_is_open_since_creation_then_each_change_is_stamped() -> None:
    ticket = make_ticket()
    first = timeline_json(None, ticket, Tier.TWO)
    assert first == {"statuses": [["2026-11-02T09:14:00Z", "open"]],
                     "tiers": [["2026-11-02T09:14:00Z", 2]]}
    later = CREATED + timedelta(hours=1)
    pending = make_ticket(status=Status.PENDING, updated_at=later)
    second = timeline_json(first, pending, Tier.TWO)
    assert second["statuses"][-1] == ["2026-11-02T10:14:00Z", "pending"]
    assert second["tiers"] == first["tiers"]
    # An update stamped before the last entry (clock skew, late delivery) never goes back.
    stale = make_ticket(status=Status.OPEN, updated_at=CREATED)
    third = timeline_json(second, stale, Tier.THREE, at=None)
    assert third["statuses"][-1] == ["2026-11-02T10:14:00Z", "open"]
    assert third["tiers"][-1] == ["2026-11-02T09:14:00Z", 3]
    promoted = timeline_json(second, pending, Tier.THREE, at=later + timedelta(minutes=5))
    assert promoted["tiers"][-1] == ["2026-11-02T10:19:00Z", 3]


def test_next_step_keeps_an_acted_state_for_the_same_due_time_only() -> None:
    assert next_step(clock(SlaState.OK), previous_state=None, previous_due=None) == (
        SlaState.OK, WARN)
    assert next_step(clock(SlaState.WARNING), previous_state="warning", previous_due=DUE) == (
        SlaState.WARNING, DUE)
    assert next_step(clock(SlaState.BREACHED), previous_state="promoted", previous_due=DUE) == (
        SlaState.PROMOTED, None)
    moved = DUE + timedelta(hours=2)
    assert next_step(clock(SlaState.OK, moved, moved - timedelta(minutes=30)),
                     previous_state="warning", previous_due=DUE) == (
        SlaState.OK, moved - timedelta(minutes=30))
    # Already past on first sight: the sweep picks it up at once.
    assert next_step(clock(SlaState.BREACHED), previous_state=None, previous_due=None) == (
        SlaState.OK, WARN)


def test_paused_and_finished_clocks_are_not_looked_at() -> None:
    assert next_step(clock(SlaState.PAUSED, None, None), previous_state="warning",
                     previous_due=DUE) == (SlaState.PAUSED, None)
    assert next_step(clock(SlaState.DONE, None, None), previous_state="ok",
                     previous_due=DUE) == (SlaState.DONE, None)


def test_sla_fields_for_a_solved_ticket_are_done() -> None:
    solved = make_ticket(status=Status.SOLVED, updated_at=CREATED + timedelta(hours=1))
    fields = sla_fields(default_matrix(), solved, tier=Tier.TWO, timeline=None,
                        previous_state=None, previous_due=None,
                        now=CREATED + timedelta(hours=2))
    assert (fields.state, fields.next_at) == (SlaState.DONE, None)
    assert fields.timeline["statuses"][-1][1] == "solved"


def test_sub_second_creation_times_survive_the_timeline() -> None:
    precise = CREATED + timedelta(microseconds=123_456)
    ticket = make_ticket(created_at=precise)
    fields = sla_fields(default_matrix(), ticket, tier=Tier.TWO, timeline=None,
                        previous_state=None, previous_due=None, now=precise)
    assert fields.timeline["statuses"][0][0] == "2026-11-02T09:14:00.123456Z"
    assert fields.state is SlaState.OK


def test_a_tenant_calendar_moves_business_due_times_but_not_24x7_ones() -> None:
    matrix = default_matrix()
    us = matrix.with_calendar("business_us")
    assert us.tier_settings(Tier.THREE).sla.calendar is None  # 24/7 stays 24/7
    assert us.tier_settings(Tier.TWO).sla.calendar is matrix.calendars["business_us"]
    ticket = make_ticket()  # Monday 09:14Z: 10:14 in Berlin, 04:14 in New York
    berlin = sla_fields(matrix, ticket, tier=Tier.TWO, timeline=None, previous_state=None,
                        previous_due=None, now=CREATED)
    new_york = sla_fields(us, ticket, tier=Tier.TWO, timeline=None, previous_state=None,
                          previous_due=None, now=CREATED)
    assert berlin.due_at == CREATED + timedelta(hours=4)
    # New York opens at 09:00 EST (14:00Z); four business hours later is 18:00Z.
    assert new_york.due_at == CREATED.replace(hour=18, minute=0)
    assert matrix.with_calendar(None) is matrix


def test_a_ticket_stamped_ahead_of_our_clock_does_not_break_the_clock() -> None:
    ahead = make_ticket(created_at=CREATED + timedelta(seconds=40),
                        updated_at=CREATED + timedelta(seconds=30))
    fields = sla_fields(default_matrix(), ahead, tier=Tier.TWO, timeline=None,
                        previous_state=None, previous_due=None, now=CREATED)
    assert fields.state is SlaState.OK
    assert fields.due_at == CREATED + timedelta(seconds=40, hours=4)
    assert fields.timeline["statuses"][0][0] == "2026-11-02T09:14:40Z"
