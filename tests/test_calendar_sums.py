"""Open time between two instants from cumulative day sums equals walking every open period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integration.calendars import Calendar, business_time_between

CALENDARS = [
    Calendar.build(timezone="Europe/Berlin",
                   hours={"mon-fri": ["09:00-12:30", "13:30-18:00"]},
                   holidays=["2026-12-25", "2026-12-28", "2027-01-01"]),
    Calendar.build(timezone="America/New_York", hours={"mon-thu": ["22:00-06:00"],
                                                       "sat": ["10:00-24:00"]}),
    Calendar.build(timezone="Australia/Lord_Howe", hours={"mon-sun": ["00:00-24:00"]}),
]
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def walked(start: datetime, end: datetime, calendar: Calendar) -> timedelta:
    """The open periods between ``start`` and ``end``, one by one."""
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    for begin, stop in calendar.open_periods(start):
        if begin >= end:
            break
        total += min(stop, end) - begin
    return total


# Two years: the walk itself gives up after three.
instants = st.integers(min_value=0, max_value=2 * 365 * 24 * 60).map(
    lambda minutes: EPOCH + timedelta(minutes=minutes))


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(instants, instants), min_size=1, max_size=6),
       which=st.integers(min_value=0, max_value=len(CALENDARS) - 1))
def test_sums_match_walking_in_any_order(pairs: list[tuple[datetime, datetime]],
                                         which: int) -> None:
    # A fresh calendar per example: its tables grow from whatever it is asked first.
    template = CALENDARS[which]
    calendar = Calendar(timezone=template.timezone, intervals=template.intervals,
                        holidays=template.holidays)
    for start, end in pairs:
        assert business_time_between(start, end, calendar) == walked(start, end, calendar)


@pytest.mark.pure_python  # counts calls by patching a method, which compiled code refuses
def test_a_year_old_ticket_costs_two_lookups_not_a_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    calendar = Calendar(timezone="Europe/Berlin", intervals=CALENDARS[0].intervals)
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    business_time_between(now - timedelta(days=400), now, calendar)
    read: list[object] = []
    day_periods = Calendar._day_periods

    def counted(self: Calendar, day: object) -> object:
        read.append(day)
        return day_periods(self, day)  # type: ignore[arg-type]  # the day as it was passed

    monkeypatch.setattr(Calendar, "_day_periods", counted)
    business_time_between(now - timedelta(days=300), now, calendar)
    # Yesterday and today of each end, not the 300 days between (walking them read 300+).
    assert len(read) == 4


def test_a_calendar_travels_to_another_process_and_counts_the_same() -> None:
    import pickle

    calendar = Calendar(timezone="Europe/Berlin", intervals=CALENDARS[0].intervals,
                        holidays=CALENDARS[0].holidays)
    start, end = datetime(2026, 12, 20, tzinfo=UTC), datetime(2027, 1, 5, tzinfo=UTC)
    before = business_time_between(start, end, calendar)
    copy = pickle.loads(pickle.dumps(calendar))
    assert business_time_between(start, end, copy) == before == walked(start, end, calendar)
