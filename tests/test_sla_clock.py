"""SLA clocks rebuilt from a ticket's history, at a frozen ``now``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from integration.calendars import Calendar, parse_ical_holidays
from integration.models import Author, Channel, Message, Person, Priority, Status, Ticket, Tier
from integration.sla import (
    MetricClock,
    SlaClock,
    SlaMetric,
    SlaState,
    SlaTargets,
    Timeline,
    sla_clock,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)
M = timedelta(minutes=1)

OFFICE = Calendar.build(timezone="Europe/Berlin", hours={"mon-fri": ["09:00-17:00"]})
NY_OFFICE = Calendar.build(timezone="America/New_York", hours={"mon-fri": ["09:00-17:00"]})


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def berlin(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def new_york(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK)


def timeline(
    created: datetime,
    *,
    statuses: Iterable[tuple[datetime, Status]] = (),
    tiers: Iterable[tuple[datetime, Tier]] = (),
    customer: Iterable[datetime] = (),
    agent: Iterable[datetime] = (),
) -> Timeline:
    return Timeline(
        created_at=created,
        statuses=((created, Status.NEW), *statuses),
        tiers=tuple(tiers) or ((created, Tier.TWO),),
        customer_messages=(created, *customer),
        agent_replies=tuple(agent),
    )


def targets(
    calendar: Calendar | None = None,
    *,
    first: timedelta | None = 4 * H,
    following: timedelta | None = 2 * H,
    resolution: timedelta | None = 24 * H,
    tier: Tier = Tier.TWO,
) -> dict[Tier, SlaTargets]:
    return {
        tier: SlaTargets(
            first_response=first,
            next_response=following,
            resolution=resolution,
            calendar=calendar,
        )
    }


def metric(clock: SlaClock, which: SlaMetric, index: int = -1) -> MetricClock:
    return [m for m in clock.metrics if m.metric is which][index]


FIRST, NEXT, RESOLUTION = SlaMetric.FIRST_RESPONSE, SlaMetric.NEXT_RESPONSE, SlaMetric.RESOLUTION


# --- states around the clock ------------------------------------------------------------


def test_a_fresh_ticket_is_ok_until_the_warning_then_breached_at_the_due_time() -> None:
    line = timeline(utc(2, 10))
    ok = sla_clock(line, targets(), now=utc(2, 11))
    assert ok.state is SlaState.OK
    assert (ok.due_at, ok.warn_at, ok.next_check_at) == (utc(2, 14), utc(2, 13, 30), utc(2, 13, 30))
    assert metric(ok, FIRST).elapsed == H
    assert metric(ok, RESOLUTION).due_at == utc(3, 10)

    warning = sla_clock(line, targets(), now=utc(2, 13, 30))
    assert warning.state is SlaState.WARNING
    assert warning.next_check_at == utc(2, 14)

    breached = sla_clock(line, targets(), now=utc(2, 14))
    assert breached.state is SlaState.BREACHED
    assert breached.next_check_at is None
    first = metric(breached, FIRST)
    assert (first.breached_at, first.blamed_tier, first.met_at) == (utc(2, 14), Tier.TWO, None)


def test_a_reply_meets_the_first_response_and_resolution_keeps_running() -> None:
    line = timeline(utc(2, 10), agent=[utc(2, 13, 59)])
    clock = sla_clock(line, targets(), now=utc(2, 15))
    first = metric(clock, FIRST)
    assert (first.met_at, first.due_at, first.breached_at) == (utc(2, 13, 59), None, None)
    assert first.elapsed == 3 * H + 59 * M
    assert clock.state is SlaState.OK
    assert clock.due_at == utc(3, 10)  # only resolution still runs


def test_a_reply_at_the_due_time_is_in_time() -> None:
    line = timeline(utc(2, 10), agent=[utc(2, 14)])
    first = metric(sla_clock(line, targets(), now=utc(2, 15)), FIRST)
    assert (first.met_at, first.breached_at, first.blamed_tier) == (utc(2, 14), None, None)


def test_a_reply_after_the_due_time_is_met_but_breached() -> None:
    line = timeline(utc(2, 10), agent=[utc(2, 14, 1)])
    first = metric(sla_clock(line, targets(), now=utc(2, 15)), FIRST)
    assert (first.met_at, first.breached_at, first.blamed_tier) == (
        utc(2, 14, 1),
        utc(2, 14),
        Tier.TWO,
    )


def test_warn_at_is_counted_in_business_time() -> None:
    # Monday 16:00 Berlin, 2 business hours: due Tuesday 10:00.
    line = timeline(berlin(11, 2, 16))
    clock = sla_clock(line, targets(OFFICE, first=2 * H), now=berlin(11, 2, 16, 10))
    assert clock.due_at == berlin(11, 3, 10)
    assert clock.warn_at == berlin(11, 3, 9, 30)
    early = sla_clock(
        line, targets(OFFICE, first=2 * H), now=berlin(11, 2, 16, 10), warn_before=90 * M
    )
    # 90 business minutes before Tuesday 10:00 is Monday 16:30, not Tuesday 08:30.
    assert early.warn_at == berlin(11, 2, 16, 30)
    assert early.state is SlaState.OK
    assert early.next_check_at == berlin(11, 2, 16, 30)


def test_a_window_shorter_than_the_warning_warns_from_the_start() -> None:
    clock = sla_clock(timeline(utc(2, 10)), targets(first=20 * M), now=utc(2, 10, 5))
    assert (clock.warn_at, clock.due_at) == (utc(2, 10), utc(2, 10, 20))
    assert clock.state is SlaState.WARNING
    assert clock.next_check_at == utc(2, 10, 20)
    # On a business calendar the warning starts when the clock first counts, Monday 09:00.
    friday = sla_clock(
        timeline(berlin(11, 6, 22)), targets(OFFICE, first=20 * M), now=berlin(11, 7, 9)
    )
    assert (friday.warn_at, friday.due_at) == (berlin(11, 9, 9), berlin(11, 9, 9, 20))
    assert friday.state is SlaState.OK
    # Pending over the weekend until Monday 10:00: the clock first counts at 10:00.
    waited = timeline(
        berlin(11, 6, 22),
        statuses=[(berlin(11, 7, 10), Status.PENDING), (berlin(11, 9, 10), Status.OPEN)],
    )
    resumed = sla_clock(waited, targets(OFFICE, first=20 * M), now=berlin(11, 9, 10, 5))
    assert (resumed.warn_at, resumed.due_at) == (berlin(11, 9, 10), berlin(11, 9, 10, 20))


def test_a_ticket_created_on_friday_night_starts_counting_on_monday() -> None:
    line = timeline(berlin(11, 6, 22))
    clock = sla_clock(line, targets(OFFICE, first=H), now=berlin(11, 8, 12))
    first = metric(clock, FIRST)
    assert first.elapsed == timedelta(0)
    assert first.due_at == berlin(11, 9, 10)
    assert first.warn_at == berlin(11, 9, 9, 30)
    assert clock.state is SlaState.OK
    assert clock.next_check_at == berlin(11, 9, 9, 30)


def test_a_metric_without_a_target_is_not_tracked() -> None:
    clock = sla_clock(
        timeline(utc(2, 10)), targets(following=None, resolution=None), now=utc(2, 11)
    )
    assert [m.metric for m in clock.metrics] == [FIRST]
    tier_one = targets(first=None, following=None, resolution=None, tier=Tier.ONE)
    line = timeline(utc(2, 10), tiers=[(utc(2, 10), Tier.ONE)])
    none = sla_clock(line, tier_one, now=utc(2, 11))
    assert none.metrics == ()
    assert none.state is SlaState.DONE


# --- DST, holidays, shifts ---------------------------------------------------------------


def test_dst_spring_forward_berlin_business_hours() -> None:
    # Friday 27 March 16:00 CET; clocks jump on Sunday; Monday 10:00 is CEST (08:00 UTC).
    clock = sla_clock(
        timeline(berlin(3, 27, 16)), targets(OFFICE, first=2 * H), now=berlin(3, 28, 12)
    )
    assert clock.due_at == berlin(3, 30, 10)
    assert clock.due_at == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert metric(clock, FIRST).elapsed == H


def test_dst_spring_forward_new_york_business_hours() -> None:
    # Friday 6 March 16:00 EST (21:00 UTC); Monday 10:00 is EDT (14:00 UTC), not 15:00 UTC.
    clock = sla_clock(
        timeline(new_york(3, 6, 16)), targets(NY_OFFICE, first=2 * H), now=new_york(3, 7, 9)
    )
    assert clock.due_at == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("calendar", "created", "due_utc"),
    [
        # Friday 23 Oct 16:00 CEST; Monday 10:00 is CET, 09:00 UTC (not 08:00).
        (OFFICE, berlin(10, 23, 16), datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),
        # Friday 30 Oct 16:00 EDT; Monday 2 Nov 10:00 is EST, 15:00 UTC (not 14:00).
        (NY_OFFICE, new_york(10, 30, 16), datetime(2026, 11, 2, 15, 0, tzinfo=UTC)),
    ],
    ids=["berlin", "new-york"],
)
def test_dst_fall_back_business_hours(
    calendar: Calendar, created: datetime, due_utc: datetime
) -> None:
    clock = sla_clock(timeline(created), targets(calendar, first=2 * H), now=created + H)
    assert clock.due_at == due_utc
    assert clock.warn_at == due_utc - 30 * M


@pytest.mark.parametrize(
    "calendar",
    [None, Calendar.build(timezone="Europe/Berlin", hours={"daily": ["00:00-24:00"]})],
    ids=["no-calendar", "berlin-24x7"],
)
def test_dst_around_the_clock_counts_real_hours(calendar: Calendar | None) -> None:
    # Spring: Saturday 12:00 CET + 24 real hours = Sunday 13:00 CEST.
    spring = sla_clock(
        timeline(berlin(3, 28, 12)), targets(calendar, first=24 * H), now=berlin(3, 28, 13)
    )
    assert metric(spring, FIRST).due_at == berlin(3, 29, 13)
    # Autumn: Saturday 12:00 CEST + 24 real hours = Sunday 11:00 CET.
    autumn = sla_clock(
        timeline(berlin(10, 24, 12)), targets(calendar, first=24 * H), now=berlin(10, 25, 10)
    )
    assert metric(autumn, FIRST).due_at == berlin(10, 25, 11)
    # The Sunday has 25 hours: 22 wall-clock hours after the start are 23 real ones.
    assert metric(autumn, FIRST).elapsed == 23 * H


def test_dst_fall_back_inside_a_new_york_night_shift() -> None:
    # Sat 31 Oct 22:00 EDT to Sun 1 Nov 06:00 EST is nine real hours.
    nights = Calendar.build(timezone="America/New_York", hours={"daily": ["22:00-06:00"]})
    line = timeline(new_york(10, 31, 22))
    clock = sla_clock(line, targets(nights, first=8 * H + 30 * M), now=new_york(10, 31, 23))
    assert clock.due_at == new_york(11, 1, 5, 30)
    assert clock.due_at == datetime(2026, 11, 1, 10, 30, tzinfo=UTC)


def test_dst_spring_forward_inside_a_berlin_night_shift() -> None:
    # Sat 28 March 22:00 CET to Sun 06:00 CEST is seven real hours; 30 minutes remain.
    nights = Calendar.build(timezone="Europe/Berlin", hours={"daily": ["22:00-06:00"]})
    line = timeline(berlin(3, 28, 22))
    clock = sla_clock(line, targets(nights, first=7 * H + 30 * M), now=berlin(3, 29, 12))
    assert metric(clock, FIRST).elapsed == 7 * H
    assert clock.due_at == berlin(3, 29, 22, 30)


def test_an_overnight_shift() -> None:
    nights = Calendar.build(timezone="Europe/Berlin", hours={"mon-fri": ["22:00-06:00"]})
    # Created Tuesday noon: nothing counts until 22:00.
    noon = sla_clock(timeline(berlin(11, 3, 12)), targets(nights, first=H), now=berlin(11, 3, 13))
    assert noon.due_at == berlin(11, 3, 23)
    # Friday 05:00 is the tail of Thursday's shift: one hour now, the rest Friday night.
    dawn = timeline(berlin(11, 6, 5))
    clock = sla_clock(dawn, targets(nights, first=2 * H), now=berlin(11, 6, 12))
    assert metric(clock, FIRST).elapsed == H
    assert clock.due_at == berlin(11, 6, 23)


def test_a_holiday_is_not_counted() -> None:
    office = Calendar.build(
        timezone="Europe/Berlin",
        hours={"mon-fri": ["09:00-17:00"]},
        holidays=["2026-12-25", "2026-12-28"],
    )
    # Thursday 24 Dec 16:00; Friday and Monday are holidays.
    clock = sla_clock(
        timeline(berlin(12, 24, 16)), targets(office, first=2 * H), now=berlin(12, 27, 9)
    )
    assert clock.due_at == berlin(12, 29, 10)
    assert metric(clock, FIRST).elapsed == H


def test_holidays_imported_from_ical() -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Christmas\r\n"
        "DTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261229\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    office = Calendar.build(
        timezone="Europe/Berlin",
        hours={"mon-fri": ["09:00-17:00"]},
        holidays=parse_ical_holidays(ics),
    )
    clock = sla_clock(
        timeline(berlin(12, 24, 16)), targets(office, first=2 * H), now=berlin(12, 24, 17)
    )
    assert clock.due_at == berlin(12, 29, 10)


# --- pauses, reopen, follow-ups -------------------------------------------------------------


def test_pause_and_resume() -> None:
    line = timeline(utc(2, 10), statuses=[(utc(2, 11), Status.PENDING), (utc(2, 13), Status.OPEN)])
    paused = sla_clock(line, targets(), now=utc(2, 12))
    assert paused.state is SlaState.PAUSED
    assert (paused.due_at, paused.warn_at, paused.next_check_at) == (None, None, None)
    assert all(m.due_at is None for m in paused.metrics)
    assert metric(paused, FIRST).elapsed == H

    resumed = sla_clock(line, targets(), now=utc(2, 13, 30))
    assert resumed.state is SlaState.OK
    assert resumed.due_at == utc(2, 16)  # two paused hours pushed 14:00 back
    assert metric(resumed, FIRST).elapsed == H + 30 * M
    assert metric(resumed, RESOLUTION).due_at == utc(3, 12)
    assert resumed.tier_elapsed == {Tier.TWO: H + 30 * M}


def test_on_hold_pauses_too_and_pause_statuses_are_configurable() -> None:
    line = timeline(utc(2, 10), statuses=[(utc(2, 11), Status.ON_HOLD)])
    assert sla_clock(line, targets(), now=utc(2, 20)).state is SlaState.PAUSED
    not_paused = sla_clock(line, targets(), now=utc(2, 20), pause_on=frozenset({Status.PENDING}))
    assert not_paused.state is SlaState.BREACHED
    assert metric(not_paused, FIRST).breached_at == utc(2, 14)


def test_a_pause_cannot_hide_a_breach_that_already_happened() -> None:
    line = timeline(utc(2, 10), statuses=[(utc(2, 15), Status.PENDING)])
    clock = sla_clock(line, targets(), now=utc(2, 16))
    assert clock.state is SlaState.PAUSED
    first = metric(clock, FIRST)
    assert (first.breached_at, first.due_at) == (utc(2, 14), None)


def test_solving_stops_the_clocks_and_meets_an_unanswered_first_response() -> None:
    line = timeline(utc(2, 10), statuses=[(utc(2, 12), Status.SOLVED)])
    clock = sla_clock(line, targets(), now=utc(2, 20))
    assert clock.state is SlaState.DONE
    assert clock.next_check_at is None
    assert metric(clock, FIRST).met_at == utc(2, 12)
    assert metric(clock, RESOLUTION).met_at == utc(2, 12)
    assert metric(clock, RESOLUTION).elapsed == 2 * H


def test_a_reopened_ticket_resumes_resolution_and_starts_a_next_response() -> None:
    line = timeline(
        utc(2, 10),
        statuses=[(utc(2, 11), Status.SOLVED), (utc(2, 15), Status.OPEN)],
        agent=[utc(2, 10, 30)],
        customer=[utc(2, 15)],
    )
    solved = sla_clock(line, targets(resolution=8 * H), now=utc(2, 12))
    assert solved.state is SlaState.DONE
    reopened = sla_clock(line, targets(resolution=8 * H), now=utc(2, 16))
    resolution = metric(reopened, RESOLUTION)
    assert resolution.met_at is None
    assert resolution.elapsed == 2 * H  # 10-11 and 15-16; the solved hours are not counted
    assert resolution.due_at == utc(2, 22)
    follow_up = metric(reopened, NEXT)
    assert (follow_up.started_at, follow_up.due_at) == (utc(2, 15), utc(2, 17))
    assert len([m for m in reopened.metrics if m.metric is NEXT]) == 1
    assert reopened.state is SlaState.OK
    assert reopened.due_at == utc(2, 17)


def test_a_message_on_a_closed_ticket_starts_no_clock() -> None:
    line = timeline(
        utc(2, 10),
        statuses=[(utc(2, 11), Status.CLOSED)],
        agent=[utc(2, 10, 30)],
        customer=[utc(2, 12)],
    )
    clock = sla_clock(line, targets(), now=utc(2, 20))
    assert clock.state is SlaState.DONE
    assert [m.metric for m in clock.metrics] == [FIRST, RESOLUTION]
    assert all(not m.running for m in clock.metrics)


def test_a_reopen_by_status_alone_also_starts_a_next_response() -> None:
    line = timeline(utc(2, 10), statuses=[(utc(2, 11), Status.SOLVED), (utc(2, 15), Status.OPEN)])
    follow_up = metric(sla_clock(line, targets(), now=utc(2, 16)), NEXT)
    assert follow_up.started_at == utc(2, 15)


def test_next_response_runs_from_a_customer_follow_up_to_the_next_reply() -> None:
    line = timeline(
        utc(2, 10),
        customer=[utc(2, 10, 10), utc(2, 11), utc(2, 11, 20)],
        agent=[utc(2, 10, 30), utc(2, 13, 30)],
    )
    clock = sla_clock(line, targets(following=2 * H), now=utc(2, 14))
    nexts = [m for m in clock.metrics if m.metric is NEXT]
    # 10:10 is before any reply (first response still running): no clock; 11:20 adds nothing.
    assert len(nexts) == 1
    assert (nexts[0].started_at, nexts[0].met_at) == (utc(2, 11), utc(2, 13, 30))
    assert nexts[0].breached_at == utc(2, 13)
    assert clock.state is SlaState.BREACHED  # a finished breach still counts


def test_a_second_follow_up_gets_its_own_clock() -> None:
    line = timeline(
        utc(2, 10), customer=[utc(2, 11), utc(2, 15)], agent=[utc(2, 10, 30), utc(2, 12)]
    )
    clock = sla_clock(line, targets(following=2 * H), now=utc(2, 15, 30))
    nexts = [m for m in clock.metrics if m.metric is NEXT]
    assert [(m.started_at, m.met_at) for m in nexts] == [
        (utc(2, 11), utc(2, 12)),
        (utc(2, 15), None),
    ]
    assert clock.due_at == utc(2, 17)
    assert clock.state is SlaState.OK


# --- tier changes ------------------------------------------------------------------------

TIERED = {
    Tier.TWO: SlaTargets(first_response=4 * H, resolution=24 * H),
    Tier.THREE: SlaTargets(first_response=H, resolution=8 * H),
}


def test_a_promotion_re_targets_from_the_original_start() -> None:
    line = timeline(utc(2, 10), tiers=[(utc(2, 10), Tier.TWO), (utc(2, 10, 20), Tier.THREE)])
    clock = sla_clock(line, TIERED, now=utc(2, 10, 40))
    first = metric(clock, FIRST)
    assert (first.tier, first.due_at, first.warn_at) == (Tier.THREE, utc(2, 11), utc(2, 10, 30))
    assert clock.state is SlaState.WARNING
    later = metric(sla_clock(line, TIERED, now=utc(2, 11, 5)), FIRST)
    # Tier 3's window ran out while Tier 3 held the ticket.
    assert (later.breached_at, later.blamed_tier) == (utc(2, 11), Tier.THREE)


def test_a_promotion_past_the_new_window_is_breached_at_once_and_blamed_on_the_holder() -> None:
    line = timeline(utc(2, 10), tiers=[(utc(2, 10), Tier.TWO), (utc(2, 12), Tier.THREE)])
    before = sla_clock(line, TIERED, now=utc(2, 11, 59))
    assert before.state is SlaState.OK
    assert metric(before, FIRST).due_at == utc(2, 14)
    clock = sla_clock(line, TIERED, now=utc(2, 12))
    first = metric(clock, FIRST)
    assert clock.state is SlaState.BREACHED
    assert (first.tier, first.due_at) == (Tier.THREE, utc(2, 11))
    # Breached at the handoff, blamed on Tier 2, which held the ticket at 11:00.
    assert (first.breached_at, first.blamed_tier) == (utc(2, 12), Tier.TWO)
    assert clock.tier_elapsed == {Tier.TWO: 2 * H, Tier.THREE: timedelta(0)}


def test_a_tier_two_breach_stays_tier_two_after_promotion_to_a_longer_window() -> None:
    slow_three = {**TIERED, Tier.THREE: SlaTargets(first_response=8 * H)}
    line = timeline(utc(2, 10), tiers=[(utc(2, 10), Tier.TWO), (utc(2, 15), Tier.THREE)])
    clock = sla_clock(line, slow_three, now=utc(2, 16))
    first = metric(clock, FIRST)
    assert (first.breached_at, first.blamed_tier) == (utc(2, 14), Tier.TWO)
    assert (first.tier, first.due_at) == (Tier.THREE, utc(2, 18))
    assert clock.state is SlaState.BREACHED
    assert clock.tier_elapsed == {Tier.TWO: 5 * H, Tier.THREE: H}
    # Tier 3's own window running out later does not move the first breach.
    much_later = metric(sla_clock(line, slow_three, now=utc(2, 19)), FIRST)
    assert (much_later.breached_at, much_later.blamed_tier) == (utc(2, 14), Tier.TWO)


def test_each_tier_counts_on_its_own_calendar() -> None:
    # Tier 2 is 24/7, Tier 3 works office hours: after the promotion the new due is where
    # the office-hours time since creation reaches Tier 3's target.
    mixed = {
        Tier.TWO: SlaTargets(first_response=8 * H),
        Tier.THREE: SlaTargets(first_response=3 * H, calendar=OFFICE),
    }
    line = timeline(
        berlin(11, 2, 7), tiers=[(berlin(11, 2, 7), Tier.TWO), (berlin(11, 2, 10), Tier.THREE)]
    )
    clock = sla_clock(line, mixed, now=berlin(11, 2, 10, 30))
    first = metric(clock, FIRST)
    assert first.due_at == berlin(11, 2, 12)
    assert first.elapsed == H + 30 * M  # office hours since 09:00
    assert clock.tier_elapsed == {Tier.TWO: 3 * H, Tier.THREE: 30 * M}
    evening = sla_clock(line, mixed, now=berlin(11, 2, 19))
    assert evening.tier_elapsed == {Tier.TWO: 3 * H, Tier.THREE: 7 * H}  # office closes at 17
    late = metric(evening, FIRST)
    assert (late.breached_at, late.blamed_tier) == (berlin(11, 2, 12), Tier.THREE)


def test_a_tier_change_after_the_reply_does_not_touch_the_met_clock() -> None:
    line = timeline(
        utc(2, 10), tiers=[(utc(2, 10), Tier.TWO), (utc(2, 13), Tier.THREE)], agent=[utc(2, 12)]
    )
    first = metric(sla_clock(line, TIERED, now=utc(2, 14)), FIRST)
    assert (first.tier, first.breached_at, first.met_at) == (Tier.TWO, None, utc(2, 12))


# --- input handling, serialization --------------------------------------------------------


def test_events_after_now_are_ignored() -> None:
    line = timeline(
        utc(2, 10),
        statuses=[(utc(2, 18), Status.SOLVED)],
        tiers=[(utc(2, 10), Tier.TWO), (utc(2, 17), Tier.THREE)],
        agent=[utc(2, 16)],
    )
    clock = sla_clock(line, TIERED, now=utc(2, 11))
    assert clock.state is SlaState.OK
    assert metric(clock, FIRST).tier is Tier.TWO
    assert metric(clock, FIRST).met_at is None


def test_timeline_of_a_ticket() -> None:
    created = utc(2, 10)

    def message(n: int, author: Author, *, public: bool = True) -> Message:
        return Message(id=str(n), author=author, body="", public=public, created_at=created + n * M)

    ticket = Ticket(
        tenant="acme",
        helpdesk="zendesk",
        id="1",
        subject="",
        status=Status.OPEN,
        priority=Priority.NORMAL,
        channel=Channel.EMAIL,
        created_at=created,
        updated_at=created,
        requester=Person(id="r"),
        messages=(
            message(30, Author.AGENT),
            message(0, Author.CUSTOMER),
            message(5, Author.BOT),
            message(10, Author.AGENT, public=False),
            message(40, Author.CUSTOMER),
        ),
    )
    line = Timeline.of(ticket, tiers=[(created, Tier.TWO)])
    assert line.statuses == ((created, Status.OPEN),)
    assert line.customer_messages == (created, created + 40 * M)
    assert line.agent_replies == (created + 30 * M,)
    clock = sla_clock(line, targets(), now=created + H)
    assert metric(clock, FIRST).met_at == created + 30 * M
    assert metric(clock, NEXT).started_at == created + 40 * M


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Timeline(created_at=datetime(2026, 11, 2, 10), statuses=(), tiers=()), "naive"),
        (
            lambda: timeline(
                utc(2, 10), statuses=[(utc(2, 12), Status.OPEN), (utc(2, 11), Status.PENDING)]
            ),
            "statuses are not in time order",
        ),
        (
            lambda: timeline(utc(2, 10), tiers=[(utc(2, 12), Tier.TWO), (utc(2, 11), Tier.THREE)]),
            "tiers are not in time order",
        ),
        (
            lambda: Timeline(created_at=utc(2, 10), statuses=((utc(2, 9), Status.NEW),), tiers=()),
            "before created_at",
        ),
        (lambda: timeline(utc(2, 10), agent=[utc(2, 12), utc(2, 11)]), "agent_replies"),
    ],
)
def test_bad_timelines(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_bad_clock_inputs() -> None:
    line = timeline(utc(2, 10))
    with pytest.raises(ValueError, match="naive"):
        sla_clock(line, targets(), now=datetime(2026, 11, 2, 11))
    with pytest.raises(ValueError, match="before the ticket was created"):
        sla_clock(line, targets(), now=utc(2, 9))
    with pytest.raises(ValueError, match="no tier decision"):
        sla_clock(Timeline(created_at=utc(2, 10), statuses=(), tiers=()), targets(), now=utc(2, 11))
    with pytest.raises(ValueError, match="warn_before"):
        sla_clock(line, targets(), now=utc(2, 11), warn_before=-M)


def test_round_trip_through_json() -> None:
    line = timeline(
        utc(2, 10),
        tiers=[(utc(2, 10), Tier.TWO), (utc(2, 12), Tier.THREE)],
        agent=[utc(2, 10, 30) + timedelta(seconds=15, microseconds=500)],
        customer=[utc(2, 11)],
    )
    clock = sla_clock(line, {**TIERED, Tier.THREE: SlaTargets(next_response=H)}, now=utc(2, 12, 30))
    data = json.loads(json.dumps(clock.to_dict()))
    assert SlaClock.from_dict(data) == clock
    assert data["state"] == "breached"
    assert data["tier_elapsed"] == {"2": 7200.0, "3": 1800.0}
    first = data["metrics"][0]
    assert first["met_at"] == "2026-11-02T10:30:15.000500Z"
    assert data["metrics"][1]["blamed_tier"] == 3


@pytest.mark.parametrize(
    "data",
    [{}, {"state": "ok"}, {"state": "nope", "metrics": []}, {"metrics": [{"metric": "x"}]}],
)
def test_from_dict_rejects_what_to_dict_does_not_write(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="not a stored SLA clock"):
        SlaClock.from_dict(data)
