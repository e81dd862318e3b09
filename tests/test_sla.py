"""SLA due-time maths on business calendars: weekends, holidays, lunch, DST, night shifts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from integration.calendars import (
    Calendar,
    add_business_time,
    business_time_between,
    format_duration,
    parse_duration,
)

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


OFFICE = Calendar.build(
    timezone="Europe/Berlin",
    hours={"mon-fri": ["09:00-12:30", "13:30-18:00"]},
    holidays=["2026-12-25", "2026-12-28"],
)
NIGHTS = Calendar.build(timezone="Europe/Berlin", hours={"mon-fri": ["22:00-06:00"]})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 8h ", timedelta(hours=8)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("text", ["4x", "", "h", "-1h", "4 h", "1.5h", "30m1h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_no_calendar_means_around_the_clock() -> None:
    start = datetime(2026, 11, 7, 23, 30, tzinfo=UTC)  # a Saturday night
    assert add_business_time(start, timedelta(hours=4), None) == start + timedelta(hours=4)


def test_inside_one_interval() -> None:
    assert add_business_time(berlin(2026, 11, 2, 9, 0), timedelta(hours=2), OFFICE) == berlin(
        2026, 11, 2, 11, 0
    )


def test_before_opening_starts_at_opening() -> None:
    assert add_business_time(berlin(2026, 11, 2, 6, 0), timedelta(minutes=30), OFFICE) == (
        berlin(2026, 11, 2, 9, 30)
    )


def test_lunch_break_is_not_counted() -> None:
    assert add_business_time(berlin(2026, 11, 2, 12, 0), timedelta(hours=1), OFFICE) == berlin(
        2026, 11, 2, 14, 0
    )
    assert not OFFICE.is_open(berlin(2026, 11, 2, 13, 0))
    assert OFFICE.is_open(berlin(2026, 11, 2, 13, 30))


def test_across_a_weekend() -> None:
    friday = berlin(2026, 11, 6, 17, 0)
    assert add_business_time(friday, timedelta(hours=2), OFFICE) == berlin(2026, 11, 9, 10, 0)
    saturday = berlin(2026, 11, 7, 11, 0)
    assert add_business_time(saturday, timedelta(hours=1), OFFICE) == berlin(2026, 11, 9, 10, 0)


def test_across_holidays() -> None:
    # Thursday 24 Dec 17:00; Friday 25th and Monday 28th are holidays.
    start = berlin(2026, 12, 24, 17, 0)
    assert add_business_time(start, timedelta(hours=2), OFFICE) == berlin(2026, 12, 29, 10, 0)


def test_whole_days_of_business_time() -> None:
    # 8 open hours a day: 2d (48 open hours) is six business days later.
    start = berlin(2026, 11, 2, 9, 0)
    assert add_business_time(start, parse_duration("2d"), OFFICE) == berlin(2026, 11, 9, 18, 0)


def test_dst_spring_forward_in_berlin() -> None:
    # Friday 27 March 2026 17:00 CET (16:00 UTC); clocks jump on Sunday the 29th.
    friday = berlin(2026, 3, 27, 17, 0)
    due = add_business_time(friday, timedelta(hours=2), OFFICE)
    assert due == berlin(2026, 3, 30, 10, 0)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    # Around the clock in local terms, the Sunday has only 23 hours.
    always = Calendar.build(timezone="Europe/Berlin", hours={"daily": ["00:00-24:00"]})
    start = berlin(2026, 3, 29, 0, 0)
    assert add_business_time(start, timedelta(hours=24), always) == berlin(2026, 3, 30, 1, 0)


def test_dst_gap_inside_an_interval() -> None:
    # 01:00-04:00 on the night clocks jump from 02:00 to 03:00 is two real hours.
    early = Calendar.build(timezone="Europe/Berlin", hours={"daily": ["01:00-04:00"]})
    start = berlin(2026, 3, 29, 1, 0)
    assert business_time_between(start, berlin(2026, 3, 29, 4, 0), early) == timedelta(hours=2)
    assert add_business_time(start, timedelta(hours=2, minutes=30), early) == berlin(
        2026, 3, 30, 1, 30
    )


def test_dst_fall_back_in_berlin() -> None:
    # Sunday 25 October 2026 has 25 hours; a 00:00-24:00 day holds 25 open hours.
    always = Calendar.build(timezone="Europe/Berlin", hours={"daily": ["00:00-24:00"]})
    day = berlin(2026, 10, 25, 0, 0)
    assert business_time_between(day, berlin(2026, 10, 26, 0, 0), always) == timedelta(hours=25)
    assert add_business_time(day, timedelta(hours=25), always) == berlin(2026, 10, 26, 0, 0)


def test_overnight_interval() -> None:
    monday_night = berlin(2026, 11, 2, 23, 0)
    assert add_business_time(monday_night, timedelta(hours=3), NIGHTS) == berlin(2026, 11, 3, 2, 0)
    # Friday 05:00 is the tail of Thursday's shift: one hour left, then Friday 22:00.
    friday_dawn = berlin(2026, 11, 6, 5, 0)
    assert add_business_time(friday_dawn, timedelta(hours=2), NIGHTS) == berlin(2026, 11, 6, 23, 0)
    # Friday's shift runs into Saturday; nothing starts on Saturday night.
    assert NIGHTS.is_open(berlin(2026, 11, 7, 3, 0))
    assert not NIGHTS.is_open(berlin(2026, 11, 8, 3, 0))
    assert not NIGHTS.is_open(berlin(2026, 11, 4, 12, 0))


def test_holiday_closes_the_night_shift_that_starts_on_it() -> None:
    nights = Calendar.build(
        timezone="Europe/Berlin", hours={"mon-fri": ["22:00-06:00"]}, holidays=["2026-11-03"]
    )
    assert nights.is_open(berlin(2026, 11, 3, 3, 0))  # Monday's shift, past midnight
    assert not nights.is_open(berlin(2026, 11, 3, 23, 0))  # Tuesday's shift is off
    due = add_business_time(berlin(2026, 11, 3, 5, 0), timedelta(hours=2), nights)
    assert due == berlin(2026, 11, 4, 23, 0)


def test_business_time_between() -> None:
    friday = berlin(2026, 11, 6, 17, 0)
    monday = berlin(2026, 11, 9, 10, 0)
    assert business_time_between(friday, monday, OFFICE) == timedelta(hours=2)
    assert business_time_between(monday, friday, OFFICE) == timedelta(0)
    assert business_time_between(friday, monday, None) == monday - friday


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"mon": ["09:00-12:00", "11:00-13:00"]}, "overlap"),
        ({"mon": ["09:00-09:00"]}, "empty"),
        ({"mon": ["9-17"]}, "invalid interval"),
        ({"mon": ["09:00-25:00"]}, "invalid time"),
        ({"mon-fri": ["09:00-17:00"], "fri": ["18:00-20:00"]}, "given twice"),
        ({"mon": ["22:00-10:00"], "tue": ["09:00-17:00"]}, "overlaps"),
        ({"funday": ["09:00-17:00"]}, "invalid weekdays"),
        ({}, "no opening hours"),
    ],
)
def test_bad_calendars(hours: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Calendar.build(timezone="Europe/Berlin", hours=hours)


def test_bad_time_zone_and_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        Calendar.build(timezone="Mars/Olympus", hours={"mon": ["09:00-17:00"]})
    with pytest.raises(ValueError, match="naive"):
        add_business_time(datetime(2026, 11, 2, 9, 0), timedelta(hours=1), OFFICE)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(berlin(2026, 11, 2, 9, 0), timedelta(hours=-1), OFFICE)


def test_a_calendar_that_never_opens_again_fails_loudly() -> None:
    holidays = [(datetime(2026, 1, 5) + timedelta(weeks=w)).date() for w in range(200)]
    mondays_only = Calendar.build(timezone="UTC", hours={"mon": ["09:00-10:00"]}, holidays=holidays)
    with pytest.raises(ValueError, match="no open time ahead"):
        add_business_time(datetime(2026, 1, 1, tzinfo=UTC), timedelta(hours=1), mondays_only)
